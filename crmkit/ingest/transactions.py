"""Transactions: every file read, mapped, coerced and checked into one canonical frame.

Each file is read (:mod:`crmkit.ingest.readers`), its values are coerced (ids, dates, amounts) and rows that
cannot be used are dropped with a reason. Revenue is the amount net of refunds, for orders whose status is
revenue. The result is a canonical frame plus a report of what was read, dropped and why, so nothing is lost
silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError
from crmkit.ingest.columns import AMOUNT_BASES, TRANSACTION_ALIASES, check_override_keys, normalise_header
from crmkit.ingest.dates import parse_dates
from crmkit.ingest.dialect import check_decimal
from crmkit.ingest.files import expand_paths
from crmkit.ingest.ids import clean_ids
from crmkit.ingest.numbers import decimal_evidence, file_decimal, parse_numbers
from crmkit.ingest.orders import TOTALS_LABELS, drop_repeated_lines, fill_order_lines, order_level_amounts, totals_rows
from crmkit.ingest.readers import RawFile, read_frame, read_mapped, release_arrow_buffers
from crmkit.ingest.report import FileReport, IngestReport, TransactionData
from crmkit.ingest.status import STATUS_CATEGORIES, StatusRules
from crmkit.schema import (
    AMOUNT,
    CATEGORY,
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
    REASON_DATE_RANGE,
    REASON_FIELDS,
    REASON_ID,
    REASON_REPEAT,
    REASON_STATUS,
    REASON_TOTALS,
    REFUND,
    REGION,
    REQUIRED_TRANSACTION_COLUMNS,
    SALESPERSON,
    SOURCE_FILE,
    SOURCE_ROW,
    STATUS,
)

TEXT_COLUMNS = (PRODUCT, CATEGORY, CHANNEL, SALESPERSON, REGION)
NUMBER_COLUMNS = (QUANTITY, COST, MARGIN)
#: Columns read as text whatever they look like, and number columns read so that no writing is lost.
TRANSACTION_TEXT_COLUMNS = (CUSTOMER_ID, ORDER_ID, STATUS, *TEXT_COLUMNS)
TRANSACTION_NUMBER_COLUMNS = (AMOUNT, REFUND, *NUMBER_COLUMNS)
EXAMPLES_PER_REASON = 3
#: Customers named in the note about customers whose only lines are returns.
RETURNS_ONLY_EXAMPLES = 3

#: Why a row is dropped, most telling first, and the column the reason is about.
_REASONS = (
    (REASON_TOTALS, None),
    (REASON_STATUS, STATUS),
    (REASON_ID, CUSTOMER_ID),
    (REASON_DATE_RANGE, ORDER_DATE),
    (REASON_DATE, ORDER_DATE),
    (REASON_AMOUNT, AMOUNT),
)
#: Rows dropped by rule, not for a flaw: --strict lets them pass.
NOT_BAD = (REASON_REPEAT, REASON_STATUS, REASON_TOTALS)
#: What to do about bad rows under ``strict``.
STRICT_HINT = "fix the rows, or read them without strict=True to skip them (they are kept in .rejects)"
#: What an order fully refunded by its figures (refund = amount) is counted as, beside statuses as written.
REFUNDED_IN_FULL = "refunded in full"


# --- transactions ------------------------------------------------------------------------
def load_transactions(
    paths: Iterable[Path | pd.DataFrame],
    *,
    columns: Mapping[str, str] | None = None,
    sheet: str | None = None,
    strict: bool = False,
    date_order: str | None = None,
    header_row: int | None = None,
    decimal: str | None = None,
    status: StatusRules | None = None,
) -> TransactionData:
    """Read, map, coerce and validate transaction files into one canonical frame.

    Rows with an empty customer_id, a missing, unparseable or out-of-range order_date or a missing/non-numeric
    amount are dropped (``strict``: the first one is an error), as are totals rows and orders whose status is
    not revenue (``status``: the lists of cancelled, unpaid and refunded statuses); a refund is subtracted
    from its amount; lines of an order that repeat an earlier line in every column count once.
    ``customer_id`` comes back categorical (text categories), the rest as datetime64/float64/text.
    A DataFrame among ``paths`` is read like a file (its rows are numbered from 0, as ``DataFrame.iloc``
    counts them).
    """
    overrides = dict(columns or {})
    check_override_keys(overrides, TRANSACTION_ALIASES)
    check_decimal(decimal)
    rules = status if status is not None else StatusRules()
    frames, rejects, reports = [], [], []
    others: dict[str, Callable[[np.ndarray], pd.DataFrame]] = {}
    excluded: dict[str, int] = {}
    for source in _sources(paths):
        read = read_transaction_file(
            source, overrides, sheet=sheet, date_order=date_order, header_row=header_row, decimal=decimal, rules=rules
        )
        frames.append(read.frame)
        rejects.append(read.dropped)
        reports.append(read.report)
        others[read.report.path] = read.by_line
        for key, n in count_excluded(read.excluded).items():
            excluded[key] = excluded.get(key, 0) + n
        del read
    frame = _concat(frames)
    rejected = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame()
    bad_rows = int((~rejected["reason"].isin(NOT_BAD)).sum()) if len(rejected) else 0
    frame, repeats = drop_repeated_lines(frame, others)
    rejected = pd.concat([rejected, repeats], ignore_index=True) if len(repeats) else rejected
    report = _report(reports, rejected, rows_used=len(frame), excluded=excluded)
    if strict and bad_rows:
        raise strict_error(report)
    if frame.empty:
        raise no_rows_error(report)
    report.warnings.extend(_returns_only(frame))
    frame = frame.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    del rejects, frames
    release_arrow_buffers()
    return TransactionData(frame, _rejects_frame(rejected), report)


def strict_error(report: IngestReport) -> BadValueError:
    """The error of ``strict`` reading: how many bad rows (rows dropped by rule — repeated lines, excluded
    statuses, totals rows — are not bad), and the first."""
    first = next(e for e in report.examples if e["reason"] not in NOT_BAD)
    counts = {r: n for r, n in report.drop_counts.items() if r not in NOT_BAD}
    return BadValueError(
        f"{sum(counts.values()):,} bad row(s) ({_counts_text(counts)}); first: {first['file']} "
        f"row {first['row']}, column {first['column']!r}: {first['value']!r} ({first['reason']})",
        hint=STRICT_HINT,
    )


def _sources(paths: Iterable[Path | pd.DataFrame]) -> list[Path | pd.DataFrame]:
    """Files as given, folders expanded to their files; in-memory frames as they are."""
    given = list(paths)
    if not given:
        return list(expand_paths([]))
    sources: list[Path | pd.DataFrame] = []
    for item in given:
        sources.extend([item] if isinstance(item, pd.DataFrame) else expand_paths([item]))
    return sources


@dataclass
class FileRead:
    """One transaction file read, coerced and checked (:func:`read_transaction_file`)."""

    #: Usable rows: canonical columns, ``source_file`` and ``source_row``.
    frame: pd.DataFrame
    #: Dropped rows with their reason (:func:`_dropped_rows`).
    dropped: pd.DataFrame
    #: The excluded lines as (status, order) rows (:func:`count_excluded` counts the orders).
    excluded: pd.DataFrame
    report: FileReport
    #: The file's unmapped columns at given line numbers.
    by_line: Callable[[np.ndarray], pd.DataFrame]


def read_transaction_file(
    source: Path | pd.DataFrame,
    overrides: Mapping[str, str],
    *,
    sheet: str | None = None,
    date_order: str | None = None,
    header_row: int | None = None,
    decimal: str | None = None,
    rules: StatusRules | None = None,
) -> FileRead:
    """One file (or in-memory frame) of :func:`load_transactions`: read, mapped, coerced and checked, every
    decision made from the whole file."""
    if isinstance(source, pd.DataFrame):
        raw = read_frame(source, TRANSACTION_ALIASES, overrides, REQUIRED_TRANSACTION_COLUMNS)
    else:
        raw = read_mapped(
            source,
            TRANSACTION_ALIASES,
            overrides,
            REQUIRED_TRANSACTION_COLUMNS,
            sheet,
            text_columns=TRANSACTION_TEXT_COLUMNS,
            number_columns=TRANSACTION_NUMBER_COLUMNS,
            header_row=header_row,
            decimal=decimal,
        )
    release_arrow_buffers()
    frame, dropped, excluded = canonical_transactions(raw, date_order, decimal, rules or StatusRules())
    return FileRead(frame, dropped, excluded, raw.report, _by_line(raw))


def _by_line(raw: RawFile) -> Callable[[np.ndarray], pd.DataFrame]:
    """The file's unmapped columns at given line numbers (rows are kept in line order)."""
    lines, read = raw.lines, raw.other_columns

    def at_lines(numbers: np.ndarray) -> pd.DataFrame:
        if read is None:
            return pd.DataFrame(index=range(len(numbers)))
        return read(np.searchsorted(lines, numbers))

    return at_lines


