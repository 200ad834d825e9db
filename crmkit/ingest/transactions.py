"""Transactions: every file read, mapped, coerced and checked into one canonical frame.

Each file is read (:mod:`crmkit.ingest.readers`), its values are coerced (ids, dates, amounts) and rows that
cannot be used are dropped with a reason. The result is a canonical frame plus a report of what was read,
dropped and why, so nothing is lost silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError
from crmkit.ingest.columns import TRANSACTION_ALIASES, check_override_keys
from crmkit.ingest.dates import parse_dates
from crmkit.ingest.files import expand_paths
from crmkit.ingest.ids import clean_ids
from crmkit.ingest.numbers import parse_numbers
from crmkit.ingest.readers import RawFile, read_frame, read_mapped, release_arrow_buffers
from crmkit.ingest.report import FileReport, IngestReport, TransactionData
from crmkit.schema import (
    AMOUNT,
    CHANNEL,
    COST,
    CUSTOMER_ID,
    MARGIN,
    ORDER_DATE,
    ORDER_ID,
    PRODUCT,
    QUANTITY,
    REASON_AMOUNT,
    REASON_DATE,
    REASON_ID,
    REASON_REPEAT,
    REGION,
    REQUIRED_TRANSACTION_COLUMNS,
    SALESPERSON,
    SOURCE_FILE,
    SOURCE_ROW,
)

TEXT_COLUMNS = (PRODUCT, CHANNEL, SALESPERSON, REGION)
NUMBER_COLUMNS = (QUANTITY, COST, MARGIN)
EXAMPLES_PER_REASON = 3

_REASON_COLUMN = {REASON_ID: CUSTOMER_ID, REASON_DATE: ORDER_DATE, REASON_AMOUNT: AMOUNT}


# --- transactions ------------------------------------------------------------------------
def load_transactions(
    paths: Iterable[Path | pd.DataFrame],
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    strict: bool = False,
    date_order: str | None = None,
) -> TransactionData:
    """Read, map, coerce and validate transaction files into one canonical frame.

    Rows with an empty customer_id, a missing/unparseable order_date or a
    missing/non-numeric amount are dropped (``strict``: the first one is an
    error); repeated lines of the same order (every mapped field equal) count
    once. ``customer_id`` comes back categorical (text categories), the rest as
    datetime64/float64/text. A DataFrame among ``paths`` is read like a file (its rows are numbered from 0,
    as ``DataFrame.iloc`` counts them).
    """
    overrides = dict(columns or {})
    check_override_keys(overrides, TRANSACTION_ALIASES)
    frames, rejects, reports = [], [], []
    for source in _sources(paths):
        if isinstance(source, pd.DataFrame):
            raw = read_frame(source, TRANSACTION_ALIASES, overrides, REQUIRED_TRANSACTION_COLUMNS)
        else:
            raw = read_mapped(
                source,
                TRANSACTION_ALIASES,
                overrides,
                REQUIRED_TRANSACTION_COLUMNS,
                sheet,
                text_columns=(CUSTOMER_ID, ORDER_ID, *TEXT_COLUMNS),
            )
        release_arrow_buffers()
        frame, dropped = _canonical_transactions(raw, date_order)
        frames.append(frame)
        rejects.append(dropped)
        reports.append(raw.report)
    frame = _concat(frames)
    rejected = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame()
    bad_rows = len(rejected)
    frame, repeats = _drop_repeated_lines(frame)
    rejected = pd.concat([rejected, repeats], ignore_index=True) if len(repeats) else rejected
    report = _report(reports, rejected, rows_used=len(frame))
    if strict and bad_rows:
        raise strict_error(report)
    if frame.empty:
        raise BadValueError(
            f"no usable rows in {', '.join(r.path for r in reports)} "
            f"({_counts_text(report.drop_counts) or 'the files have no data rows'})",
            hint="check the column mapping with `crmkit inspect FILE`",
        )
    frame = frame.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    del raw, rejects, frames
    release_arrow_buffers()
    return TransactionData(frame, _rejects_frame(rejected), report)


def strict_error(report: IngestReport) -> BadValueError:
    """The error of ``strict`` reading: how many bad rows (repeated lines are not bad), and the first."""
    first = next(e for e in report.examples if e["reason"] != REASON_REPEAT)
    counts = {reason: n for reason, n in report.drop_counts.items() if reason != REASON_REPEAT}
    return BadValueError(
        f"{sum(counts.values()):,} bad row(s) ({_counts_text(counts)}); first: {first['file']} "
        f"row {first['row']}, column {first['column']!r}: {first['value']!r} ({first['reason']})",
        hint="fix the rows, or drop --strict to skip them (write them out with --rejects FILE)",
    )


def _sources(paths: Iterable[Path | pd.DataFrame]) -> list[Path | pd.DataFrame]:
    """Files as given, folders expanded to their files; in-memory frames as they are."""
    given = list(paths)
    if not given:
        return list(expand_paths(given))
    sources: list[Path | pd.DataFrame] = []
    for item in given:
        sources.extend([item] if isinstance(item, pd.DataFrame) else expand_paths([item]))
    return sources


def _canonical_transactions(raw: RawFile, date_order: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coerce one file's columns; returns (good rows, dropped rows with reason)."""
    cols, report = raw.columns, raw.report
    mapping = report.mapping
    ids = clean_ids(cols[CUSTOMER_ID].reset_index(drop=True), zero_pad=raw.zero_pad.get(CUSTOMER_ID, 0))
    where = f"{report.path}, column {mapping[ORDER_DATE]!r}: "
    dates = parse_dates(cols[ORDER_DATE].reset_index(drop=True), date_order=date_order, where=where)
    report.date_styles, report.date_order = dates.styles, dates.date_order
    if dates.order_evidence:
        report.warnings.append(f"{report.path}: dates read as {dates.date_order} ({dates.order_evidence})")
    amounts = parse_numbers(cols[AMOUNT].reset_index(drop=True))
    frame = pd.DataFrame({CUSTOMER_ID: ids, ORDER_DATE: dates.values, AMOUNT: amounts.values}, copy=False)
    if ORDER_ID in cols:
        frame[ORDER_ID] = clean_ids(cols[ORDER_ID].reset_index(drop=True), zero_pad=raw.zero_pad.get(ORDER_ID, 0))
    for column in NUMBER_COLUMNS:
        if column in cols:
            numbers = parse_numbers(cols[column].reset_index(drop=True))
            frame[column] = numbers.values
            if numbers.bad.any():
                report.warnings.append(
                    f"{report.path}: {int(numbers.bad.sum()):,} non-numeric value(s) in "
                    f"{mapping[column]!r} treated as missing"
                )
    for column in TEXT_COLUMNS:
        if column in cols:
            frame[column] = _text(cols[column].reset_index(drop=True))
    no_id, no_date, no_amount = ids.isna().to_numpy(), np.isnat(dates.values.to_numpy()), np.isnan(amounts.values)
    bad = no_id | no_date | no_amount
    frame[SOURCE_FILE] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[report.path])
    frame[SOURCE_ROW] = np.arange(raw.first_row, raw.first_row + len(frame), dtype=np.int32)
    dropped = pd.DataFrame()
    if bad.any():
        raw = {canonical: _shown(cols[canonical].to_numpy()[bad]) for canonical in mapping}
        reasons = np.select([no_id[bad], no_date[bad]], [REASON_ID, REASON_DATE], default=REASON_AMOUNT)
        dropped = pd.DataFrame(
            {
                SOURCE_FILE: report.path,
                SOURCE_ROW: frame[SOURCE_ROW].to_numpy()[bad],
                "reason": reasons,
                "column": np.select(
                    [reasons == r for r in _REASON_COLUMN], [mapping[c] for c in _REASON_COLUMN.values()], default=""
                ),
                "value": np.select(
                    [reasons == r for r in _REASON_COLUMN], [raw[c] for c in _REASON_COLUMN.values()], default=""
                ),
                **raw,
            }
        )
    return (frame.loc[~bad].reset_index(drop=True) if bad.any() else frame), dropped


