"""CSV/TSV files: dialect detection on the first lines, Arrow's multithreaded reader for the data, and the line
an editor shows for every row read.

The header may sit below title rows; the separator is the one under which a row names the most known columns.
Arrow reads the columns that are needed; rows with too many or too few fields are skipped and reported. Row
numbers come from the file's line feeds: one line per row unless the file has blank lines or multi-line
cells, which are found with vectorised scans (and, where quotes make that uncertain, Python's csv module).
"""

from __future__ import annotations

import contextlib
import csv
import io
import mmap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from crmkit.errors import InputFileError
from crmkit.ingest.dialect import find_header, unique_names
from crmkit.ingest.encoding import ENCODING_NAMES, after_invalid_utf8, detect_encoding, undecodable

#: Lines read to find the header and separator, and the most bytes they may take.
PREVIEW_LINES = 50
PREVIEW_BYTES = 8 << 20

#: Bytes per block of Arrow's CSV reader.
CSV_BLOCK_BYTES = 1 << 24

#: Longest cell read when row numbers need Python's csv module (a longer one is an unclosed quote).
MAX_CELL_BYTES = 16 << 20

SEPARATORS = (",", ";", "\t", "|")
TAB_SUFFIXES = (".tsv", ".tab")

#: Encodings in which a quote or line feed byte is always that character (true of UTF-8, GB18030, cp1252).
_BYTE_SCANNABLE = ("utf-8", "utf-8-sig", "gb18030", "cp1252")


@dataclass
class CsvLayout:
    """How to read a CSV file's data: decided once, used for every read of the file."""

    encoding: str
    separator: str
    #: Lines up to and including the header (Arrow skips them).
    header_lines: int
    #: The header as written, and the unique names Arrow gets for the columns.
    headers: list[str]
    names: list[str]
    #: Bytes before the first data line.
    data_offset: int
    #: How the header row was found ("detected", "first row", "--header-row").
    found: str
    #: The data rows among the first lines, as text (what Arrow's type guesses can be checked against).
    sample: list[list[str]] = field(default_factory=list)


# --- layout -----------------------------------------------------------------------------
def sniff(
    path: Path, aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str], header_row: int | None
) -> CsvLayout:
    """Encoding, separator and header row of a CSV file, decided on its first lines."""
    encoding = detect_encoding(path)
    lines = _preview(path, encoding, PREVIEW_LINES + (header_row or 0))
    if not any(line.strip() for line in lines):
        raise InputFileError(f"{path} is empty or has only blank lines", hint="the file must hold a header row")
    separators = ("\t",) if path.suffix.lower() in TAB_SUFFIXES else SEPARATORS
    with _cell_limit(sum(len(line) for line in lines)):
        parsed = {sep: _preview_rows(lines, sep) for sep in separators}
    if header_row is not None:
        if header_row > len(lines):
            raise InputFileError(
                f"{path}: header_row={header_row} is past the first {len(lines)} lines", hint="count lines from 1"
            )
        line, found = header_row - 1, "--header-row"
        separator = max(separators, key=lines[line].count)
    else:
        separator, line, found = _detect(lines, parsed, separators, aliases, overrides)
    row = next((r for r in parsed[separator] if r.first == line), None)
    headers = [h.strip() for h in row.cells] if row else []
    header_lines = row.last if row else line + 1
    bom = 3 if encoding == "utf-8-sig" else 0
    data_offset = bom + len("".join(lines[:header_lines]).encode(_codec(encoding)))
    sample = [r.cells for r in parsed[separator] if r.first >= header_lines and len(r.cells) == len(headers)]
    names = unique_names(headers)
    return CsvLayout(encoding, separator, header_lines, headers, names, data_offset, found, sample)


def _preview(path: Path, encoding: str, count: int) -> list[str]:
    """The first ``count`` lines of the file, decoded; a file without a line break in its first 8 MB is
    refused."""
    lines: list[str] = []
    size = 0
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            while len(lines) < count and (line := handle.readline(PREVIEW_BYTES - size + 1)):
                size += len(line)
                if size > PREVIEW_BYTES:
                    raise InputFileError(
                        f"{path}: no line break in its first {PREVIEW_BYTES >> 20} MB; this is not a CSV file",
                        hint="export the data as CSV, XLSX or Parquet",
                    )
                lines.append(line)
    except UnicodeDecodeError:
        raise undecodable(path, encoding) from None
    return lines


@dataclass(frozen=True)
class _PreviewRow:
    cells: list[str]
    first: int  # 0-based line where the row starts
    last: int  # lines up to and including the row


def _preview_rows(lines: Sequence[str], separator: str) -> list[_PreviewRow]:
    """The preview's rows under ``separator`` (blank lines give empty rows), with the lines they take."""
    reader = csv.reader(lines, delimiter=separator)
    rows, first = [], 0
    with contextlib.suppress(csv.Error):  # a cell still open at the end of the preview
        for cells in reader:
            rows.append(_PreviewRow([cell.lstrip("\ufeff") for cell in cells], first, reader.line_num))
            first = reader.line_num
    return rows