def canonical_transactions(
    raw: RawFile, date_order: str | None, decimal: str | None, rules: StatusRules
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coerce one file's columns; returns (good rows, dropped rows with reason, excluded (status, order) lines)."""
    cols, report = {c: s.reset_index(drop=True) for c, s in raw.columns.items()}, raw.report
    mapping, dialect = report.mapping, report.dialect
    ids = clean_ids(cols[CUSTOMER_ID], zero_pad=raw.zero_pad.get(CUSTOMER_ID, 0))
    where = f"{report.path}, column {mapping[ORDER_DATE]!r}: "
    dates = parse_dates(cols[ORDER_DATE], date_order=date_order, where=where)
    dialect.date_styles, dialect.date_order = dates.styles, dates.date_order
    if dates.order_evidence:
        report.warnings.append(f"{report.path}: dates read as {dates.date_order} ({dates.order_evidence})")
    if dates.stray:
        report.warnings.append(
            f"{report.path}: {len(dates.stray):,} date(s) such as {dates.stray[0]!r} only fit the other day/month "
            f"order than the rest of {mapping[ORDER_DATE]!r}: dropped as unparseable"
        )
    numbers, amount_missing = _numbers(raw, decimal)
    frame = pd.DataFrame({CUSTOMER_ID: ids, ORDER_DATE: dates.values, AMOUNT: numbers[AMOUNT]}, copy=False)
    if ORDER_ID in cols:
        frame[ORDER_ID] = clean_ids(cols[ORDER_ID], zero_pad=raw.zero_pad.get(ORDER_ID, 0))
    for column in NUMBER_COLUMNS:
        if column in cols:
            frame[column] = numbers[column]
    for column in (*TEXT_COLUMNS, STATUS):
        if column in cols:
            frame[column] = clean_ids(cols[column])
    frame[SOURCE_FILE] = pd.Categorical.from_codes(
        np.zeros(len(frame), dtype=np.int8), categories=pd.Index([report.path])
    )
    frame[SOURCE_ROW] = raw.lines.astype(np.int32)
    far = dates.out_of_range if dates.out_of_range is not None else np.zeros(len(frame), dtype=bool)

    refund = numbers.get(REFUND)
    if ORDER_ID in frame.columns:
        missing_date = np.isnat(dates.values.to_numpy()) & ~dates.bad & ~far
        _order_level_values(frame, report, missing_date, amount_missing, refund)
    dialect.orders_by = "order id" if ORDER_ID in frame.columns else "customer and day"

    dated = frame[ORDER_DATE].notna().to_numpy()
    totals = totals_rows(frame, cols, dated)
    category = rules.categories(frame[STATUS]) if STATUS in frame.columns else np.full(len(frame), -1, np.int8)
    amount = frame[AMOUNT].to_numpy()
    refunded = np.zeros(len(frame), dtype=bool)
    if refund is not None:
        refund = np.abs(np.nan_to_num(refund))  # a refund is money back whatever its sign
        refunded = (amount > 0) & (refund >= amount) & (category < 0)
        frame[AMOUNT] = amount - refund
    excluded = (category >= 0) | refunded
    no_id = frame[CUSTOMER_ID].isna().to_numpy()
    no_date = ~dated & ~far
    bad = totals | excluded | no_id | far | no_date | np.isnan(frame[AMOUNT].to_numpy())
    reasons = np.select(
        [mask[bad] for mask in (totals, excluded, no_id, far, no_date)],
        [reason for reason, _ in _REASONS[:5]],
        default=REASON_AMOUNT,
    ).astype(object)
    dropped = _dropped_rows(raw, frame, cols, bad, reasons, refunded)
    pairs = excluded_orders(frame, excluded & ~totals, category)
    return (frame.loc[~bad].reset_index(drop=True) if bad.any() else frame), dropped, pairs


def _order_level_values(
    frame: pd.DataFrame,
    report: FileReport,
    missing_date: np.ndarray,
    amount_missing: np.ndarray,
    refund: np.ndarray | None,
) -> None:
    """Lines of an order that leave its customer, date or status empty take them from another line of it; when
    the amount is written once per order (Shopify's Total), the order's further lines count 0. Said in the
    report."""
    empty = {CUSTOMER_ID: frame[CUSTOMER_ID].isna().to_numpy(), ORDER_DATE: missing_date}
    if STATUS in frame.columns:
        empty[STATUS] = frame[STATUS].isna().to_numpy()
    filled = fill_order_lines(frame, empty)
    if filled:
        taken = ", ".join(f"{report.mapping[column]!r} on {n:,}" for column, n in filled.items())
        report.warnings.append(
            f"{report.path}: lines that leave a column empty took it from another line of the same order "
            f"({taken} line(s))"
        )
    items = order_level_amounts(
        frame[ORDER_ID].cat.codes.to_numpy(), ~np.isnan(frame[AMOUNT].to_numpy()), amount_missing
    )
    if items.any():  # an order's further items: its amount counts once, on its first line
        report.dialect.order_totals = True
        frame.loc[items, AMOUNT] = 0.0
        if refund is not None:
            refund[items & np.isnan(refund)] = 0.0


def _numbers(raw: RawFile, decimal: str | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(amount, refund and other number columns parsed with one decimal mark per column — the file's settled
    mark for columns that cannot tell by themselves —, which amounts are missing rather than bad)."""
    cols, report = raw.columns, raw.report
    present = [c for c in (AMOUNT, REFUND, *NUMBER_COLUMNS) if c in cols]
    fallback = file_decimal((decimal_evidence(cols[c]) for c in present), report.dialect.separator)
    out: dict[str, np.ndarray] = {}
    for column in present:
        header = report.mapping[column]
        parsed = parse_numbers(
            cols[column].reset_index(drop=True),
            decimal=decimal,
            fallback=fallback,
            where=f"{report.path}, column {header!r}: ",
        )
        out[column] = parsed.values
        if parsed.decimal:
            report.dialect.decimal[header] = parsed.decimal
        if column == AMOUNT:
            amount_missing = np.isnan(parsed.values) & ~parsed.bad
        elif parsed.bad.any():
            report.warnings.append(
                f"{report.path}: {int(parsed.bad.sum()):,} non-numeric value(s) in {header!r} treated as missing"
            )
    amount_header = normalise_header(report.mapping[AMOUNT])
    bases = {normalise_header(h): basis for h, basis in AMOUNT_BASES.items()}
    report.dialect.amount_basis = bases.get(amount_header)
    report.dialect.other_amounts = {
        h: bases[normalise_header(h)]
        for h in raw.headers
        if normalise_header(h) in bases and normalise_header(h) != amount_header
    }
    if report.dialect.other_amounts:  # a choice of revenue basis was made: say which, and how to change it
        used = report.mapping[AMOUNT] + (f" ({report.dialect.amount_basis})" if report.dialect.amount_basis else "")
        others = "; ".join(f"{h} ({basis}): --col amount={h}" for h, basis in report.dialect.other_amounts.items())
        report.warnings.append(f"{report.path}: revenue is {used}; the file also has {others}")
    return out, amount_missing


def _dropped_rows(
    raw: RawFile,
    frame: pd.DataFrame,
    cols: Mapping[str, pd.Series],
    bad: np.ndarray,
    reasons: np.ndarray,
    refunded: np.ndarray,
) -> pd.DataFrame:
    """Every dropped row with its file, line, reason, the column and value the reason is about, and its raw
    mapped cells; rows skipped for their number of fields too."""
    if not bad.any() and not raw.misshapen:
        return pd.DataFrame()
    mapping = raw.report.mapping
    shown = {canonical: _shown(cols[canonical][bad].to_numpy()) for canonical in mapping}
    about = {reason: column for reason, column in _REASONS if column in mapping}
    if REFUND in mapping:  # refunded in full: the refund is what tells
        reasons_about_refund = (reasons == REASON_STATUS) & refunded[bad]
    else:
        reasons_about_refund = np.zeros(len(reasons), dtype=bool)
    column = np.select([reasons == r for r in about], [mapping[c] for c in about.values()], default="")
    value = np.select([reasons == r for r in about], [shown[c] for c in about.values()], default="")
    if reasons_about_refund.any():
        column[reasons_about_refund] = mapping[REFUND]
        value[reasons_about_refund] = shown[REFUND][reasons_about_refund]
    by_status = (reasons == REASON_STATUS) & ~reasons_about_refund
    if by_status.any():  # the status the line was judged by (a later line of an order takes its first line's)
        value[by_status] = frame[STATUS].astype("str").to_numpy()[bad][by_status]
    totals = np.flatnonzero(reasons == REASON_TOTALS)
    if len(totals):  # the label itself, wherever it sits
        cells = [[shown[c][i] for c in shown] for i in totals]
        value[totals] = [next((v for v in row if normalise_header(v) in TOTALS_LABELS), "") for row in cells]
    dropped = pd.DataFrame(
        {
            SOURCE_FILE: raw.report.path,
            SOURCE_ROW: frame[SOURCE_ROW].to_numpy()[bad],
            "reason": reasons,
            "column": column,
            "value": value,
            **shown,
        }
    )
    if raw.misshapen:
        dropped = pd.concat(
            [
                dropped,
                pd.DataFrame(
                    {
                        SOURCE_FILE: raw.report.path,
                        SOURCE_ROW: [line for line, _ in raw.misshapen],
                        "reason": REASON_FIELDS,
                        "column": "",
                        "value": [text[:200] for _, text in raw.misshapen],
                    }
                ),
            ],
            ignore_index=True,
        )
    return dropped if len(dropped) else pd.DataFrame()


def excluded_orders(frame: pd.DataFrame, excluded: np.ndarray, category: np.ndarray) -> pd.DataFrame:
    """The excluded lines as (status as written, order) rows in line order: the order id, or the line itself
    where there is none."""
    if not excluded.any():
        return pd.DataFrame({"status": [], "order": []}, dtype=object)
    status = frame[STATUS].astype("str").to_numpy()[excluded] if STATUS in frame.columns else ""
    keys = np.where(category[excluded] >= 0, status, REFUNDED_IN_FULL)
    if ORDER_ID in frame.columns:
        orders = frame[ORDER_ID].astype("str").to_numpy()[excluded]
    else:
        orders = frame[SOURCE_ROW].to_numpy()[excluded].astype(object)  # the line: each counts on its own
    return pd.DataFrame({"status": keys, "order": orders})


def count_excluded(pairs: pd.DataFrame) -> dict[str, int]:
    """Orders excluded per status as written, the most first: distinct orders (lines without an order id each
    count)."""
    if pairs.empty:
        return {}
    counts = pairs.drop_duplicates().value_counts("status", sort=False)
    return {str(k): int(v) for k, v in counts.sort_values(ascending=False, kind="stable").items()}


def _shown(values: np.ndarray) -> np.ndarray:
    """Raw cells as text for the rejects file (missing as empty; dates without a midnight time)."""
    if values.dtype.kind == "M":
        text = np.datetime_as_string(values, unit="auto").astype(object)
        text[np.isnat(values)] = ""
        return text
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


def no_rows_error(report: IngestReport) -> BadValueError:
    """The error when no row of the files can be used."""
    return BadValueError(
        f"no usable rows in {', '.join(f.path for f in report.files)} "
        f"({_counts_text(report.drop_counts) or 'the files have no data rows'})",
        hint="check the column mapping with `crmkit inspect FILE`",
    )


def _returns_only(frame: pd.DataFrame) -> list[str]:
    """A note naming customers whose only lines are returns (they have no purchase to score)."""
    buying = frame[AMOUNT].to_numpy() >= 0
    if buying.all():
        return []
    codes = frame[CUSTOMER_ID].cat.codes.to_numpy()
    buys = np.bincount(codes[buying], minlength=len(frame[CUSTOMER_ID].cat.categories))
    seen = np.bincount(codes, minlength=len(buys))
    only = np.flatnonzero((seen > 0) & (buys == 0))
    return returns_only_note(len(only), frame[CUSTOMER_ID].cat.categories[only[:RETURNS_ONLY_EXAMPLES]])


def returns_only_note(count: int, examples: Iterable[str]) -> list[str]:
    """The note on ``count`` customers whose only lines are returns, naming the first ``examples``."""
    if not count:
        return []
    named = ", ".join(repr(str(c)) for c in examples)
    return [
        f"{count:,} customer(s) have only returns and no purchase (e.g. {named}): they reduce no one's "
        "revenue and are not scored"
    ]


def _rejects_frame(rejected: pd.DataFrame) -> pd.DataFrame:
    """Dropped rows in file/row order with source_file, source_row, reason, column, value and their fields."""
    if rejected.empty:
        return pd.DataFrame(columns=[SOURCE_FILE, SOURCE_ROW, "reason", "column", "value"])
    return rejected.sort_values([SOURCE_FILE, SOURCE_ROW], kind="stable", ignore_index=True).astype("str")


def _report(
    files: list[FileReport], rejected: pd.DataFrame, *, rows_used: int, excluded: dict[str, int]
) -> IngestReport:
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
                        "row": int(str(row.source_row)),
                        "column": row.column,
                        "value": row.value,
                        "reason": reason,
                    }
                )
    return ingest_report(files, counts, examples, rows_used=rows_used, excluded=excluded)


def ingest_report(
    files: list[FileReport],
    counts: dict[str, int],
    examples: list[dict[str, Any]],
    *,
    rows_used: int,
    excluded: dict[str, int],
) -> IngestReport:
    """The report of the files read: rows, drops per reason with their first examples, the files' notes and the
    orders excluded by status."""
    rows_read = sum(f.rows for f in files)
    warnings = [w for f in files for w in f.warnings]
    if excluded:
        listed = ", ".join(f"{status} {n:,}" for status, n in excluded.items())
        warnings.append(
            f"{sum(excluded.values()):,} order(s) excluded by status ({listed}); "
            f"the lists ({', '.join(STATUS_CATEGORIES)}) can be changed under [status] in crmkit.toml"
        )
    return IngestReport(
        files, rows_read, rows_used, rows_read - rows_used, counts, examples, warnings, excluded_orders=excluded
    )


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in counts.items())
