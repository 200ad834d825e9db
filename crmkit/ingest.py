"""The one place crmkit reads input files: transactions, the customer master and crmkit.toml.

Each file is read (CSV/TSV in UTF-8, UTF-8 with BOM or GB18030/GBK; XLSX; Parquet),
its headers are mapped to canonical columns (English and Chinese aliases, then
``--col`` / ``[columns]`` overrides), values are coerced (:mod:`crmkit.parsing`)
and rows that cannot be used are dropped with a reason. The result is a
canonical frame plus a report of what was read, dropped and why, so nothing is
lost silently.
"""
from __future__ import annotations

import csv
import io
import tomllib
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from crmkit.errors import BadValueError, InputFileError, MissingColumnsError
from crmkit.parsing import (
    CUSTOMER_ALIASES, TRANSACTION_ALIASES, check_override_keys, clean_ids, match_columns, parse_date, parse_dates,
    parse_numbers,
)
from crmkit.schema import (
    AMOUNT, CHANNEL, COST, COST_COMPONENTS, CUSTOMER_ID, MARGIN, ORDER_DATE, ORDER_ID, PHONE, PRODUCT, QUANTITY,
    REASON_AMOUNT, REASON_DATE, REASON_ID, REASON_REPEAT, REGION, REQUIRED_TRANSACTION_COLUMNS, SALESPERSON,
    SIGNUP_DATE, SOURCE_FILE, SOURCE_ROW, VALUE_COMPONENTS,
)