def _detect(
    lines: Sequence[str],
    parsed: Mapping[str, list[_PreviewRow]],
    separators: Sequence[str],
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
) -> tuple[str, int, str]:
    """(separator, 0-based header line, how it was found): the separator and row naming the most known columns
    (the first separator on a tie); when none does, the first non-blank line and its most frequent separator."""
    best: tuple[int, int, str, int] | None = None  # (names found, -separator rank, separator, line)
    for rank, separator in enumerate(separators):
        rows = parsed[separator]
        found = find_header([row.cells for row in rows], aliases, overrides)
        if found is not None and (best is None or (found[1], -rank) > best[:2]):
            best = (found[1], -rank, separator, rows[found[0]].first)
    if best is not None:
        return best[2], best[3], "detected"
    line = next(i for i, text in enumerate(lines) if text.strip())
    return max(separators, key=lines[line].count), line, "first row"


@contextlib.contextmanager
def _cell_limit(size: int) -> Iterator[None]:
    """Let Python's csv module read cells up to ``size`` characters (its default stops at 128 KB, less than a
    header line of a wide export can be)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _codec(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


# --- data -------------------------------------------------------------------------------
def read_columns(
    path: Path, layout: CsvLayout, include: Sequence[str], text: Mapping[str, pa.DataType]
) -> tuple[pa.Table, list[str]]:
    """The ``include`` columns (by Arrow name) with ``text`` ones as strings, and the text of the rows skipped
    because their number of fields differs from the header's.

    A column whose type guess fails part-way is re-read as text; a file that turns out not to be UTF-8 after
    its first megabyte is re-read in the encoding its later text shows.
    """
    misshapen: list[str] = []

    def skip(row: pa_csv.InvalidRow) -> str:
        misshapen.append(row.text)
        return "skip"

    def attempt(types: Mapping[str, pa.DataType]) -> pa.Table:
        misshapen.clear()
        read = pa_csv.ReadOptions(
            encoding="utf8" if layout.encoding.startswith("utf-8") else layout.encoding,
            block_size=CSV_BLOCK_BYTES,
            skip_rows=layout.header_lines,
            column_names=layout.names,
        )
        parse = pa_csv.ParseOptions(delimiter=layout.separator, newlines_in_values=True, invalid_row_handler=skip)
        convert = pa_csv.ConvertOptions(
            include_columns=list(include),
            column_types=dict(types),
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        )
        return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)

    def typed_else_text() -> pa.Table:
        try:
            return attempt(text)
        except pa.ArrowInvalid as error:
            if "invalid UTF8" in str(error) or "conversion error" not in str(error).lower():
                raise
        return attempt({name: pa.string() for name in include})

    try:
        try:
            table = typed_else_text()
            if any(pa.types.is_binary(kind) for kind in table.schema.types):
                raise pa.ArrowInvalid("invalid UTF8 in a column typed as binary")  # Arrow's guess for such text
        except pa.ArrowInvalid as error:
            if "invalid UTF8" not in str(error):
                raise
            encoding = after_invalid_utf8(path, layout.encoding)
            if encoding == layout.encoding:
                raise undecodable(path, encoding) from None
            layout.encoding = encoding
            table = typed_else_text()
    except UnicodeDecodeError:
        raise undecodable(path, layout.encoding) from None
    except pa.ArrowInvalid as error:
        _refuse_unclosed_quote(path, layout)
        raise InputFileError(
            f"{path} cannot be read as CSV: {error}", hint="check that the file is complete and is a CSV file"
        ) from None
    return table, list(misshapen)


# --- row numbers ------------------------------------------------------------------------
def record_lines(path: Path, layout: CsvLayout, rows: int, misshapen: Sequence[str]) -> tuple[np.ndarray, list]:
    """(line of each of the ``rows`` rows Arrow kept; (line, text) of each row it skipped for its number of
    fields, line 0 when it cannot be told).

    Fast path: as many line feeds after the header as rows (one vectorised count). Blank lines alone are
    mapped from the line feeds with numpy; quoted line breaks, skipped rows and other encodings go through
    Python's csv module.
    """
    lines, shaped = _record_lines(path, layout, rows, bool(misshapen))
    if lines is None:  # Python's csv module and Arrow disagree: number the rows by position rather than guess
        lines = np.arange(layout.header_lines + 1, layout.header_lines + 1 + rows, dtype=np.int64)
    if len(shaped) != len(misshapen):
        shaped = [(0, text) for text in misshapen]
    return lines, shaped


def _record_lines(
    path: Path, layout: CsvLayout, rows: int, misshapen: bool
) -> tuple[np.ndarray | None, list[tuple[int, str]]]:
    first = layout.header_lines + 1
    if layout.encoding in _BYTE_SCANNABLE and not misshapen and path.stat().st_size:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = _content_end(data)
            start = min(layout.data_offset, end)
            lines = sum(int(np.count_nonzero(chunk == ord("\n"))) for _, chunk in _chunks(data, start, end))
            if lines + (start < end) == rows:  # one line per row: the common case, one counting pass
                return np.arange(first, first + rows, dtype=np.int64), []
            if data.find(b'"', start, end) < 0 or not _quotes_span_lines(data, start, end):
                numbers = _nonblank_lines(data, start, end, layout.header_lines)
                if len(numbers) == rows:  # blank lines, but no cell spans lines
                    return numbers, []
    return _scan_records(path, layout, rows)


def _content_end(data: mmap.mmap) -> int:
    """Offset after the last byte that is not a line break (trailing blank lines are not rows)."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    return end


