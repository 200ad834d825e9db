"""Excel workbooks: cell values through calamine, after checks that keep memory bounded.

calamine (Rust) reads a sheet about ten times faster than openpyxl, but it holds the sheet's whole used range
in memory, cell by cell, from its first to its last cell: one stray cell at XFD1048576 makes that 17 billion
cells. So the sheet's XML is streamed once first (decompressing it, nothing kept) to find how far its cells
reach and how large it really is; a sheet beyond :data:`MAX_SHEET_CELLS` or :data:`MAX_PART_BYTES` is refused
with a message instead of exhausting memory.
"""

from __future__ import annotations

import functools
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np

from crmkit.errors import InputFileError
from crmkit.ingest.dialect import HEADER_SEARCH_ROWS, find_header

#: Cells (rows × columns of the used range) a sheet may hold: about 120 bytes each while reading (calamine's
#: cells and the columns taken from them), so 2.5 GB at the most. A full sheet of 19 columns fits.
MAX_SHEET_CELLS = 20_000_000

#: Bytes a sheet's XML (or the workbook's shared strings) may take once decompressed.
MAX_PART_BYTES = 1 << 30

#: Blank space a sheet's XML may hold in one run (Excel writes none; padding is an attack or damage).
MAX_BLANK_BYTES = 64 << 20

#: Rows turned into arrays at a time.
ROWS_PER_BATCH = 1 << 16

#: Rows and columns of an Excel sheet.
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384

#: A row's number (``<row r="12" …>``, any namespace prefix); the literal start keeps the scan fast.
_ROW = re.compile(rb'row [^>]*?\br="(\d+)"')

_RESAVE = "open it in Excel and save it again as .xlsx, or export CSV"


@dataclass
class SheetRead:
    """The columns asked for (by position in the header), the sheet row of every data row, and the header."""

    title: str
    headers: list[str]
    #: 1-based sheet row of the header.
    header_row: int
    header_found: str
    columns: dict[int, np.ndarray]
    #: Sheet row (1-based) of each data row; fully blank rows are left out.
    rows: np.ndarray


def read_sheet(
    path: Path,
    sheet: str | None,
    aliases: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str],
    header_row: int | None,
    wanted: Callable[[list[str]], Sequence[int]],
) -> SheetRead:
    """Read the header and the columns ``wanted(headers)`` names (positions) from one sheet."""
    from python_calamine import CalamineError, CalamineWorkbook  # only Excel inputs pay for it

    title = _choose_sheet(path, sheet)
    try:
        book = CalamineWorkbook.from_path(str(path))
        values = book.get_sheet_by_name(title)
    except CalamineError as error:
        raise InputFileError(f"{path} is not a readable .xlsx workbook ({error})", hint=_RESAVE) from None
    first_row, first_column = values.start if values.start is not None else (0, 0)
    if values.height == 0 or values.width == 0:
        raise InputFileError(f"{path} (sheet {title!r}) is empty", hint="choose another sheet with sheet='NAME'")
    if first_column:  # the used range starts right of column A: pad so positions are sheet columns
        pad = [""] * first_column
        lines = (pad + row for row in values.iter_rows())
    else:
        lines = iter(values.iter_rows())  # type: ignore[arg-type]  # calamine's rows: a list per row either way
    head = list(islice(lines, max(HEADER_SEARCH_ROWS, (header_row or 0) - first_row)))
    if header_row is not None:
        index, found = header_row - 1 - first_row, "--header-row"
        if not 0 <= index < len(head):
            raise InputFileError(
                f"{path} (sheet {title!r}): header_row={header_row} is not among rows "
                f"{first_row + 1}–{first_row + len(head)}",
                hint="give the row number Excel shows at the left of the header",
            )
    else:
        detected = find_header(head, aliases, overrides)
        if detected is not None:
            index, found = detected[0], "detected"
        else:
            index, found = next((i for i, row in enumerate(head) if any(not _blank(v) for v in row)), 0), "first row"
    headers = [("" if _blank(v) else str(v).strip()) for v in head[index]]
    positions = [p for p in dict.fromkeys(wanted(headers)) if p < len(headers)]
    parts: dict[int, list[np.ndarray]] = {p: [] for p in positions}
    numbers: list[np.ndarray] = []
    data, number = chain(head[index + 1 :], lines), first_row + index + 2
    while batch := list(islice(data, ROWS_PER_BATCH)):  # vectorised in batches: bounded extra memory
        cells = np.array(batch, dtype=object).reshape(len(batch), -1)
        empty = cells == ""  # calamine's empty cell
        keep = ~empty.all(axis=1)  # fully blank rows are no rows, as in a CSV file
        numbers.append(np.arange(number, number + len(batch))[keep])
        for p in positions:
            column = cells[keep, p]
            column[empty[keep, p]] = None
            parts[p].append(column)
        number += len(batch)
    columns = {p: np.concatenate(parts[p]) if parts[p] else np.empty(0, dtype=object) for p in positions}
    rows = np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)
    _fill_merged(values.merged_cell_ranges or [], columns, rows)
    return SheetRead(title, headers, first_row + index + 1, found, columns, rows)