__all__ = ["CustomerData", "FileReport", "IngestReport", "TransactionData", "inspect_transactions", "load_config",
           "load_customers", "load_transactions", "parse_date"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = (*CSV_SUFFIXES, *EXCEL_SUFFIXES, *PARQUET_SUFFIXES)
CONFIG_SECTIONS = ("columns", "tiers", "rfm", "value", "lifecycle", "churn", "output", "delivered_value")
DEFAULT_CONFIG = Path("crmkit.toml")
TEXT_COLUMNS = (PRODUCT, CHANNEL, SALESPERSON, REGION)
NUMBER_COLUMNS = (QUANTITY, COST, MARGIN)
EXAMPLES_PER_REASON = 3

_REASON_COLUMN = {REASON_ID: CUSTOMER_ID, REASON_DATE: ORDER_DATE, REASON_AMOUNT: AMOUNT}


# --- reports --------------------------------------------------------------------------
@dataclass
class FileReport:
    """How one file was read: format, encoding, sheet, rows, header mapping and date styles seen."""

    path: str
    format: str
    encoding: str | None = None
    sheet: str | None = None
    rows: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    date_styles: dict[str, int] = field(default_factory=dict)
    date_order: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """Everything read, used and dropped (count per reason, a few examples with row numbers)."""

    files: list[FileReport]
    rows_read: int
    rows_used: int
    rows_dropped: int
    drop_counts: dict[str, int]
    examples: list[dict[str, Any]]
    warnings: list[str]


@dataclass
class TransactionData:
    """Canonical transactions (``frame``), every dropped row with its reason (``rejects``), and the report."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    report: IngestReport


@dataclass
class CustomerData:
    """The canonical customer master (one row per customer_id) and how it was read."""

    frame: pd.DataFrame
    report: FileReport


# --- config -----------------------------------------------------------------------------
def load_config(path: Path | None) -> dict[str, Any]:
    """``crmkit.toml`` as a dict: the given file, else ./crmkit.toml when present, else empty."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return {}
        path = DEFAULT_CONFIG
    try:
        with Path(path).open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputFileError(f"config file {path} does not exist", hint="check the --config path") from None
    except OSError as error:
        raise InputFileError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(f"config file {path} is not valid TOML: {error}",
                             hint='tables look like [columns] with lines such as amount = "实收金额"') from None
    unknown = sorted(set(config) - set(CONFIG_SECTIONS))
    if unknown:
        raise InputFileError(f"config file {path} has unknown section(s) [{'], ['.join(unknown)}]",
                             hint="known sections: " + ", ".join(f"[{s}]" for s in CONFIG_SECTIONS))
    for section, table in config.items():
        if not isinstance(table, dict):
            raise InputFileError(f"config file {path}: {section} must be a table like [{section}]")
    return config


# --- files ------------------------------------------------------------------------------
def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders replaced by their supported files (sorted; hidden and Excel lock files skipped)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED
                           and not p.name.startswith((".", "~$")))
            if not found:
                raise InputFileError(f"folder {path} holds no CSV, TSV, XLSX or Parquet files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputFileError(f"{path} does not exist", hint="check the path (quote names with spaces)")
    if not files:
        raise InputFileError("no input files given")
    return files


@dataclass
class _Raw:
    """One file's mapped columns, still as stored (text, numbers or dates), with its report."""

    columns: dict[str, pd.Series]
    report: FileReport
    first_row: int          # the file row number of the first data row (header is row first_row - 1)
    headers: list[str]      # every header of the file, mapped or not
    zero_pad: dict[str, int] = field(default_factory=dict)


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".xls":
        raise InputFileError(f"{path}: the old .xls format is not supported",
                             hint="open it in Excel or WPS and save as .xlsx or CSV")
    raise InputFileError(f"{path}: unsupported file type {suffix or '(none)'!r}",
                         hint="use CSV/TSV, XLSX or Parquet")


def _read_mapped(path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str],
                 required: Sequence[str], sheet: str | None, text_columns: Sequence[str]) -> _Raw:
    """Read one file's recognised columns, failing with a clear message when a required one is missing."""
    kind = _file_format(path)
    try:
        if kind == "csv":
            return _read_csv(path, aliases, overrides, required, text_columns)
        if kind == "xlsx":
            return _read_excel(path, aliases, overrides, required, sheet)
        return _read_parquet(path, aliases, overrides, required)
    except PermissionError:
        raise InputFileError(f"{path}: permission denied", hint="close the file in Excel/WPS or check its permissions") from None
    except (zipfile.BadZipFile, KeyError) as error:
        raise InputFileError(f"{path} is not a readable .xlsx workbook ({error})",
                             hint="open it in Excel and save it again as .xlsx, or export CSV") from None
    except (pa.ArrowInvalid, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise InputFileError(f"{path} does not exist") from None
        raise InputFileError(f"{path} cannot be read as {kind}: {error}",
                             hint="check that the file is complete and of the type its name says") from None


def _mapping_or_fail(path: Path, headers: Sequence[object], aliases: Mapping[str, tuple[str, ...]],
                     overrides: Mapping[str, str], required: Sequence[str]) -> dict[str, str]:
    mapping = match_columns(headers, aliases, overrides)
    for canonical, wanted in overrides.items():
        if canonical not in mapping:
            raise MissingColumnsError(
                f"{path}: column {wanted!r} (given for {canonical}) is not in the file; "
                f"columns found: {_listing(headers)}",
                hint=f"correct it, e.g. --col {canonical}=\"<header as shown above>\"",
            )
    missing = [c for c in required if c not in mapping]
    if missing:
        fixes = " ".join(f'--col {c}="<header>"' for c in missing)
        raise MissingColumnsError(
            f"{path}: cannot find the {', '.join(missing)} column(s); columns found: {_listing(headers)}",
            hint=f"name them with {fixes} (or a [columns] table in crmkit.toml)",
        )
    return mapping


def _listing(headers: Sequence[object]) -> str:
    shown = [str(h) for h in headers[:30]]
    return ", ".join(repr(h) for h in shown) + (f" and {len(headers) - 30} more" if len(headers) > 30 else "")


# CSV ----------------------------------------------------------------------------------
def _detect_encoding(path: Path) -> str:
    """utf-8-sig (BOM), utf-8, or gb18030 (a superset of GBK) — decided on the first megabyte."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    cut = head.rfind(b"\n") if len(head) == 1 << 20 else len(head)
    try:
        head[: cut if cut > 0 else len(head)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head[: cut if cut > 0 else len(head)].decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: text encoding not recognised (tried UTF-8 and GB18030/GBK)",
                             hint="save the file as CSV UTF-8") from None


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header row as written and the delimiter (tab for .tsv, else the most frequent of , ; | tab in the header)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        line = handle.readline()
    if not line.strip():
        raise InputFileError(f"{path} is empty or its first line is blank", hint="the first line must hold the headers")
    if path.suffix.lower() in (".tsv", ".tab"):
        delimiter = "\t"
    else:
        delimiter = max((",", "\t", ";", "|"), key=line.count)
    return next(csv.reader(io.StringIO(line.lstrip("\ufeff")), delimiter=delimiter)), delimiter


def _read_csv(path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str],
              required: Sequence[str], text_columns: Sequence[str]) -> _Raw:
    encoding = _detect_encoding(path)
    headers, delimiter = _csv_header(path, encoding)
    mapping = _mapping_or_fail(path, headers, aliases, overrides, required)
    text = {mapping[c]: pa.string() for c in text_columns if c in mapping}
    table, encoding = _arrow_csv(path, encoding, delimiter, list(dict.fromkeys(mapping.values())), text)
    columns = {c: _arrow_column(table.column(h)) for c, h in mapping.items()}
    report = FileReport(str(path), "tsv" if delimiter == "\t" else "csv",
                        encoding="utf-8 (BOM)" if encoding == "utf-8-sig" else encoding,
                        rows=table.num_rows, mapping=dict(mapping))
    return _Raw(columns, report, first_row=2, headers=headers)


#: Bytes per block of Arrow's CSV reader.
CSV_BLOCK_BYTES = 1 << 24


def _arrow_csv(path: Path, encoding: str, delimiter: str, include: list[str],
               text: dict[str, pa.DataType]) -> tuple[pa.Table, str]:
    """pyarrow's multithreaded reader, and the encoding it read. A column whose type guess fails part-way is
    re-read as text; a file that turns out not to be UTF-8 after its first megabyte is re-read as GB18030."""
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)

    def attempt(arrow_encoding: str, types: dict[str, pa.DataType]) -> pa.Table:
        read = pa_csv.ReadOptions(encoding=arrow_encoding, block_size=CSV_BLOCK_BYTES)
        convert = pa_csv.ConvertOptions(include_columns=include, column_types=types, strings_can_be_null=True,
                                        null_values=[""], quoted_strings_can_be_null=True)
        return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)

    def typed_else_text(arrow_encoding: str) -> pa.Table:
        try:
            return attempt(arrow_encoding, text)
        except pa.ArrowInvalid as error:
            if "invalid UTF8" in str(error) or "conversion error" not in str(error).lower():
                raise
        return attempt(arrow_encoding, {h: pa.string() for h in include})

    # Arrow reads UTF-8 natively and skips a BOM; other encodings are transcoded while reading.
    try:
        return typed_else_text("utf8" if encoding.startswith("utf-8") else encoding), encoding
    except pa.ArrowInvalid as error:
        if "invalid UTF8" not in str(error) or encoding != "utf-8":
            raise
    return typed_else_text("gb18030"), "gb18030"


def _arrow_column(column: pa.ChunkedArray) -> pd.Series:
    """pandas Series from an Arrow column; text stays Arrow-backed, dates become datetime64."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pd.Series(pd.arrays.ArrowStringArray(column))
    if pa.types.is_date(column.type):
        return pd.Series(pc.cast(column, pa.timestamp("s")).to_pandas())
    return pd.Series(column.to_pandas())


# Excel --------------------------------------------------------------------------------
def _read_excel(path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str],
                required: Sequence[str], sheet: str | None) -> _Raw:
    """Cell values through calamine (Rust: 0.17 s for the 20k-line sample, openpyxl 1.5 s); openpyxl only
    reads the number formats of the first data row, which can hide leading zeros of ids."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum  # only Excel inputs pay for it

    try:
        book = CalamineWorkbook.from_path(str(path))
        worksheets = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        if not worksheets:
            raise InputFileError(f"{path} has no worksheet (only charts or macros)",
                                 hint="save the data sheet as .xlsx or CSV")
        if sheet is not None and sheet not in worksheets:
            raise InputFileError(f"{path} has no sheet {sheet!r}; sheets: {', '.join(worksheets)}",
                                 hint="pick one with --sheet NAME")
        title = sheet if sheet is not None else worksheets[0]
        rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except CalamineError as error:
        raise InputFileError(f"{path} is not a readable .xlsx workbook ({error})",
                             hint="open it in Excel and save it again as .xlsx, or export CSV") from None
    header_at = _header_row(rows, aliases, overrides)
    if header_at is None:
        raise InputFileError(f"{path} (sheet {title!r}) is empty", hint="choose another sheet with --sheet NAME")
    headers = [("" if v is None else str(v).strip()) for v in rows[header_at]]
    mapping = _mapping_or_fail(path, [h for h in headers if h], aliases, overrides, required)
    data = rows[header_at + 1:]
    while data and all(_blank(v) for v in data[-1]):
        data.pop()
    frame = pd.DataFrame(data, dtype=object).reindex(columns=range(len(headers)))
    frame = frame.mask(frame.eq(""))            # calamine gives empty cells as ""
    position = {h: i for i, h in reversed(list(enumerate(headers)))}
    columns = {c: frame[position[h]] for c, h in mapping.items()}
    zero_pad = _zero_padding(path, title, header_at + 2, {c: position[h] for c, h in mapping.items()
                                                         if c in (CUSTOMER_ID, ORDER_ID)})
    report = FileReport(str(path), "xlsx", sheet=title, rows=len(frame), mapping=dict(mapping))
    return _Raw(columns, report, first_row=header_at + 2, headers=headers, zero_pad=zero_pad)


def _blank(value: object) -> bool:
    """An empty cell (calamine gives "")."""
    return value is None or value == ""


def _header_row(rows: Sequence[Sequence[object]], aliases: Mapping[str, tuple[str, ...]],
                overrides: Mapping[str, str] | None = None) -> int | None:
    """The header row: the first of the first 10 rows that names at least two known or ``--col`` columns (one when
    only one is asked for; title rows above a table are common in exports), else the first non-empty row."""
    overrides = overrides or {}
    needed = min(2, len(aliases) + len(overrides))
    first_filled = None
    for i, row in enumerate(rows[:10]):
        if any(v is not None and str(v).strip() for v in row):
            first_filled = i if first_filled is None else first_filled
            if len(match_columns([v for v in row if v is not None], aliases, overrides)) >= needed:
                return i
    return first_filled


def _zero_padding(path: Path, title: str, first_data_row: int, positions: dict[str, int]) -> dict[str, int]:
    """Widths of '0000000'-style number formats on id columns, so hidden leading zeros come back."""
    if not positions:
        return {}
    from openpyxl import load_workbook  # only the first data row is parsed: read-only mode stops there

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        pads = {}
        for row in book[title].iter_rows(min_row=first_data_row, max_row=first_data_row):
            for canonical, index in positions.items():
                if index < len(row):
                    fmt = getattr(row[index], "number_format", "") or ""
                    if len(fmt) > 1 and set(fmt) == {"0"}:
                        pads[canonical] = len(fmt)
        return pads
    finally:
        book.close()


# Parquet ------------------------------------------------------------------------------
def _read_parquet(path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str],
                  required: Sequence[str]) -> _Raw:
    schema = pq.read_schema(path)
    mapping = _mapping_or_fail(path, schema.names, aliases, overrides, required)
    table = pq.read_table(path, columns=list(dict.fromkeys(mapping.values())))
    columns = {c: _arrow_column(table.column(h)) for c, h in mapping.items()}
    return _Raw(columns, FileReport(str(path), "parquet", rows=table.num_rows, mapping=dict(mapping)), first_row=1,
                headers=list(schema.names))


# --- transactions ------------------------------------------------------------------------
def load_transactions(paths: Iterable[Path], *, columns: Mapping[str, str] | None = None, sheet: str | None = None,
                      strict: bool = False, date_order: str | None = None) -> TransactionData:
    """Read, map, coerce and validate transaction files into one canonical frame.

    Rows with an empty customer_id, a missing/unparseable order_date or a
    missing/non-numeric amount are dropped (``strict``: the first one is an
    error); repeated lines of the same order (every mapped field equal) count
    once. ``customer_id`` comes back categorical (text categories), the rest as
    datetime64/float64/text.
    """
    overrides = dict(columns or {})
    check_override_keys(overrides, TRANSACTION_ALIASES)
    frames, rejects, reports = [], [], []
    for path in expand_paths(paths):
        raw = _read_mapped(path, TRANSACTION_ALIASES, overrides, REQUIRED_TRANSACTION_COLUMNS, sheet,
                           text_columns=(CUSTOMER_ID, ORDER_ID, *TEXT_COLUMNS))
        _release_arrow_buffers()
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
        first = next(e for e in report.examples if e["reason"] != REASON_REPEAT)
        counts = {reason: n for reason, n in report.drop_counts.items() if reason != REASON_REPEAT}
        raise BadValueError(
            f"{bad_rows:,} bad row(s) ({_counts_text(counts)}); first: {first['file']} "
            f"row {first['row']}, column {first['column']!r}: {first['value']!r} ({first['reason']})",
            hint="fix the rows, or drop --strict to skip them (write them out with --rejects FILE)",
        )
    if frame.empty:
        raise BadValueError(f"no usable rows in {', '.join(r.path for r in reports)} "
                            f"({_counts_text(report.drop_counts) or 'the files have no data rows'})",
                            hint="check the column mapping with `crmkit inspect FILE`")
    frame = frame.drop(columns=[SOURCE_FILE, SOURCE_ROW])
    del raw, rejects, frames
    _release_arrow_buffers()
    return TransactionData(frame, _rejects_frame(rejected), report)


def _release_arrow_buffers() -> None:
    """Hand Arrow's freed buffers back to the system. Arrow frees into its own pool, which numpy cannot reuse:
    a 10M-row CSV read leaves 0.45 GB there, and every later step's peak would land on top of it."""
    pa.default_memory_pool().release_unused()


