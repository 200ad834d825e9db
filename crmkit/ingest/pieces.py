"""Transactions in pieces, for a distributed engine: every piece read, mapped, coerced and checked by the pandas
engine's own code, and a file cut into pieces only where that gives exactly what one read of the file gives.

A file no larger than a piece is read whole (:func:`crmkit.ingest.transactions.read_transaction_file`, every
decision made from the whole file). A larger one is cut — a CSV file into blocks of lines, a Parquet file into
row groups — and each piece is read with the file's dialect (encoding, separator, header row), decided once
from its first lines as a whole read decides it. A piece then reports what its own rows decided (column
types, decimal marks, the day/month order) and whether any of its rows depends on rows elsewhere in the file
(lines of an order that leave a column empty, amounts written once per order, rows of uneven length, cells
running over several lines, blank lines, bytes that are not the file's encoding). :func:`merge_reports` takes
the pieces of a file only when the whole file would have decided the same for every one of them; otherwise it
names the file, and the engine reads that file whole, exactly as the pandas engine does. Excel workbooks
cannot be cut and are refused.
"""

from __future__ import annotations

import contextlib
import glob
import io
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from crmkit.errors import CrmkitError, InputFileError
from crmkit.ingest import csvfile
from crmkit.ingest.columns import TRANSACTION_ALIASES, check_override_keys
from crmkit.ingest.dialect import check_decimal, forced_header
from crmkit.ingest.files import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES, SkippedFile, scan_inputs
from crmkit.ingest.numbers import DecimalEvidence, _decide, decimal_evidence, file_decimal
from crmkit.ingest.readers import (
    RawFile,
    _arrow_column,
    _as_text,
    _first_positions,
    _lossy,
    _mapping_or_fail,
    _sample,
    csv_dialect,
    release_arrow_buffers,
)
from crmkit.ingest.report import FileReport, IngestReport
from crmkit.ingest.status import StatusRules
from crmkit.ingest.transactions import (
    EXAMPLES_PER_REASON,
    TRANSACTION_NUMBER_COLUMNS,
    TRANSACTION_TEXT_COLUMNS,
    FileRead,
    canonical_transactions,
    count_excluded,
    ingest_report,
    read_transaction_file,
)
from crmkit.schema import (
    CUSTOMER_ID,
    ORDER_DATE,
    ORDER_ID,
    REASON_AMOUNT,
    REASON_DATE,
    REASON_ID,
    REQUIRED_TRANSACTION_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    STATUS,
)

#: Bytes of CSV per piece, and rows of Parquet per piece (row groups are never split). A file no larger is
#: read whole.
CSV_PIECE_BYTES = 64 << 20
PARQUET_PIECE_ROWS = 1_000_000
#: Bytes of a remote CSV file fetched to decide its dialect: more than the sniffer ever reads.
HEAD_BYTES = csvfile.PREVIEW_BYTES + (2 << 20)


@dataclass(frozen=True)
class ReadSettings:
    """How the transactions are read: the command line's reading options."""

    #: Column overrides (canonical → header), as ``--col`` and ``[columns]`` give them.
    columns: Mapping[str, str] = field(default_factory=dict)
    date_order: str | None = None
    header_row: int | None = None
    decimal: str | None = None
    status: StatusRules = field(default_factory=StatusRules)
    #: fsspec options for URLs (s3://, gs://, abfs://).
    storage_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InputFile:
    """One input file and what was decided about it before any piece is read."""

    #: Position among the inputs.
    index: int
    #: As reports name it: a local path or a URL.
    path: str
    format: str
    size: int
    #: Canonical column → header, and every header of the file.
    mapping: Mapping[str, str]
    headers: tuple[str, ...]
    #: CSV: the dialect of the file (encoding, separator, header row), decided on its first lines.
    layout: csvfile.CsvLayout | None = None
    #: Parquet: rows of each row group.
    group_rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class Piece:
    """One piece of one input file: its place in the input order, and which bytes or row groups it holds."""

    index: int
    file: InputFile
    #: 0, 1, … for pieces of a cut file; -1 for a file read whole.
    part: int = -1
    #: CSV: the lines starting in bytes [start, stop); Parquet: row groups [start, stop).
    start: int = 0
    stop: int = 0
    #: Parquet: the file row (0-based) of the piece's first row.
    first_row: int = 0

    @property
    def whole(self) -> bool:
        return self.part < 0

    @property
    def last(self) -> bool:
        return self.whole or self.stop >= (self.file.size if self.file.format == "csv" else len(self.file.group_rows))


