"""Transactions in pieces, for a distributed engine: files, folders, globs and fsspec URLs cut into pieces that
workers read on their own, each mapped and checked exactly as :func:`crmkit.ingest.load_transactions` would.

A piece is a block of a CSV file (cut at line ends) or some row groups of a Parquet file. Every piece reports
what it read and dropped; :func:`merge_reports` adds the reports up into the usual :class:`IngestReport`, with
row numbers counted from the start of each file. Excel workbooks cannot be cut into pieces and are refused.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from crmkit.errors import InputFileError
from crmkit.ingest.columns import TRANSACTION_ALIASES, check_override_keys
from crmkit.ingest.files import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES, expand_paths
from crmkit.ingest.readers import RawFile, _arrow_column, _mapping_or_fail, encoding_of
from crmkit.ingest.report import FileReport, IngestReport
from crmkit.ingest.transactions import EXAMPLES_PER_REASON, _canonical_transactions
from crmkit.schema import REQUIRED_TRANSACTION_COLUMNS, SOURCE_FILE

#: Bytes of CSV per piece, and rows of Parquet per piece (row groups are never split).
CSV_PIECE_BYTES = 64 << 20
PARQUET_PIECE_ROWS = 1_000_000
#: A row's key in the input, ``piece.index << PIECE_SHIFT | row in piece``: the order of the rows in the files.
PIECE_SHIFT = 32


@dataclass(frozen=True)
class Piece:
    """One piece of one input file: where it is and how to read it."""

    index: int
    path: str
    format: str
    mapping: Mapping[str, str]
    headers: tuple[str, ...] = ()
    #: CSV: the byte range and how to decode it.
    offset: int = 0
    length: int = 0
    encoding: str = "utf-8"
    delimiter: str = ","
    #: Parquet: the row groups and the file row of the piece's first row.
    row_groups: tuple[int, ...] = ()
    first_row: int = 0


@dataclass
class PieceReport:
    """What one piece read and dropped; examples carry rows counted from the piece's first row."""

    piece: Piece
    rows: int
    drop_counts: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    date_order: str | None = None
    warnings: list[str] = field(default_factory=list)