def _canonical_transactions(raw: _Raw, date_order: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                report.warnings.append(f"{report.path}: {int(numbers.bad.sum()):,} non-numeric value(s) in "
                                       f"{mapping[column]!r} treated as missing")
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
        dropped = pd.DataFrame({
            SOURCE_FILE: report.path,
            SOURCE_ROW: frame[SOURCE_ROW].to_numpy()[bad],
            "reason": reasons,
            "column": np.select([reasons == r for r in _REASON_COLUMN],
                                [mapping[c] for c in _REASON_COLUMN.values()], default=""),
            "value": np.select([reasons == r for r in _REASON_COLUMN],
                               [raw[c] for c in _REASON_COLUMN.values()], default=""),
            **raw,
        })
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
    shared = [c for c in frames[0].columns
              if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and all(c in f.columns for f in frames)]
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
    repeats = pd.DataFrame({SOURCE_FILE: lines[SOURCE_FILE].to_numpy(), SOURCE_ROW: lines[SOURCE_ROW].to_numpy(),
                            "reason": REASON_REPEAT, "column": ORDER_ID,
                            "value": lines[ORDER_ID].astype("str").to_numpy()})
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
                examples.append({"file": row.source_file, "row": int(row.source_row), "column": row.column,
                                 "value": row.value, "reason": reason})
    warnings = [w for f in files for w in f.warnings]
    return IngestReport(files, rows_read, rows_used, rows_read - rows_used, counts, examples, warnings)


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in counts.items())