@dataclass(frozen=True)
class PieceCheck:
    """What a piece of a cut file decided by itself, and whether it needs the rest of the file."""

    #: Why the piece cannot be read on its own (None when it can).
    depends: str | None
    #: Arrow type of each mapped column as read.
    types: Mapping[str, str]
    #: What each number column written as text says about its decimal mark.
    evidence: Mapping[str, DecimalEvidence]
    #: Line feeds in the piece's bytes (CSV): the lines before the next piece.
    line_feeds: int = 0


@dataclass
class PieceReport:
    """What one piece read and dropped, with rows counted from the piece's first line (a whole file: the file's
    lines), and its check (None for a file read whole)."""

    piece: Piece
    file: FileReport
    drop_counts: dict[str, int]
    examples: list[dict[str, Any]]
    #: Excluded (status, order) lines.
    excluded: pd.DataFrame
    check: PieceCheck | None


@dataclass
class PieceRead:
    """One piece's usable rows (canonical columns and ``source_row``), its report, every customer id in it (the
    ids of dropped rows too) and, when asked for, the text of its other columns per usable row."""

    frame: pd.DataFrame
    report: PieceReport
    ids: pd.Index
    others: pd.DataFrame | None = None
    #: Every dropped row as the pandas engine's rejects list it (rows counted as in ``report``).
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)


# --- planning --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """The pieces of every input, in input order, and what input folders held that is not read."""

    pieces: list[Piece]
    skipped: list[SkippedFile]

    @property
    def local_paths(self) -> list[Path]:
        """The inputs on this machine's disks (outputs may never replace one of them)."""
        return [Path(p) for p in dict.fromkeys(piece.file.path for piece in self.pieces) if "://" not in p]


def plan_pieces(
    sources: Sequence[str | Path],
    settings: ReadSettings = ReadSettings(),
    *,
    csv_piece_bytes: int = CSV_PIECE_BYTES,
    parquet_piece_rows: int = PARQUET_PIECE_ROWS,
) -> Plan:
    """The pieces of every input (files, folders, globs, URLs): headers are found and mapped here, so a file
    without the needed columns is refused before any work starts."""
    check_override_keys(settings.columns, TRANSACTION_ALIASES)
    check_decimal(settings.decimal)
    forced_header(settings.header_row)
    files, skipped = _files(sources, settings.storage_options)
    pieces: list[Piece] = []
    for index, path in enumerate(files):
        suffix = Path(path.split("://", 1)[-1]).suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            raise InputFileError(
                f"{path}: Excel workbooks cannot be read in pieces by --engine dask",
                hint="save the sheet as CSV or Parquet, or use --engine pandas",
            )
        if suffix in PARQUET_SUFFIXES:
            file = _parquet_file(index, path, settings)
            pieces += _parquet_pieces(file, len(pieces), parquet_piece_rows)
        elif suffix in CSV_SUFFIXES:
            file = _csv_file(index, path, settings)
            pieces += _csv_pieces(file, len(pieces), csv_piece_bytes)
        else:
            raise InputFileError(f"{path}: unsupported file type {suffix or '(none)'!r}", hint="use CSV or Parquet")
    return Plan(pieces, skipped)


def _files(sources: Sequence[str | Path], storage_options: Mapping[str, Any]) -> tuple[list[str], list[SkippedFile]]:
    """Files as given; folders (as the pandas engine scans them) and globs expanded; URLs through fsspec."""
    local: list[Path] = []
    remote: list[str] = []
    for source in map(str, sources):
        if "://" in source:
            remote += _remote_files(source, storage_options)
        elif any(c in source for c in "*?["):
            found = sorted(glob.glob(source))
            if not found:
                raise InputFileError(f"{source} matches no file", hint="check the pattern (quote it for the shell)")
            local += map(Path, found)
        else:
            local.append(Path(source))
    scanned = scan_inputs(local) if local else None
    files = [str(p) for p in scanned.files] if scanned else []
    return files + remote, list(scanned.skipped) if scanned else []


def _remote_files(source: str, storage_options: Mapping[str, Any]) -> list[str]:
    fs, path = filesystem(source, storage_options)
    protocol = source.split("://", 1)[0]
    if any(c in path for c in "*?["):
        found = sorted(fs.glob(path))
    elif fs.isdir(path):
        found = sorted(p for p in fs.find(path) if Path(p).suffix.lower() in (*CSV_SUFFIXES, *PARQUET_SUFFIXES))
    else:
        found = [path] if fs.exists(path) else []
    if not found:
        raise InputFileError(f"{source} matches no file", hint="check the URL and --storage-option settings")
    return [p if "://" in p else f"{protocol}://{p}" for p in found]