def _blank(value: object) -> bool:
    """An empty cell (calamine gives "")."""
    return value is None or value == ""


def _fill_merged(
    merged: Sequence[tuple[tuple[int, int], tuple[int, int]]], columns: dict[int, np.ndarray], rows: np.ndarray
) -> None:
    """Give every cell of a merged range below the header the value of its top-left cell, as Excel shows it
    (reports merge a customer's cells across the lines of one bill)."""
    for (top, left), (bottom, right) in merged:
        first = int(np.searchsorted(rows, top + 1, side="left"))
        end = int(np.searchsorted(rows, bottom + 1, side="right"))
        if left not in columns or first >= len(rows) or rows[first] != top + 1:
            continue  # the top-left cell is not read, or is in the header or above it
        value = columns[left][first]
        for p in range(left, right + 1):
            if p in columns:
                columns[p][first:end] = value


def zero_padding(path: Path, title: str, header_row: int, positions: dict[str, int]) -> dict[str, int]:
    """Widths of '0000000'-style number formats on id columns, so leading zeros the format hid come back.

    Only the first data row is parsed (openpyxl's read-only mode stops there)."""
    if not positions:
        return {}
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on unsupported extensions are not for the user
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                pads = {}
                for row in book[title].iter_rows(min_row=header_row + 1, max_row=header_row + 1):
                    for canonical, index in positions.items():
                        fmt = (getattr(row[index], "number_format", "") or "") if index < len(row) else ""
                        if len(fmt) > 1 and set(fmt) == {"0"}:
                            pads[canonical] = len(fmt)
                return pads
            finally:
                book.close()
    except Exception as error:  # openpyxl raises many kinds on a damaged part calamine could still read
        raise InputFileError(f"{path} is not a readable .xlsx workbook ({error})", hint=_RESAVE) from None


# --- checks before calamine -------------------------------------------------------------
def _choose_sheet(path: Path, sheet: str | None) -> str:
    """The sheet to read (``sheet``, else the first worksheet), after checking that the workbook is a sound zip of bounded size and that
    the sheet's cells stay within :data:`MAX_SHEET_CELLS`."""
    try:
        with zipfile.ZipFile(path) as archive:
            sheets = _worksheets(path, archive)
            if not sheets:
                raise InputFileError(
                    f"{path} has no worksheet (only charts or macros)", hint="save the data sheet as .xlsx or CSV"
                )
            if sheet is not None and sheet not in sheets:
                raise InputFileError(
                    f"{path} has no sheet {sheet!r}; sheets: {', '.join(sheets)}", hint="pick one with sheet='NAME'"
                )
            title = sheet if sheet is not None else next(iter(sheets))
            for name in ("xl/sharedStrings.xml", sheets[title]):
                if name in archive.namelist():
                    _check_part(path, archive, name, title if name == sheets[title] else None)
            return title
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,  # a compression method zipfile cannot read
        ElementTree.ParseError,
        KeyError,
        ValueError,
    ) as error:
        raise InputFileError(f"{path} is not a readable .xlsx workbook ({error})", hint=_RESAVE) from None


