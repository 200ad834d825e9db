"""The customer master file: one row per id, known attributes coerced, free-form columns kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pandas as pd

from crmkit.ingest.columns import CUSTOMER_ALIASES
from crmkit.ingest.dates import parse_dates
from crmkit.ingest.ids import clean_ids
from crmkit.ingest.numbers import parse_numbers
from crmkit.ingest.readers import RawFile, read_mapped
from crmkit.ingest.report import CustomerData
from crmkit.schema import (
    COST_COMPONENTS,
    CUSTOMER_ID,
    PHONE,
    SIGNUP_DATE,
    VALUE_COMPONENTS,
)


# --- customer master ---------------------------------------------------------------------
def load_customers(
    path: Path, *, columns: Mapping[str, str] | None = None, sheet: str | None = None, date_order: str | None = None
) -> CustomerData:
    """The customer master: canonical id and known attributes, other columns kept under their own header.

    Rows without an id are skipped and a repeated id keeps its first row (both
    reported as warnings); signup dates and value components are coerced, with
    unusable cells left missing and counted.
    """
    overrides = {k: v for k, v in (columns or {}).items() if k == CUSTOMER_ID}
    raw = _read_master(Path(path), overrides, sheet)
    report = raw.report
    frame = pd.DataFrame({c: s.reset_index(drop=True) for c, s in raw.columns.items()})
    frame[CUSTOMER_ID] = clean_ids(frame[CUSTOMER_ID], zero_pad=raw.zero_pad.get(CUSTOMER_ID, 0))
    missing_id = frame[CUSTOMER_ID].isna()
    if missing_id.any():
        report.warnings.append(f"{path}: {int(missing_id.sum()):,} row(s) without a customer id skipped")
        frame = frame.loc[~missing_id]
    repeated = frame[CUSTOMER_ID].duplicated()
    if repeated.any():
        report.warnings.append(
            f"{path}: {int(repeated.sum()):,} repeated customer id(s); the first row of each is used"
        )
        frame = frame.loc[~repeated]
    if SIGNUP_DATE in frame.columns:
        dates = parse_dates(
            frame[SIGNUP_DATE].reset_index(drop=True),
            date_order=date_order,
            where=f"{path}, column {report.mapping[SIGNUP_DATE]!r}: ",
        )
        frame[SIGNUP_DATE] = dates.values.to_numpy()
        if dates.bad.any():
            report.warnings.append(f"{path}: {int(dates.bad.sum()):,} signup date(s) not understood, left empty")
    for column in (*VALUE_COMPONENTS, *COST_COMPONENTS):
        if column in frame.columns:
            numbers = parse_numbers(frame[column].reset_index(drop=True))
            frame[column] = numbers.values
            if numbers.bad.any():
                report.warnings.append(f"{path}: {int(numbers.bad.sum()):,} non-numeric {column} value(s) left empty")
    frame[CUSTOMER_ID] = frame[CUSTOMER_ID].astype("str")
    for column in frame.columns:
        if column not in (
            CUSTOMER_ID,
            SIGNUP_DATE,
            *VALUE_COMPONENTS,
            *COST_COMPONENTS,
        ) and not pd.api.types.is_numeric_dtype(frame[column].dtype):
            frame[column] = clean_ids(frame[column]).astype("str").to_numpy()
    return CustomerData(frame.reset_index(drop=True), report)


def _read_master(path: Path, overrides: Mapping[str, str], sheet: str | None) -> RawFile:
    """Every column of the master: known headers under canonical names, the rest as they are."""
    raw = read_mapped(path, CUSTOMER_ALIASES, overrides, (CUSTOMER_ID,), sheet, text_columns=(CUSTOMER_ID, PHONE))
    return _with_unmapped_columns(path, raw, sheet)


def _with_unmapped_columns(path: Path, raw: RawFile, sheet: str | None) -> RawFile:
    """Re-read the columns the aliases did not claim (master files carry free-form attributes)."""
    everything = {h: h for h in raw.headers if h and h not in raw.report.mapping.values()}
    if not everything:
        return raw
    extra = read_mapped(path, {}, everything, (), sheet, text_columns=tuple(everything))
    return replace(raw, columns={**raw.columns, **extra.columns})