def filesystem(path: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem of a path or URL, and the path on it."""
    import fsspec  # installed with the dask extra

    try:
        return fsspec.core.url_to_fs(path, **storage_options)
    except (ImportError, ValueError) as error:
        raise InputFileError(f"{path}: cannot open ({error})", hint="install the filesystem package it names") from None


def _parquet_file(index: int, path: str, settings: ReadSettings) -> InputFile:
    fs, local = filesystem(path, settings.storage_options)
    with fs.open(local, "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
    schema = metadata.schema.to_arrow_schema()
    mapping = _on_path(
        path,
        Path(path),
        lambda: _mapping_or_fail(Path(path), schema.names, TRANSACTION_ALIASES, settings.columns, REQUIRED_COLUMNS),
    )
    for canonical, header in mapping.items():
        if pa.types.is_nested(schema.field(header).type):
            raise InputFileError(
                f"{path}: column {header!r} (read as {canonical}) holds nested values, not one value a row",
                hint=f"flatten it when writing the file, or name another column with --col {canonical}=HEADER",
            )
    groups = tuple(metadata.row_group(g).num_rows for g in range(metadata.num_row_groups))
    return InputFile(index, path, "parquet", fs.size(local), mapping, tuple(schema.names), group_rows=groups)


REQUIRED_COLUMNS = REQUIRED_TRANSACTION_COLUMNS


def _parquet_pieces(file: InputFile, start: int, piece_rows: int) -> list[Piece]:
    if sum(file.group_rows) <= piece_rows or len(file.group_rows) < 2:
        return [Piece(start, file)]
    pieces: list[Piece] = []
    first, rows, begin = 0, 0, 0
    for group, count in enumerate(file.group_rows):
        rows += count
        if rows >= piece_rows or group == len(file.group_rows) - 1:
            pieces.append(Piece(start + len(pieces), file, len(pieces), begin, group + 1, first))
            first, rows, begin = first + rows, 0, group + 1
    return pieces


def _csv_file(index: int, path: str, settings: ReadSettings) -> InputFile:
    """A CSV file's dialect, decided on its first lines by the pandas engine's sniffer."""
    with local_head(path, settings.storage_options) as (head, size):
        layout = _on_path(
            path, head, lambda: csvfile.sniff(head, TRANSACTION_ALIASES, settings.columns, settings.header_row)
        )
        mapping = _on_path(
            path,
            head,
            lambda: _mapping_or_fail(
                head, [h for h in layout.headers if h], TRANSACTION_ALIASES, settings.columns, REQUIRED_COLUMNS
            ),
        )
    return InputFile(index, path, "csv", size, mapping, tuple(layout.headers), layout=layout)


def _csv_pieces(file: InputFile, start: int, piece_bytes: int) -> list[Piece]:
    """Byte ranges of about ``piece_bytes`` after the header; one whole piece for a small file, or a file whose
    bytes cannot be cut at line feeds (UTF-16)."""
    layout = file.layout
    assert layout is not None
    data = file.size - layout.data_offset
    if data <= piece_bytes or layout.encoding not in csvfile._BYTE_SCANNABLE:
        return [Piece(start, file)]
    bounds = [*range(layout.data_offset, file.size, piece_bytes), file.size]
    return [Piece(start + i, file, i, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


@contextlib.contextmanager
def local_head(path: str, storage_options: Mapping[str, Any]) -> Iterator[tuple[Path, int]]:
    """A local file holding the first bytes of ``path`` (the file itself when it is local), and its size."""
    if "://" not in path:
        yield Path(path), Path(path).stat().st_size
        return
    fs, remote = filesystem(path, storage_options)
    with tempfile.TemporaryDirectory(prefix="crmkit-") as folder:
        head = Path(folder) / Path(remote).name
        with fs.open(remote, "rb") as source:
            head.write_bytes(source.read(HEAD_BYTES))
        yield head, fs.size(remote)


@contextlib.contextmanager
def local_copy(path: str, storage_options: Mapping[str, Any]) -> Iterator[Path]:
    """A local copy of ``path`` (the file itself when it is local)."""
    if "://" not in path:
        yield Path(path)
        return
    fs, remote = filesystem(path, storage_options)
    with tempfile.TemporaryDirectory(prefix="crmkit-") as folder:
        copy = Path(folder) / Path(remote).name
        with fs.open(remote, "rb") as source, copy.open("wb") as target:
            shutil.copyfileobj(source, target, 8 << 20)
        yield copy


def _on_path(path: str, local: Path, work: Any) -> Any:
    """``work()``, with errors naming ``path`` where they name its local copy."""
    try:
        return work()
    except CrmkitError as error:
        if str(local) == path:
            raise
        message = error.message.replace(str(local), path)
        raise type(error)(message, hint=error.hint) from None


# --- reading a piece ---------------------------------------------------------------------------
def read_piece(piece: Piece, settings: ReadSettings, *, others: bool = False) -> PieceRead:
    """Read one piece as the pandas engine reads a file; ``others`` also gives the text of the file's other
    columns for every usable row (what decides whether a line repeats another). A piece of a cut file that
    fails to read on its own reports why in its check instead of raising: its file is then read whole."""
    if piece.whole:
        return _whole(piece, settings, others)
    try:
        raw, check = _raw_piece(piece, settings)
        frame, dropped, excluded = canonical_transactions(raw, settings.date_order, settings.decimal, settings.status)
    except (CrmkitError, pa.ArrowInvalid, UnicodeDecodeError) as error:
        failed = PieceCheck(f"its rows alone cannot be read ({error})", {}, {})
        empty = FileReport(piece.file.path, piece.file.format, mapping=dict(piece.file.mapping))
        report = PieceReport(piece, empty, {}, [], pd.DataFrame({"status": [], "order": []}), failed)
        return PieceRead(pd.DataFrame(), report, pd.Index([], dtype="str"))
    release_arrow_buffers()
    depends = check.depends or _order_lines_depend(frame, dropped, piece.file.mapping)
    report = _piece_report(piece, raw.report, frame, dropped, excluded, replace(check, depends=depends))
    text = _other_text(piece, settings, frame) if others else None
    return PieceRead(frame.drop(columns=[SOURCE_FILE]), report, frame[CUSTOMER_ID].cat.categories, text, dropped)


def _whole(piece: Piece, settings: ReadSettings, others: bool) -> PieceRead:
    """A file read whole, by the pandas engine's reader."""
    path = piece.file.path
    with local_copy(path, settings.storage_options) as local:
        read = _on_path(
            path,
            local,
            lambda: read_transaction_file(
                local,
                settings.columns,
                date_order=settings.date_order,
                header_row=settings.header_row,
                decimal=settings.decimal,
                rules=settings.status,
            ),
        )
        text = read.by_line(read.frame[SOURCE_ROW].to_numpy()) if others else None
    if str(local) != path:
        read = _renamed(read, str(local), path)
    report = _piece_report(piece, read.report, read.frame, read.dropped, read.excluded, None)
    return PieceRead(
        read.frame.drop(columns=[SOURCE_FILE]), report, read.frame[CUSTOMER_ID].cat.categories, text, read.dropped
    )


def _renamed(read: FileRead, local: str, path: str) -> FileRead:
    """A read of a local copy, naming the file it copies."""
    report = replace(read.report, path=path, warnings=[w.replace(local, path) for w in read.report.warnings])
    return replace(read, report=report)


def _raw_piece(piece: Piece, settings: ReadSettings) -> tuple[RawFile, PieceCheck]:
    """The piece's mapped columns as stored, like :func:`crmkit.ingest.readers.read_mapped` reads a file."""
    file = piece.file
    fs, local = filesystem(file.path, settings.storage_options)
    if file.format == "parquet":
        with fs.open(local, "rb") as handle:
            table = pq.ParquetFile(handle).read_row_groups(
                list(range(piece.start, piece.stop)), columns=list(dict.fromkeys(file.mapping.values()))
            )
        columns = {c: _arrow_column(table.column(h)) for c, h in file.mapping.items()}
        lines = np.arange(1, table.num_rows + 1, dtype=np.int64)  # counted from the piece's first row
        report = FileReport(file.path, "parquet", rows=table.num_rows, mapping=dict(file.mapping))
        types = {c: str(table.column(h).type) for c, h in file.mapping.items()}
        return RawFile(columns, report, lines, list(file.headers)), PieceCheck(None, types, _evidence(columns))
    return _csv_piece(piece, fs, local, settings)


def _csv_piece(piece: Piece, fs: Any, local: str, settings: ReadSettings) -> tuple[RawFile, PieceCheck]:
    """A block of whole lines of a CSV file, read with the file's layout as :func:`readers._read_csv` reads the
    whole file (typed where Arrow can, text for text columns and for numbers a typed read could misread)."""
    file, layout = piece.file, piece.file.layout
    assert layout is not None
    data = _block(fs, local, piece)
    position = _first_positions(layout.headers)
    name = {c: layout.names[position[h]] for c, h in file.mapping.items()}
    include = list(dict.fromkeys(name.values()))
    text = {name[c]: pa.string() for c in TRANSACTION_TEXT_COLUMNS if c in file.mapping}
    numbers = {name[c] for c in TRANSACTION_NUMBER_COLUMNS if c in file.mapping}
    table, misshapen = _read_block(data, layout, include, text)
    lossy = [
        n
        for n in include
        if n not in text and _lossy(table.column(n).type, _sample(layout, n), n in numbers, settings.decimal)
    ]
    if lossy:
        text.update({n: pa.string() for n in lossy})
        table, misshapen = _read_block(data, layout, include, text)
    columns = {c: _arrow_column(table.column(n)) for c, n in name.items()}
    feeds, line_count, spanning = _lines(data, piece.last)
    depends = None
    if misshapen:
        depends = f"{len(misshapen):,} row(s) with a different number of fields"
    elif spanning:
        depends = "quotes that may hold line breaks"
    elif line_count != table.num_rows:
        depends = "blank lines"
    dialect = csv_dialect(layout)
    report = FileReport(
        file.path,
        "tsv" if layout.separator == "\t" else "csv",
        rows=table.num_rows,
        mapping=dict(file.mapping),
        dialect=dialect,
    )
    types = {c: str(table.column(n).type) for c, n in name.items()}
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)  # counted from the piece's first line
    return (
        RawFile(columns, report, lines, list(layout.headers)),
        PieceCheck(depends, types, _evidence(columns), feeds),
    )