def _chunks(data: mmap.mmap, start: int, end: int) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, bytes as uint8) of ``data[start:end]`` in 16 MB pieces, without copying."""
    for offset in range(start, end, 1 << 24):
        yield offset, np.frombuffer(data, dtype=np.uint8, count=min(1 << 24, end - offset), offset=offset)


def _quotes_span_lines(data: mmap.mmap, start: int, end: int) -> bool:
    """True when a line break may sit inside quotes: some line has an odd number of quote characters."""
    odd = 0
    for _, chunk in _chunks(data, start, end):
        parity = np.cumsum(chunk == ord('"'), dtype=np.uint8)  # wraps at 256: the parity survives
        parity += np.uint8(odd)
        parity &= 1
        if parity[chunk == ord("\n")].any():
            return True
        odd = int(parity[-1])
    return bool(odd)


def _nonblank_lines(data: mmap.mmap, start: int, end: int, header_lines: int) -> np.ndarray:
    """Line numbers of the non-blank lines after the header (no cell spans lines here)."""
    breaks = [offset + np.flatnonzero(chunk == ord("\n")) for offset, chunk in _chunks(data, start, end)]
    feeds = np.concatenate([*breaks, np.array([end], dtype=np.int64)])
    begins = np.concatenate([np.array([start], dtype=np.int64), feeds[:-1] + 1])
    lengths = feeds - begins
    carriage = np.zeros(len(feeds), dtype=bool)
    has_text = lengths > 0
    carriage[has_text] = np.frombuffer(data, dtype=np.uint8)[feeds[has_text] - 1] == ord("\r")
    nonblank = lengths - carriage > 0
    return (header_lines + 1 + np.flatnonzero(nonblank)).astype(np.int64)


def _scan_records(path: Path, layout: CsvLayout, rows: int) -> tuple[np.ndarray | None, list[tuple[int, str]]]:
    """Record lines through Python's csv module (quotes as Arrow reads them); refuses an unclosed quote."""
    width = len(layout.names)
    kept: list[int] = []
    misshapen: list[tuple[int, str]] = []
    start = end = layout.header_lines
    try:
        with (
            _cell_limit(MAX_CELL_BYTES),
            path.open("r", encoding=layout.encoding, errors="replace", newline="") as handle,
        ):
            for _ in range(layout.header_lines):
                handle.readline()
            reader = csv.reader(handle, delimiter=layout.separator)
            for row in reader:
                start, end = end + 1, layout.header_lines + reader.line_num
                if not row:
                    continue
                if len(row) == width:
                    kept.append(start)
                else:
                    misshapen.append((start, layout.separator.join(row)))
    except csv.Error as error:
        if "field larger than field limit" not in str(error):
            return None, []
        raise InputFileError(
            f"{path}, line {end + 1}: a cell runs on for more than {MAX_CELL_BYTES >> 20} MB; most likely a quote "
            "opened on that line is never closed",
            hint="close the quote, or remove it",
        ) from None
    if end > start and _unclosed_quote(path, layout, start):
        raise _unclosed(path, start, end)
    if len(kept) != rows:  # the csv module and Arrow disagree: number rows by position rather than guess
        return None, misshapen
    return np.asarray(kept, dtype=np.int64), misshapen


def _unclosed_quote(path: Path, layout: CsvLayout, line: int) -> bool:
    """True when the row starting on ``line`` (the last one) ends inside a quoted cell."""
    with path.open("r", encoding=layout.encoding, errors="replace", newline="") as handle:
        for _ in range(line - 1):
            handle.readline()
        rest = handle.read(MAX_CELL_BYTES)
    try:
        with _cell_limit(MAX_CELL_BYTES):
            for _ in csv.reader(io.StringIO(rest), delimiter=layout.separator, strict=True):
                pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _unclosed(path: Path, start: int, end: int) -> InputFileError:
    return InputFileError(
        f"{path}, line {start}: a quote opened on this line is never closed, so lines {start}–{end} "
        "would be read as one cell",
        hint=f"close or remove the quote on line {start}",
    )


def _refuse_unclosed_quote(path: Path, layout: CsvLayout) -> None:
    """Arrow failed (a cell straddling its blocks, say): raise the unclosed-quote error when that is the cause."""
    with contextlib.suppress(UnicodeDecodeError, OSError):
        _scan_records(path, layout, -1)


def encoding_name(layout: CsvLayout) -> str:
    """The encoding as reports show it."""
    return ENCODING_NAMES.get(layout.encoding, layout.encoding)