def _text(values: pd.Series) -> pd.Series:
    """Attribute text (product, channel, …): trimmed, empty as missing, numbers without '.0'."""
    return clean_ids(values)


def _shown(values: np.ndarray) -> np.ndarray:
    """Raw cells as text for the rejects file (missing as empty)."""
    series = pd.Series(values, dtype=object)
    return series.where(series.notna(), "").astype("str").to_numpy(dtype=object)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame from several files; categorical columns keep the union of their categories."""
    if len(frames) == 1:
        return frames[0]
    shared = [
        c
        for c in frames[0].columns
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and all(c in f.columns for f in frames)
    ]
    for column in shared:
        union = pd.api.types.union_categoricals([f[column] for f in frames], ignore_order=True).categories
        for f in frames:
            f[column] = f[column].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


def _drop_repeated_lines(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines of the same order_id with every field equal are one line (exports and overlapping monthly files repeat)."""
    if ORDER_ID not in frame.columns:
        return frame, pd.DataFrame()
    fields = [c for c in frame.columns if c not in (SOURCE_FILE, SOURCE_ROW)]
    has_order = frame[ORDER_ID].notna().to_numpy()
    repeated = has_order & frame.duplicated(subset=fields, keep="first").to_numpy()
    if not repeated.any():
        return frame, pd.DataFrame()
    lines = frame.loc[repeated]
    repeats = pd.DataFrame(
        {
            SOURCE_FILE: lines[SOURCE_FILE].to_numpy(),
            SOURCE_ROW: lines[SOURCE_ROW].to_numpy(),
            "reason": REASON_REPEAT,
            "column": ORDER_ID,
            "value": lines[ORDER_ID].astype("str").to_numpy(),
        }
    )
    for column in fields:
        repeats[column] = lines[column].astype("str").to_numpy()
    return frame.loc[~repeated].reset_index(drop=True), repeats


def _rejects_frame(rejected: pd.DataFrame) -> pd.DataFrame:
    """Dropped rows in file/row order with source_file, source_row, reason, column, value and their fields."""
    if rejected.empty:
        return pd.DataFrame(columns=[SOURCE_FILE, SOURCE_ROW, "reason", "column", "value"])
    return rejected.sort_values([SOURCE_FILE, SOURCE_ROW], kind="stable", ignore_index=True).astype("str")


def _report(files: list[FileReport], rejected: pd.DataFrame, *, rows_used: int) -> IngestReport:
    rows_read = sum(f.rows for f in files)
    counts: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    if len(rejected):
        ordered = rejected.sort_values([SOURCE_FILE, SOURCE_ROW], kind="stable")
        for reason, group in ordered.groupby("reason", sort=False):
            counts[str(reason)] = len(group)
            for row in group.head(EXAMPLES_PER_REASON).itertuples(index=False):
                examples.append(
                    {
                        "file": row.source_file,
                        "row": int(row.source_row),
                        "column": row.column,
                        "value": row.value,
                        "reason": reason,
                    }
                )
    warnings = [w for f in files for w in f.warnings]
    return IngestReport(files, rows_read, rows_used, rows_read - rows_used, counts, examples, warnings)


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in counts.items())