def _block(fs: Any, local: str, piece: Piece) -> bytes:
    """The lines of a CSV file that start in bytes [start, stop): from the first line start at or after
    ``start`` up to the first line start at or after ``stop``."""
    with fs.open(local, "rb") as handle:
        begin = _line_start(handle, piece.start)
        end = _line_start(handle, piece.stop) if piece.stop < piece.file.size else piece.file.size
        handle.seek(begin)
        return handle.read(end - begin)


def _line_start(handle: Any, offset: int) -> int:
    """The first offset at or after ``offset`` where a line starts (just after a line feed)."""
    handle.seek(offset - 1)
    position = offset - 1
    while chunk := handle.read(1 << 16):
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
    return position


def _read_block(
    data: bytes, layout: csvfile.CsvLayout, include: list[str], text: Mapping[str, pa.DataType]
) -> tuple[pa.Table, list[str]]:
    """Arrow's read of whole CSV lines with the file's layout (the header is not among them)."""
    misshapen: list[str] = []

    def skip(row: pa_csv.InvalidRow) -> str:
        misshapen.append(row.text)
        return "skip"

    if not data.strip(b"\r\n"):
        return pa.table({n: pa.array([], type=pa.null()) for n in include}), []
    read = pa_csv.ReadOptions(
        encoding="utf8" if layout.encoding.startswith("utf-8") else layout.encoding,
        block_size=csvfile.CSV_BLOCK_BYTES,
        column_names=layout.names,
    )
    parse = pa_csv.ParseOptions(delimiter=layout.separator, newlines_in_values=True, invalid_row_handler=skip)
    convert = pa_csv.ConvertOptions(
        include_columns=include,
        column_types=dict(text),
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    table = pa_csv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert)
    if any(pa.types.is_binary(kind) for kind in table.schema.types):
        raise pa.ArrowInvalid("invalid UTF8 in a column typed as binary")
    return table, misshapen


