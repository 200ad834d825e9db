"""Reading one file's mapped columns as stored: CSV/TSV through Arrow, Excel through calamine, Parquet."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from crmkit.errors import InputFileError, MissingColumnsError
from crmkit.ingest.columns import match_columns
from crmkit.ingest.files import file_format
from crmkit.ingest.report import FileReport
from crmkit.schema import (
    CUSTOMER_ID,
    ORDER_ID,
)


@dataclass
class RawFile:
    """One file's mapped columns, still as stored (text, numbers or dates), with its report."""

    columns: dict[str, pd.Series]
    report: FileReport
    first_row: int  # the file row number of the first data row (header is row first_row - 1)
    headers: list[str]  # every header of the file, mapped or not
    zero_pad: dict[str, int] = field(default_factory=dict)


def read_mapped(
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
    sheet: str | None,
    text_columns: Sequence[str],
) -> RawFile:
    """Read one file's recognised columns, failing with a clear message when a required one is missing."""
    kind = file_format(path)
    try:
        if kind == "csv":
            return _read_csv(path, aliases, overrides, required, text_columns)
        if kind == "xlsx":
            return _read_excel(path, aliases, overrides, required, sheet)
        return _read_parquet(path, aliases, overrides, required)
    except PermissionError:
        raise InputFileError(
            f"{path}: permission denied", hint="close the file in Excel/WPS or check its permissions"
        ) from None
    except (zipfile.BadZipFile, KeyError) as error:
        raise InputFileError(
            f"{path} is not a readable .xlsx workbook ({error})",
            hint="open it in Excel and save it again as .xlsx, or export CSV",
        ) from None
    except (pa.ArrowInvalid, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise InputFileError(f"{path} does not exist") from None
        raise InputFileError(
            f"{path} cannot be read as {kind}: {error}",
            hint="check that the file is complete and of the type its name says",
        ) from None


def _mapping_or_fail(
    path: Path,
    headers: Sequence[object],
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
) -> dict[str, str]:
    mapping = match_columns(headers, aliases, overrides)
    for canonical, wanted in overrides.items():
        if canonical not in mapping:
            raise MissingColumnsError(
                f"{path}: column {wanted!r} (given for {canonical}) is not in the file; "
                f"columns found: {_listing(headers)}",
                hint=f'correct it, e.g. --col {canonical}="<header as shown above>"',
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
    return encoding_of(head, path)


def encoding_of(head: bytes, path: object) -> str:
    """The encoding of a text file from its first megabyte ``head``: utf-8-sig, utf-16, utf-8 or gb18030."""
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
        raise InputFileError(
            f"{path}: text encoding not recognised (tried UTF-8 and GB18030/GBK)", hint="save the file as CSV UTF-8"
        ) from None


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    """The header row as written and the delimiter (tab for .tsv, else the most frequent of , ; | tab in the header)."""
    with path.open("r", encoding=encoding, newline="") as handle:
        line = handle.readline()
    if not line.strip():
        raise InputFileError(f"{path} is empty or its first line is blank", hint="the first line must hold the headers")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else max((",", "\t", ";", "|"), key=line.count)
    return next(csv.reader(io.StringIO(line.lstrip("\ufeff")), delimiter=delimiter)), delimiter


def _read_csv(
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
    text_columns: Sequence[str],
) -> RawFile:
    encoding = _detect_encoding(path)
    headers, delimiter = _csv_header(path, encoding)
    mapping = _mapping_or_fail(path, headers, aliases, overrides, required)
    text = {mapping[c]: pa.string() for c in text_columns if c in mapping}
    table, encoding = _arrow_csv(path, encoding, delimiter, list(dict.fromkeys(mapping.values())), text)
    columns = {c: _arrow_column(table.column(h)) for c, h in mapping.items()}
    report = FileReport(
        str(path),
        "tsv" if delimiter == "\t" else "csv",
        encoding="utf-8 (BOM)" if encoding == "utf-8-sig" else encoding,
        rows=table.num_rows,
        mapping=dict(mapping),
    )
    return RawFile(columns, report, first_row=2, headers=headers)


#: Bytes per block of Arrow's CSV reader.
CSV_BLOCK_BYTES = 1 << 24


def _arrow_csv(
    path: Path, encoding: str, delimiter: str, include: list[str], text: dict[str, pa.DataType]
) -> tuple[pa.Table, str]:
    """pyarrow's multithreaded reader, and the encoding it read. A column whose type guess fails part-way is
    re-read as text; a file that turns out not to be UTF-8 after its first megabyte is re-read as GB18030."""
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)

    def attempt(arrow_encoding: str, types: dict[str, pa.DataType]) -> pa.Table:
        read = pa_csv.ReadOptions(encoding=arrow_encoding, block_size=CSV_BLOCK_BYTES)
        convert = pa_csv.ConvertOptions(
            include_columns=include,
            column_types=types,
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        )
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
def _read_excel(
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
    sheet: str | None,
) -> RawFile:
    """Cell values through calamine (Rust: 0.17 s for the 20k-line sample, openpyxl 1.5 s); openpyxl only
    reads the number formats of the first data row, which can hide leading zeros of ids."""
    from python_calamine import (  # only Excel inputs pay for it
        CalamineError,
        CalamineWorkbook,
        SheetTypeEnum,
    )

    try:
        book = CalamineWorkbook.from_path(str(path))
        worksheets = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        if not worksheets:
            raise InputFileError(
                f"{path} has no worksheet (only charts or macros)", hint="save the data sheet as .xlsx or CSV"
            )
        if sheet is not None and sheet not in worksheets:
            raise InputFileError(
                f"{path} has no sheet {sheet!r}; sheets: {', '.join(worksheets)}", hint="pick one with --sheet NAME"
            )
        title = sheet if sheet is not None else worksheets[0]
        rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except CalamineError as error:
        raise InputFileError(
            f"{path} is not a readable .xlsx workbook ({error})",
            hint="open it in Excel and save it again as .xlsx, or export CSV",
        ) from None
    header_at = _header_row(rows, aliases, overrides)
    if header_at is None:
        raise InputFileError(f"{path} (sheet {title!r}) is empty", hint="choose another sheet with --sheet NAME")
    headers = [("" if v is None else str(v).strip()) for v in rows[header_at]]
    mapping = _mapping_or_fail(path, [h for h in headers if h], aliases, overrides, required)
    data = rows[header_at + 1 :]
    while data and all(_blank(v) for v in data[-1]):
        data.pop()
    frame = pd.DataFrame(data, dtype=object).reindex(columns=range(len(headers)))
    frame = frame.mask(frame.eq(""))  # calamine gives empty cells as ""
    position = {h: i for i, h in reversed(list(enumerate(headers)))}
    columns = {c: frame[position[h]] for c, h in mapping.items()}
    zero_pad = _zero_padding(
        path, title, header_at + 2, {c: position[h] for c, h in mapping.items() if c in (CUSTOMER_ID, ORDER_ID)}
    )
    report = FileReport(str(path), "xlsx", sheet=title, rows=len(frame), mapping=dict(mapping))
    return RawFile(columns, report, first_row=header_at + 2, headers=headers, zero_pad=zero_pad)


def _blank(value: object) -> bool:
    """An empty cell (calamine gives "")."""
    return value is None or value == ""


def _header_row(
    rows: Sequence[Sequence[object]], aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str] | None = None
) -> int | None:
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
    from openpyxl import (
        load_workbook,  # only the first data row is parsed: read-only mode stops there
    )

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
def _read_parquet(
    path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str], required: Sequence[str]
) -> RawFile:
    schema = pq.read_schema(path)
    mapping = _mapping_or_fail(path, schema.names, aliases, overrides, required)
    table = pq.read_table(path, columns=list(dict.fromkeys(mapping.values())))
    columns = {c: _arrow_column(table.column(h)) for c, h in mapping.items()}
    return RawFile(
        columns,
        FileReport(str(path), "parquet", rows=table.num_rows, mapping=dict(mapping)),
        first_row=1,
        headers=list(schema.names),
    )


def release_arrow_buffers() -> None:
    """Hand Arrow's freed buffers back to the system. Arrow frees into its own pool, which numpy cannot reuse:
    a 10M-row CSV read leaves 0.45 GB there, and every later step's peak would land on top of it."""
    pa.default_memory_pool().release_unused()


#: The name a DataFrame read in memory goes by in reports and rejects.
FRAME_SOURCE = "<DataFrame>"


def read_frame(
    frame: pd.DataFrame,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
) -> RawFile:
    """An in-memory DataFrame's recognised columns, mapped like a file's headers; rows numbered from 0."""
    headers = [str(column) for column in frame.columns]
    mapping = _mapping_or_fail(Path(FRAME_SOURCE), headers, aliases, overrides, required)
    by_header = dict(zip(headers, frame.columns))
    columns = {c: frame[by_header[h]].reset_index(drop=True) for c, h in mapping.items()}
    report = FileReport(FRAME_SOURCE, "dataframe", rows=len(frame), mapping=dict(mapping))
    return RawFile(columns, report, first_row=0, headers=headers)