def plan_pieces(
    sources: Sequence[str | Path],
    *,
    columns: Mapping[str, str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    csv_piece_bytes: int = CSV_PIECE_BYTES,
    parquet_piece_rows: int = PARQUET_PIECE_ROWS,
) -> list[Piece]:
    """The pieces of every input (files, folders, globs, URLs), in input order; headers are mapped here, so
    a file without the needed columns is refused before any work starts."""
    overrides = dict(columns or {})
    check_override_keys(overrides, TRANSACTION_ALIASES)
    pieces: list[Piece] = []
    for path in _files(sources, storage_options or {}):
        fs, local = _filesystem(path, storage_options or {})
        suffix = Path(local).suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            raise InputFileError(
                f"{path}: Excel workbooks cannot be read in pieces by --engine dask",
                hint="save the sheet as CSV or Parquet, or use --engine pandas",
            )
        if suffix in PARQUET_SUFFIXES:
            pieces += _parquet_pieces(fs, path, local, overrides, len(pieces), parquet_piece_rows)
        elif suffix in CSV_SUFFIXES:
            pieces += _csv_pieces(fs, path, local, overrides, len(pieces), csv_piece_bytes)
        else:
            raise InputFileError(f"{path}: unsupported file type {suffix or '(none)'!r}", hint="use CSV or Parquet")
    if not pieces:
        raise InputFileError("no input files given")
    return pieces


def _files(sources: Sequence[str | Path], storage_options: Mapping[str, Any]) -> list[str]:
    """Files as given; folders and globs expanded (sorted); URLs through fsspec."""
    files: list[str] = []
    for source in map(str, sources):
        if "://" in source:
            fs, local = _filesystem(source, storage_options)
            protocol = source.split("://", 1)[0]
            if any(c in local for c in "*?["):
                found = sorted(fs.glob(local))
            elif fs.isdir(local):
                found = sorted(
                    p for p in fs.find(local) if Path(p).suffix.lower() in (*CSV_SUFFIXES, *PARQUET_SUFFIXES)
                )
            else:
                found = [local] if fs.exists(local) else []
            if not found:
                raise InputFileError(f"{source} matches no file", hint="check the URL and --storage-option settings")
            files += [f"{protocol}://{p}" if "://" not in p else p for p in found]
        elif any(c in source for c in "*?["):
            found = sorted(glob.glob(source))
            if not found:
                raise InputFileError(f"{source} matches no file", hint="check the pattern (quote it for the shell)")
            files += [str(p) for p in expand_paths([Path(f) for f in found])]
        else:
            files += [str(p) for p in expand_paths([Path(source)])]
    return files


def _filesystem(path: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    import fsspec  # installed with the dask extra

    try:
        return fsspec.core.url_to_fs(path, **storage_options)
    except (ImportError, ValueError) as error:
        raise InputFileError(f"{path}: cannot open ({error})", hint="install the filesystem package it names") from None


def _parquet_pieces(
    fs: Any, path: str, local: str, overrides: Mapping[str, str], start: int, piece_rows: int
) -> list[Piece]:
    with fs.open(local, "rb") as handle:
        metadata = pq.ParquetFile(handle).metadata
        names = metadata.schema.to_arrow_schema().names
    mapping = _mapping_or_fail(Path(path), names, TRANSACTION_ALIASES, overrides, REQUIRED_TRANSACTION_COLUMNS)
    pieces, groups, rows, first = [], [], 0, 0
    for group in range(metadata.num_row_groups):
        groups.append(group)
        rows += metadata.row_group(group).num_rows
        if rows >= piece_rows or group == metadata.num_row_groups - 1:
            pieces.append(
                Piece(start + len(pieces), path, "parquet", mapping, row_groups=tuple(groups), first_row=first)
            )
            first, groups, rows = first + rows, [], 0
    return pieces or [Piece(start, path, "parquet", mapping)]


def _csv_pieces(
    fs: Any, path: str, local: str, overrides: Mapping[str, str], start: int, piece_bytes: int
) -> list[Piece]:
    with fs.open(local, "rb") as handle:
        head = handle.read(1 << 20)
    encoding = encoding_of(head, path)
    text = head.decode("gb18030" if encoding == "gb18030" else "utf-8", errors="replace")
    line = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not line.strip():
        raise InputFileError(f"{path} is empty or its first line is blank", hint="the first line must hold the headers")
    delimiter = "\t" if Path(local).suffix.lower() in (".tsv", ".tab") else max((",", "\t", ";", "|"), key=line.count)
    headers = tuple(next(csv.reader(io.StringIO(line), delimiter=delimiter)))
    mapping = _mapping_or_fail(Path(path), headers, TRANSACTION_ALIASES, overrides, REQUIRED_TRANSACTION_COLUMNS)
    size = fs.size(local)
    return [
        Piece(start + i, path, "csv", mapping, headers, offset, piece_bytes, encoding, delimiter)
        for i, offset in enumerate(range(0, max(size, 1), piece_bytes))
    ]


def read_piece(piece: Piece, storage_options: Mapping[str, Any] | None = None) -> RawFile:
    """One piece's mapped columns as stored, like :func:`crmkit.ingest.readers.read_mapped` reads a file."""
    fs, local = _filesystem(piece.path, storage_options or {})
    wanted = list(dict.fromkeys(piece.mapping.values()))
    try:
        if piece.format == "parquet":
            with fs.open(local, "rb") as handle:
                table = pq.ParquetFile(handle).read_row_groups(list(piece.row_groups), columns=wanted)
        else:
            table = _csv_block(fs, local, piece, wanted)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputFileError(
            f"{piece.path} cannot be read as {piece.format}: {error}",
            hint="check that the file is complete and of the type its name says",
        ) from None
    columns = {c: _arrow_column(table.column(h)).reset_index(drop=True) for c, h in piece.mapping.items()}
    report = FileReport(piece.path, piece.format, rows=table.num_rows, mapping=dict(piece.mapping))
    return RawFile(columns, report, first_row=0, headers=list(piece.headers))


def _csv_block(fs: Any, local: str, piece: Piece, wanted: list[str]) -> pa.Table:
    """The whole lines of one byte range of a CSV file (the header line skipped), every column as text."""
    from fsspec.utils import read_block

    with fs.open(local, "rb") as handle:
        data = read_block(handle, piece.offset, piece.length, delimiter=b"\n")
    read = pa_csv.ReadOptions(
        column_names=list(piece.headers),
        skip_rows=1 if piece.offset == 0 else 0,
        encoding="utf8" if piece.encoding.startswith("utf-8") else piece.encoding,
    )
    convert = pa_csv.ConvertOptions(
        include_columns=wanted,
        column_types={h: pa.string() for h in wanted},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    parse = pa_csv.ParseOptions(delimiter=piece.delimiter)
    if not data.strip():
        return pa.table({h: pa.array([], type=pa.string()) for h in wanted})
    return pa_csv.read_csv(io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert)


def canonical_piece(
    piece: Piece, *, date_order: str | None = None, storage_options: Mapping[str, Any] | None = None
) -> tuple[pd.DataFrame, PieceReport]:
    """One piece read, mapped, coerced and checked: its usable rows (canonical columns plus the piece row
    ``source_row``, counted from 0) and its report."""
    raw = read_piece(piece, storage_options)
    frame, dropped = _canonical_transactions(raw, date_order)
    report = PieceReport(piece, raw.report.rows, date_order=raw.report.date_order, warnings=raw.report.warnings)
    if len(dropped):
        for reason, group in dropped.groupby("reason", sort=False):
            report.drop_counts[str(reason)] = len(group)
            report.examples += [
                {"row": int(r.source_row), "column": r.column, "value": r.value, "reason": str(reason)}
                for r in group.head(EXAMPLES_PER_REASON).itertuples(index=False)
            ]
    return frame.drop(columns=[SOURCE_FILE]), report


def merge_reports(reports: Sequence[PieceReport]) -> IngestReport:
    """The ingest report of every piece: rows read and dropped, reasons, the first examples of each reason
    with their file rows (a header line counts as row 1 of a CSV file, as in the pandas engine)."""
    reports = sorted(reports, key=lambda r: r.piece.index)
    files: dict[str, FileReport] = {}
    counts: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    seen_rows: dict[str, int] = {}
    orders: dict[str, set[str]] = {}
    warnings: list[str] = []
    for report in reports:
        piece = report.piece
        file = files.setdefault(piece.path, FileReport(piece.path, piece.format, mapping=dict(piece.mapping)))
        file.encoding = piece.encoding if piece.format == "csv" else None
        first = seen_rows.get(piece.path, 0) + (2 if piece.format == "csv" else 1)
        if piece.format == "parquet":
            first = piece.first_row + 1
        seen_rows[piece.path] = seen_rows.get(piece.path, 0) + report.rows
        file.rows += report.rows
        for reason, n in report.drop_counts.items():
            counts[reason] = counts.get(reason, 0) + n
        examples += [{"file": piece.path, **e, "row": e["row"] + first} for e in report.examples]
        if report.date_order:
            orders.setdefault(piece.path, set()).add(report.date_order)
        warnings += [w for w in report.warnings if w not in warnings]
    for path, found in orders.items():
        if len(found) > 1:
            raise InputFileError(
                f"{path}: parts of the file read day/month dates in different orders ({', '.join(sorted(found))})",
                hint="give the order with --date-order dmy or --date-order mdy",
            )
    # As the pandas engine lists them: by file and row, grouped by reason in order of first appearance.
    examples.sort(key=lambda e: (e["file"], e["row"]))
    reasons = list(dict.fromkeys([*(e["reason"] for e in examples), *counts]))
    counts = {reason: counts[reason] for reason in reasons}
    kept = [e for reason in reasons for e in [e for e in examples if e["reason"] == reason][:EXAMPLES_PER_REASON]]
    rows_read = sum(f.rows for f in files.values())
    dropped = sum(counts.values())
    return IngestReport(list(files.values()), rows_read, rows_read - dropped, dropped, counts, kept, warnings)