def _lines(data: bytes, last: bool) -> tuple[int, int, bool]:
    """(line feeds in the block; its lines that are not blank — what Arrow reads as rows when no cell runs over
    lines —; whether a quote may hold a line break: some line has an odd number of quote characters). The
    last block's trailing line breaks end the file, as in :func:`crmkit.ingest.csvfile.record_lines`."""
    feeds = data.count(b"\n")
    content = data.rstrip(b"\r\n") if last else data
    breaks, odd = [], 0
    for offset in range(0, len(content), 1 << 24):  # 16 MB at a time, no copy
        chunk = np.frombuffer(content, dtype=np.uint8, count=min(1 << 24, len(content) - offset), offset=offset)
        at = np.flatnonzero(chunk == ord("\n"))
        parity = np.cumsum(chunk == ord('"'), dtype=np.uint8)  # wraps at 256: the parity survives
        parity += np.uint8(odd)
        parity &= 1
        if parity[at].any():
            return feeds, 0, True
        odd = int(parity[-1])
        breaks.append(at + offset)
    if odd:
        return feeds, 0, True
    ends = np.concatenate([*breaks, np.array([len(content)], dtype=np.int64)])
    starts = np.concatenate(([0], ends[:-1] + 1))
    if not last:  # the block ends with a line feed: nothing after it
        starts, ends = starts[:-1], ends[:-1]
    lengths = ends - starts
    body = np.frombuffer(content, dtype=np.uint8)
    carriage = np.zeros(len(ends), dtype=bool)
    filled = lengths > 0
    carriage[filled] = body[ends[filled] - 1] == ord("\r")
    lines = int(np.count_nonzero(lengths - carriage > 0)) if len(content) else 0
    return feeds, lines if lines == len(ends) or not len(content) else -1, False


