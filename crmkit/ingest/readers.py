"""Reading one file's mapped columns as stored: CSV/TSV through Arrow, Excel through calamine, Parquet."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crmkit.errors import InputFileError, MissingColumnsError
from crmkit.ingest import csvfile, excel
from crmkit.ingest.columns import detect_layout, match_columns
from crmkit.ingest.dialect import Dialect, forced_header, unique_names
from crmkit.ingest.files import file_format
from crmkit.ingest.numbers import decimal_evidence
from crmkit.ingest.report import FileReport
from crmkit.schema import CUSTOMER_ID, ORDER_ID


@dataclass
class RawFile:
    """One file's mapped columns, still as stored (text, numbers or dates), with its report."""

    columns: dict[str, pd.Series]
    report: FileReport
    #: The line (CSV) or sheet row (Excel) of every row, as an editor or Excel shows it.
    lines: np.ndarray
    headers: list[str]  # every header of the file, mapped or not
    zero_pad: dict[str, int] = field(default_factory=dict)
    #: (line, text) of CSV rows skipped because their number of fields differs from the header's.
    misshapen: list[tuple[int, str]] = field(default_factory=list)
    #: The file's other (unmapped) columns as text, at the given row positions: read again only when needed.
    other_columns: Callable[[np.ndarray], pd.DataFrame] | None = None


def read_mapped(
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
    sheet: str | None,
    text_columns: Sequence[str],
    *,
    number_columns: Sequence[str] = (),
    header_row: int | None = None,
    decimal: str | None = None,
) -> RawFile:
    """Read one file's recognised columns, failing with a clear message when a required one is missing.

    ``text_columns`` are read as text whatever they look like (ids); ``number_columns`` are read as text too
    whenever a typed read could lose how they were written (``1.500`` read as 1.5 in a file whose other
    values say the dot groups thousands).
    """
    kind = file_format(path)
    forced_header(header_row)
    try:
        if kind == "csv":
            return _read_csv(path, aliases, overrides, required, text_columns, number_columns, header_row, decimal)
        if kind == "xlsx":
            return _read_excel(path, aliases, overrides, required, sheet, header_row)
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
                hint=f"correct it, e.g. columns={{'{canonical}': '<header as shown above>'}}",
            )
    missing = [c for c in required if c not in mapping]
    if missing:
        fixes = "columns={" + ", ".join(f"'{c}': '<header>'" for c in missing) + "}"
        raise MissingColumnsError(
            f"{path}: cannot find the {', '.join(missing)} column(s); columns found: {_listing(headers)}",
            hint=f"name them with {fixes} (or a [columns] table in crmkit.toml); "
            "if the header is not the first row, give its row with header_row=N",
        )
    return mapping


def _listing(headers: Sequence[object]) -> str:
    shown = [str(h) for h in headers[:30]]
    return ", ".join(repr(h) for h in shown) + (f" and {len(headers) - 30} more" if len(headers) > 30 else "")


def _first_positions(headers: Sequence[str]) -> dict[str, int]:
    """Header → its first position (a repeated header is read from its first column)."""
    return {h: i for i, h in reversed(list(enumerate(headers)))}


# CSV ----------------------------------------------------------------------------------
def _read_csv(
    path: Path,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    required: Sequence[str],
    text_columns: Sequence[str],
    number_columns: Sequence[str],
    header_row: int | None,
    decimal: str | None,
) -> RawFile:
    layout = csvfile.sniff(path, aliases, overrides, header_row)
    mapping = _mapping_or_fail(path, [h for h in layout.headers if h], aliases, overrides, required)
    position = _first_positions(layout.headers)
    name = {c: layout.names[position[h]] for c, h in mapping.items()}
    include = list(dict.fromkeys(name.values()))
    text = {name[c]: pa.string() for c in text_columns if c in mapping}
    numbers = {name[c] for c in number_columns if c in mapping}
    table, misshapen = csvfile.read_columns(path, layout, include, text)
    # Columns whose typed read lost how they were written are read again as text.
    lossy = [
        n for n in include if n not in text and _lossy(table.column(n).type, _sample(layout, n), n in numbers, decimal)
    ]
    if lossy:
        text.update({n: pa.string() for n in lossy})
        table, misshapen = csvfile.read_columns(path, layout, include, text)
    lines, shaped = csvfile.record_lines(path, layout, table.num_rows, misshapen)
    columns = {c: _arrow_column(table.column(n)) for c, n in name.items()}
    dialect = csv_dialect(layout)
    report = FileReport(
        str(path),
        "tsv" if layout.separator == "\t" else "csv",
        rows=table.num_rows + len(shaped),
        mapping=dict(mapping),
        dialect=dialect,
    )
    others = [n for n in layout.names if n not in include]

    def other_columns(rows: np.ndarray) -> pd.DataFrame:
        every = csvfile.read_columns(path, layout, others, {n: pa.string() for n in others})[0]
        return _as_text(every.take(pa.array(rows)).to_pandas())

    return RawFile(
        columns, report, lines, layout.headers, misshapen=shaped, other_columns=other_columns if others else None
    )


def csv_dialect(layout: csvfile.CsvLayout) -> Dialect:
    """What was decided about a CSV file: header row and how it was found, separator, encoding, export layout."""
    return Dialect(
        header_row=layout.header_lines,
        header_found=layout.found,
        separator=layout.separator,
        encoding=csvfile.encoding_name(layout),
        layout=detect_layout(layout.headers),
    )


