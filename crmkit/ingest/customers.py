"""The customer master file: one row per id, known attributes coerced, free-form columns kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pandas as pd

from crmkit.ingest.columns import CUSTOMER_ALIASES
from crmkit.ingest.dates import parse_dates
from crmkit.ingest.ids import clean_ids
from crmkit.ingest.numbers import decimal_evidence, file_decimal, parse_numbers
from crmkit.ingest.readers import RawFile, read_mapped
from crmkit.ingest.report import CustomerData, TransactionData
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
        unread = dates.bad | dates.out_of_range
        if unread.any():
            report.warnings.append(
                f"{path}: {int(unread.sum()):,} signup date(s) not understood or out of range, left empty"
            )
    components = [c for c in (*VALUE_COMPONENTS, *COST_COMPONENTS) if c in frame.columns]
    fallback = file_decimal((decimal_evidence(frame[c]) for c in components), report.dialect.separator)
    for column in components:
        where = f"{path}, column {report.mapping[column]!r}: "
        numbers = parse_numbers(frame[column].reset_index(drop=True), fallback=fallback, where=where)
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


#: Share of the buying customers that must be in the master file for it to be used.
MIN_MASTER_MATCH = 0.5
#: Ids shown from each side when they do not match.
MISMATCH_EXAMPLES = 3


def match_customers(transactions: TransactionData, customers: CustomerData) -> CustomerData | None:
    """The master file when its ids are those of the transactions, else None — with a note naming the share of
    buying customers found in it and examples from both sides (``C000001`` against ``C-000001``), instead of
    a table of the whole master as prospects. The master's own notes join the transactions' report."""
    notes = transactions.report.warnings
    notes.extend(customers.report.warnings)
    buyers = pd.Index(transactions.frame[CUSTOMER_ID].cat.categories)
    listed = pd.Index(customers.frame[CUSTOMER_ID])
    found = buyers.isin(listed)
    share = float(found.mean()) if len(buyers) else 1.0
    if share >= MIN_MASTER_MATCH:
        return customers
    unmatched = ", ".join(repr(v) for v in buyers[~found][:MISMATCH_EXAMPLES])
    unused = ", ".join(repr(v) for v in listed[~listed.isin(buyers)][:MISMATCH_EXAMPLES])
    notes.append(
        f"{customers.report.path} was not used: only {int(found.sum()):,} of {len(buyers):,} customers "
        f"({share:.0%}) in the transactions have their id in it (transactions: {unmatched}; master: {unused}); "
        "check that both files write ids the same way"
    )
    return None


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