def _evidence(columns: Mapping[str, pd.Series]) -> dict[str, DecimalEvidence]:
    """What each number column written as text says about its decimal mark."""
    return {c: decimal_evidence(columns[c]) for c in TRANSACTION_NUMBER_COLUMNS if c in columns}


def _order_lines_depend(frame: pd.DataFrame, dropped: pd.DataFrame, mapping: Mapping[str, str]) -> str | None:
    """Why rows of an order may take values from lines in other pieces: lines of an order dropped for an empty
    customer, date or amount (another line of the order may fill them in, or carry the order's amount), or kept
    without a status (the order's status may be on another line)."""
    if ORDER_ID not in mapping:
        return None
    if len(dropped) and ORDER_ID in dropped.columns:
        on_order = (dropped[ORDER_ID].astype("str").str.strip() != "").to_numpy()
        empty = dropped["value"].astype("str").map(lambda v: not unicodedata.normalize("NFKC", v).strip())
        reason = dropped["reason"]
        open_lines = (reason == REASON_ID) | (reason.isin((REASON_DATE, REASON_AMOUNT)) & empty)
        if (open_lines.to_numpy() & on_order).any():
            return "lines of an order without a customer, date or amount"
    if STATUS in frame.columns and (frame[STATUS].isna() & frame[ORDER_ID].notna()).any():
        return "lines of an order without a status"
    return None


def _piece_report(
    piece: Piece,
    file: FileReport,
    frame: pd.DataFrame,
    dropped: pd.DataFrame,
    excluded: pd.DataFrame,
    check: PieceCheck | None,
) -> PieceReport:
    """The piece's drop counts, the first examples of each reason, and its excluded lines."""
    counts: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    if len(dropped):
        ordered = dropped.sort_values(SOURCE_ROW, kind="stable")
        for reason, group in ordered.groupby("reason", sort=False):
            counts[str(reason)] = len(group)
            examples += [
                {"row": int(cast(int, r.source_row)), "column": r.column, "value": r.value, "reason": str(reason)}
                for r in group.head(EXAMPLES_PER_REASON).itertuples(index=False)
            ]
    if check is not None and file.dialect.order_totals:
        check = replace(check, depends=check.depends or "amounts written once per order")
    return PieceReport(piece, file, counts, examples, excluded, check)


def _other_text(piece: Piece, settings: ReadSettings, frame: pd.DataFrame) -> pd.DataFrame:
    """The text of the piece's unmapped columns for each usable row, as the pandas engine reads them back."""
    file = piece.file
    fs, local = filesystem(file.path, settings.storage_options)
    rows = frame[SOURCE_ROW].to_numpy().astype(np.int64) - 1  # positions in the piece
    if file.format == "parquet":
        names = [n for n in file.headers if n not in file.mapping.values()]
        if not names:
            return pd.DataFrame(index=range(len(frame)))
        with fs.open(local, "rb") as handle:
            table = pq.ParquetFile(handle).read_row_groups(list(range(piece.start, piece.stop)), columns=names)
        picked = table.take(pa.array(rows))
        return _as_text(pd.DataFrame({n: pd.Series(picked.column(n).to_pylist(), dtype=object) for n in names}))
    layout = file.layout
    assert layout is not None
    mapped = {layout.names[_first_positions(layout.headers)[h]] for h in file.mapping.values()}
    names = [n for n in layout.names if n not in mapped]
    if not names:
        return pd.DataFrame(index=range(len(frame)))
    table, _ = _read_block(_block(fs, local, piece), layout, names, {n: pa.string() for n in names})
    return _as_text(table.take(pa.array(rows)).to_pandas())


# --- merging the pieces' reports ---------------------------------------------------------------
@dataclass
class MergedReport:
    """The ingest report of every piece, each piece's first line in its file (rows of a piece's report and
    frame count from it), the excluded orders, and the files whose pieces must be read whole instead."""

    report: IngestReport | None
    line_offsets: dict[int, int]
    reread: dict[str, str]