def _worksheets(path: Path, archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet title → XML part, in workbook order (chart sheets left out), found the way Excel does: the
    package's relationships name the workbook part, the workbook's name its sheets."""
    main = next(
        (
            rel.get("Target", "").lstrip("/")
            for rel in _small_xml(path, archive, "_rels/.rels").iter()
            if rel.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )
    folder = PurePosixPath(main).parent
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in _small_xml(path, archive, str(folder / "_rels" / f"{PurePosixPath(main).name}.rels")).iter()
        if rel.get("Id") and rel.get("Type", "").endswith("/worksheet")
    }
    sheets = {}
    for element in _small_xml(path, archive, main).iter():
        # The relationship id's namespace differs between transitional and strict OOXML: match any.
        rel = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
        if element.tag.endswith("}sheet") and rel in targets:
            target = targets[rel]
            sheets[element.get("name", "")] = target.lstrip("/") if target.startswith("/") else str(folder / target)
    return sheets


def _small_xml(path: Path, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    if archive.getinfo(name).file_size > 16 << 20:
        raise InputFileError(f"{path}: its {name} is implausibly large", hint=_RESAVE)
    return ElementTree.fromstring(archive.read(name))


def _check_part(path: Path, archive: zipfile.ZipFile, name: str, title: str | None) -> None:
    """Stream one XML part: refuse it past :data:`MAX_PART_BYTES`; for a sheet, refuse it as soon as its rows
    pass Excel's or its used range (rows × the rightmost column) passes :data:`MAX_SHEET_CELLS`."""
    if archive.getinfo(name).file_size > MAX_PART_BYTES:
        raise _too_large(path, name, archive.getinfo(name).file_size)
    size, numbered, counted, width, tail, blank = 0, 0, 0, 1, b"", 0
    with archive.open(name) as stream:
        while chunk := stream.read(1 << 22):
            size += len(chunk)
            if size > MAX_PART_BYTES:
                raise _too_large(path, name, size)
            blank = blank + len(chunk) if chunk.isspace() else 0
            if blank > MAX_BLANK_BYTES:  # the XML parser would hold the whole run as one piece of text
                raise InputFileError(
                    f"{path}: {name} holds over {MAX_BLANK_BYTES >> 20} MB of nothing but blank space",
                    hint="the file is damaged or padded: open it in Excel and save it again, or export CSV",
                )
            if title is None:
                continue
            data = tail + chunk
            numbered = max(numbered, max(map(int, _ROW.findall(data)), default=0))
            counted += chunk.count(b"<row") + chunk.count(b":row")
            if width == 1:  # the first rows show the columns in use; later chunks look only further right
                width = max([width, *(_column_number(c) for c in set(_ANY_CELL.findall(data[: 1 << 16])))])
            width = max([width, *(_column_number(letters) for letters in set(_further_cells(width).findall(data)))])
            tail = data[-64:]
            _check_range(path, title, max(numbered, counted), width)  # rows without a number follow the last


_ANY_CELL = re.compile(rb' r="([A-Z]{1,3})[0-9]')


@functools.lru_cache(maxsize=32)
def _further_cells(width: int) -> re.Pattern[bytes]:
    """Cell references right of column ``width``: few in any sheet, so the scan stays fast."""
    letters = rb"[A-Z]{2,3}" if width >= 26 else rb"[%c-Z]|[A-Z]{2,3}" % (ord("A") + width)
    return re.compile(rb' r="(' + letters + rb")[0-9]")


def _check_range(path: Path, title: str, rows: int, width: int) -> None:
    if rows > EXCEL_ROWS:
        raise InputFileError(
            f"{path} (sheet {title!r}): over {rows:,} rows, more than an Excel sheet holds ({EXCEL_ROWS:,}); "
            "the file is damaged or not written by Excel",
            hint="open it in Excel and save it again, or export CSV",
        )
    if rows * width > MAX_SHEET_CELLS:
        raise InputFileError(
            f"{path} (sheet {title!r}): its cells reach row {rows:,} and column {_column_letters(width)}: "
            f"{rows * width:,} cells to hold in memory, over the limit of {MAX_SHEET_CELLS:,}",
            hint="delete empty rows and columns after the data (Ctrl+End in Excel shows the last used cell) "
            "and save again, or export CSV, which has no such limit",
        )


def _too_large(path: Path, name: str, size: int) -> InputFileError:
    return InputFileError(
        f"{path}: {name} is over {size >> 20:,} MB once decompressed (the limit is {MAX_PART_BYTES >> 20:,} MB)",
        hint="export the data as CSV, which is read in blocks",
    )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