# --- customer master ---------------------------------------------------------------------
def load_customers(path: Path, *, columns: Mapping[str, str] | None = None, sheet: str | None = None,
                   date_order: str | None = None) -> CustomerData:
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
        report.warnings.append(f"{path}: {int(repeated.sum()):,} repeated customer id(s); the first row of each is used")
        frame = frame.loc[~repeated]
    if SIGNUP_DATE in frame.columns:
        dates = parse_dates(frame[SIGNUP_DATE].reset_index(drop=True), date_order=date_order, where=f"{path}, column "
                            f"{report.mapping[SIGNUP_DATE]!r}: ")
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
        if column not in (CUSTOMER_ID, SIGNUP_DATE, *VALUE_COMPONENTS, *COST_COMPONENTS) and \
                not pd.api.types.is_numeric_dtype(frame[column].dtype):
            frame[column] = clean_ids(frame[column]).astype("str").to_numpy()
    return CustomerData(frame.reset_index(drop=True), report)


def _read_master(path: Path, overrides: Mapping[str, str], sheet: str | None) -> _Raw:
    """Every column of the master: known headers under canonical names, the rest as they are."""
    raw = _read_mapped(path, CUSTOMER_ALIASES, overrides, (CUSTOMER_ID,), sheet,
                       text_columns=(CUSTOMER_ID, PHONE))
    return _with_unmapped_columns(path, raw, sheet)