def merge_reports(
    reports: Sequence[PieceReport],
    *,
    decimal: str | None = None,
    extra_counts: Mapping[str, int] | None = None,
    extra_examples: Sequence[dict[str, Any]] = (),
    extra_warnings: Sequence[str] = (),
) -> MergedReport:
    """The report the pandas engine gives for the same files: drop counts and reasons in its order, the first
    examples of each reason by file and line, the files' own reports, excluded orders and warnings. Files whose
    pieces cannot stand for one read of the file are listed in ``reread`` (path → why) instead. ``decimal`` is
    the decimal mark given (``--decimal``), if any. ``extra_*``
    adds what is found once the rows are gathered (repeated lines, their examples with ``file`` and ``row``,
    notes about customers)."""
    by_file: dict[str, list[PieceReport]] = {}
    for part in sorted(reports, key=lambda r: r.piece.index):
        by_file.setdefault(part.piece.file.path, []).append(part)
    files: list[FileReport] = []
    offsets: dict[int, int] = {}
    reread: dict[str, str] = {}
    counts: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}
    for path, parts in by_file.items():
        if parts[0].check is not None:
            why = _why_reread(parts, decimal)
            if why is not None:
                reread[path] = why
                continue
        file, file_offsets = _merge_file(parts, decimal)
        files.append(file)
        offsets.update(file_offsets)
        for part in parts:
            for reason, n in part.drop_counts.items():
                counts[reason] = counts.get(reason, 0) + n
            first = file_offsets[part.piece.index]
            examples += [{"file": path, **e, "row": e["row"] + first} for e in part.examples]
        for key, n in count_excluded(_excluded_lines(parts, file_offsets)).items():
            excluded[key] = excluded.get(key, 0) + n
    if reread:
        return MergedReport(None, offsets, reread)
    for reason, n in (extra_counts or {}).items():
        counts[reason] = counts.get(reason, 0) + n
    examples += list(extra_examples)
    # As the pandas engine lists them: by file and row, grouped by reason in order of first appearance.
    examples.sort(key=lambda e: (e["file"], e["row"]))
    reasons = list(dict.fromkeys([*(e["reason"] for e in examples), *counts]))
    kept = [e for reason in reasons for e in [e for e in examples if e["reason"] == reason][:EXAMPLES_PER_REASON]]
    rows_read = sum(f.rows for f in files)
    dropped = sum(counts.values())
    report = ingest_report(
        files, {r: counts[r] for r in reasons}, kept, rows_used=rows_read - dropped, excluded=excluded
    )
    report.warnings.extend(extra_warnings)
    return MergedReport(report, offsets, {})


def _why_reread(parts: list[PieceReport], decimal: str | None) -> str | None:
    """Why the pieces of one file do not give what one read of it gives (None when they do)."""
    for part in parts:
        assert part.check is not None
        if part.check.depends:
            return part.check.depends
    if any(not _types_agree(column, kinds) for column, kinds in _types(parts).items()):
        return "columns read as different types in different parts"
    if _file_decimals(parts, decimal) is None:
        return "decimal marks decided differently in different parts"
    orders = {p.file.dialect.date_order for p in parts if _date_evidence(p) is not None}
    if len(orders) > 1:
        return "day/month orders decided differently in different parts"
    for part in parts:
        if _unexplained_warnings(part):
            return "notes about rows of the file"
    return None


def _types(parts: list[PieceReport]) -> dict[str, set[str]]:
    """The Arrow types each mapped column was read as in the pieces (a column empty in a piece reads as
    missing whatever its type, and is left out)."""
    types: dict[str, set[str]] = {}
    for part in parts:
        for column, kind in part.check.types.items() if part.check is not None else ():
            if kind != "null":
                types.setdefault(column, set()).add(kind)
    return types


#: Arrow types of whole numbers and decimals (the whole file reads both as decimals: the same values).
_NUMBER_TYPES = frozenset({"int64", "double"})


def _types_agree(column: str, kinds: set[str]) -> bool:
    """Whether pieces that read ``column`` as ``kinds`` give the values one read of the file gives. Arrow reads
    a whole file with the loosest type its values need, so pieces agree when they read one type; whole numbers
    beside decimals give the same numbers; dates Arrow typed are ISO dates, which read alike as text."""
    if len(kinds) <= 1 or (column in TRANSACTION_NUMBER_COLUMNS and kinds <= _NUMBER_TYPES):
        return True
    return column == ORDER_DATE and all(_date_like(kind) or kind == "string" for kind in kinds)


def _date_like(kind: str) -> bool:
    return kind.startswith(("timestamp", "date"))