def _sample(layout: csvfile.CsvLayout, arrow_name: str) -> list[str]:
    """The column's values among the file's first lines."""
    index = layout.names.index(arrow_name)
    return [row[index] for row in layout.sample]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as text, missing as empty: what two lines are compared on."""
    return frame.astype(object).where(frame.notna(), "").astype("str")


def _lossy(kind: pa.DataType, sample: list[str], is_number: bool, decimal: str | None) -> bool:
    """True when Arrow's typed read of a column may differ from what the file wrote: a timestamp with a UTC
    offset (Arrow converts it to UTC, the wall-clock date is lost), or decimals read with a dot while nothing
    in the column's first lines shows the dot is the decimal mark."""
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return True
    if not (is_number and pa.types.is_floating(kind)):
        return False
    evidence = decimal_evidence(pd.Series(sample, dtype=object))
    return decimal == "," or evidence.dot is None or evidence.comma is not None


def _arrow_column(column: pa.ChunkedArray) -> pd.Series:
    """pandas Series from an Arrow column; text stays Arrow-backed, dates become datetime64 (in seconds, so no
    date is out of range yet)."""
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
    header_row: int | None,
) -> RawFile:
    """Cell values through calamine (Rust: 0.17 s for the 20k-line sample, openpyxl 1.5 s); openpyxl only
    reads the number formats of the first data row, which can hide leading zeros of ids."""
    mapping: dict[str, str] = {}

    def wanted(headers: list[str]) -> list[int]:
        mapping.update(_mapping_or_fail(path, [h for h in headers if h], aliases, overrides, required))
        position = _first_positions(headers)
        return [position[h] for h in mapping.values()]

    read = excel.read_sheet(path, sheet, aliases, overrides, header_row, wanted)
    position = _first_positions(read.headers)
    columns = {c: pd.Series(read.columns[position[h]], dtype=object) for c, h in mapping.items()}
    ids = {c: position[h] for c, h in mapping.items() if c in (CUSTOMER_ID, ORDER_ID)}
    zero_pad = excel.zero_padding(path, read.title, read.header_row, ids)
    dialect = Dialect(header_row=read.header_row, header_found=read.header_found, layout=detect_layout(read.headers))
    report = FileReport(
        str(path), "xlsx", sheet=read.title, rows=len(read.rows), mapping=dict(mapping), dialect=dialect
    )
    read_positions = {position[h] for h in mapping.values()}
    others = [i for i in range(len(read.headers)) if i not in read_positions]

    def other_columns(rows: np.ndarray) -> pd.DataFrame:
        again = excel.read_sheet(path, read.title, aliases, overrides, read.header_row, lambda _: others)
        names = unique_names(read.headers)
        return _as_text(pd.DataFrame({names[i]: np.asarray(again.columns[i], dtype=object)[rows] for i in others}))

    return RawFile(
        columns, report, read.rows, read.headers, zero_pad=zero_pad, other_columns=other_columns if others else None
    )


# Parquet ------------------------------------------------------------------------------
def _read_parquet(
    path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str], required: Sequence[str]
) -> RawFile:
    schema = pq.read_schema(path)
    mapping = _mapping_or_fail(path, schema.names, aliases, overrides, required)
    for canonical, header in mapping.items():
        kind = schema.field(header).type
        if pa.types.is_nested(kind):
            raise InputFileError(
                f"{path}: column {header!r} (read as {canonical}) holds nested values ({kind}), not one value a row",
                hint=f"flatten it when writing the file, or name another column with columns={{'{canonical}': 'HEADER'}}",
            )
    table = pq.read_table(path, columns=list(dict.fromkeys(mapping.values())))
    columns = {c: _arrow_column(table.column(h)) for c, h in mapping.items()}
    others = [n for n in schema.names if n not in mapping.values()]

    def other_columns(rows: np.ndarray) -> pd.DataFrame:
        picked = pq.read_table(path, columns=others).take(pa.array(rows))
        return _as_text(pd.DataFrame({n: pd.Series(picked.column(n).to_pylist(), dtype=object) for n in others}))

    return RawFile(
        columns,
        FileReport(str(path), "parquet", rows=table.num_rows, mapping=dict(mapping)),
        np.arange(1, table.num_rows + 1, dtype=np.int64),
        list(schema.names),
        other_columns=other_columns if others else None,
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
    """An in-memory DataFrame's recognised columns, mapped like a file's headers; rows numbered from 0 (as
    ``DataFrame.iloc`` counts them)."""
    headers = [str(column) for column in frame.columns]
    mapping = _mapping_or_fail(Path(FRAME_SOURCE), headers, aliases, overrides, required)
    by_header = dict(zip(headers, frame.columns))
    columns = {c: frame[by_header[h]].reset_index(drop=True) for c, h in mapping.items()}
    others = [by_header[h] for h in headers if h not in mapping.values()]

    def other_columns(rows: np.ndarray) -> pd.DataFrame:
        picked = frame[others].iloc[rows].reset_index(drop=True)
        return _as_text(picked.rename(columns=str).astype(object))

    return RawFile(
        columns,
        FileReport(FRAME_SOURCE, "dataframe", rows=len(frame), mapping=dict(mapping)),
        np.arange(len(frame), dtype=np.int64),
        headers,
        other_columns=other_columns if others else None,
    )