def _with_unmapped_columns(path: Path, raw: _Raw, sheet: str | None) -> _Raw:
    """Re-read the columns the aliases did not claim (master files carry free-form attributes)."""
    everything = {h: h for h in raw.headers if h and h not in raw.report.mapping.values()}
    if not everything:
        return raw
    extra = _read_mapped(path, {}, everything, (), sheet, text_columns=tuple(everything))
    return replace(raw, columns={**raw.columns, **extra.columns})


# --- inspect -----------------------------------------------------------------------------
def inspect_transactions(data: TransactionData, *, today: pd.Timestamp | None = None) -> list[dict[str, Any]]:
    """Data-quality findings without scoring: dropped rows, repeated lines, returns, zero amounts,
    future dates, mixed date styles, customers with only returns."""
    frame, report = data.frame, data.report
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    findings: list[dict[str, Any]] = []

    def add(kind: str, count: int, detail: str) -> None:
        if count:
            findings.append({"kind": kind, "count": int(count), "detail": detail})

    for reason, n in report.drop_counts.items():
        add("dropped rows" if reason != REASON_REPEAT else "repeated order lines", n,
            f"{reason}; see --rejects FILE" if reason != REASON_REPEAT else "counted once")
    amount = frame[AMOUNT]
    returns = amount < 0
    add("returns", int(returns.sum()), f"negative amounts totalling {amount[returns].sum():,.2f}; they reduce "
        "revenue and are not purchase occasions")
    add("zero amounts", int((amount == 0).sum()), "kept as purchase occasions with no spend")
    future = frame[ORDER_DATE] > today + pd.Timedelta(days=1)
    add("future dates", int(future.sum()), f"after today ({today:%Y-%m-%d}); check the date column or use --as-of")
    for f in report.files:
        if len(f.date_styles) > 1:
            add("mixed date formats", sum(f.date_styles.values()),
                f"{f.path}: " + ", ".join(f"{s} {n:,}" for s, n in f.date_styles.items()))
    buyers = frame.loc[amount >= 0, CUSTOMER_ID].unique()
    only_returns = frame.loc[~frame[CUSTOMER_ID].isin(buyers), CUSTOMER_ID].nunique()
    add("customers with only returns", only_returns, "no purchase to anchor a history; left out of scoring")
    return findings