def _file_decimals(parts: list[PieceReport], decimal: str | None) -> dict[str, str] | None:
    """The decimal mark of each number column written as text, as one read of the file decides it from all its
    values; None when a piece read one with another mark (or the whole file would be refused)."""
    first = parts[0]
    mapping = first.file.mapping
    merged: dict[str, DecimalEvidence] = {}
    for column in first.check.evidence if first.check is not None else {}:
        found = [p.check.evidence[column] for p in parts if p.check is not None and column in p.check.evidence]
        merged[column] = DecimalEvidence(
            next((e.dot for e in found if e.dot is not None), None),
            next((e.comma for e in found if e.comma is not None), None),
            next((e.either for e in found if e.either is not None), None),
        )
    fallback = file_decimal(merged.values(), first.file.dialect.separator)
    decided: dict[str, str] = {}
    for column, evidence in merged.items():
        header = mapping[column]
        used = {p.file.dialect.decimal[header] for p in parts if header in p.file.dialect.decimal}
        if not used:
            continue  # no mark written in the column: its values read alike either way
        try:
            mark = decimal or _decide(evidence, fallback, "")
        except CrmkitError:
            return None
        if used != {mark}:
            return None
        decided[header] = mark
    return decided


#: How a piece's note on the day/month order starts (``<path>: dates read as dmy (… only fits day/month)``).
_DATES_READ_AS = "dates read as "


def _date_evidence(part: PieceReport) -> str | None:
    """The piece's note saying which day/month order its dates settle, if it has one."""
    prefix = f"{part.file.path}: {_DATES_READ_AS}"
    return next((w for w in part.file.warnings if w.startswith(prefix)), None)


def _amounts_note(part: PieceReport) -> str | None:
    """The piece's note on the file's other amount columns (it names headers only: every piece has it)."""
    return part.file.warnings[-1] if part.file.dialect.other_amounts and part.file.warnings else None


def _unexplained_warnings(part: PieceReport) -> bool:
    """Whether the piece noted anything about its rows beyond the day/month order and the amount columns (a
    count of such rows would differ from the whole file's)."""
    known = [w for w in (_date_evidence(part), _amounts_note(part)) if w is not None]
    return list(part.file.warnings) != known


def _merge_file(parts: list[PieceReport], decimal: str | None) -> tuple[FileReport, dict[int, int]]:
    """One file's report from its pieces' (a file read whole has one), and each piece's first line."""
    first = parts[0]
    if first.check is None:
        return first.file, {first.piece.index: 0}
    layout = first.piece.file.layout
    offsets: dict[int, int] = {}
    line = layout.header_lines if layout is not None else 0
    for part in parts:
        offsets[part.piece.index] = line if layout is not None else part.piece.first_row
        line += part.check.line_feeds if part.check is not None else 0
    decimals = _file_decimals(parts, decimal) or {}
    # Dates some pieces read typed are ISO text where the whole file reads the column as text.
    as_text = "string" in _types(parts).get(ORDER_DATE, set())
    styles: dict[str, int] = {}
    for part in parts:
        for style, n in part.file.dialect.date_styles.items():
            style = "iso" if as_text and style == "date" else style
            styles[style] = styles.get(style, 0) + n
    evidence = next((w for w in map(_date_evidence, parts) if w is not None), None)
    order = next((p.file.dialect.date_order for p in parts if _date_evidence(p) is not None), None)
    if order is None:
        order = next((p.file.dialect.date_order for p in parts if p.file.dialect.date_order), None)
    dialect = replace(
        first.file.dialect,
        decimal=decimals,
        date_styles=dict(sorted(styles.items(), key=lambda item: -item[1])),
        date_order=order,
    )
    amounts = next((w for w in map(_amounts_note, parts) if w is not None), None)
    file = FileReport(
        first.file.path,
        first.file.format,
        rows=sum(p.file.rows for p in parts),
        mapping=dict(first.file.mapping),
        dialect=dialect,
        warnings=[w for w in (evidence, amounts) if w is not None],
    )
    return file, offsets


def _excluded_lines(parts: list[PieceReport], offsets: Mapping[int, int]) -> pd.DataFrame:
    """The excluded (status, order) lines of a file's pieces in line order; lines without an order id are named
    by their line in the file."""
    frames = []
    for part in parts:
        lines = part.excluded
        if ORDER_ID not in part.piece.file.mapping and len(lines):
            lines = lines.assign(order=lines["order"].astype(np.int64) + offsets[part.piece.index])
        frames.append(lines)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"status": [], "order": []})


def whole_files(pieces: Sequence[Piece], paths: Mapping[str, str]) -> list[Piece]:
    """One whole piece for each file in ``paths``, in place of its pieces (it takes its first piece's index)."""
    whole: list[Piece] = []
    done: set[str] = set()
    for piece in pieces:
        if piece.file.path in paths and piece.file.path not in done:
            done.add(piece.file.path)
            whole.append(Piece(piece.index, piece.file))
    return whole
