"""Which files are inputs: paths as given, folders expanded to the data files in them, crmkit's own results left out.

A folder of monthly exports often also holds what crmkit wrote last month. Those files are recognised and
skipped (and listed, with every other file a folder scan leaves out):

- workbooks crmkit writes carry the custom document property ``crmkit_holds = "results"`` (Excel and WPS keep
  it when the file is edited and saved again); workbooks of sample data say ``"data"`` and are read;
- CSV and Parquet tables are recognised by their header, which crmkit writes in canonical English: a rejects
  file starts with ``source_file, source_row, reason``, and a per-customer table has ``customer_id`` with at
  least :data:`MIN_SCORE_COLUMNS` of :data:`SCORE_COLUMNS`, names no sales export uses.

Paths that are not regular files (a named pipe, a device such as /dev/zero, a symbolic link loop) are
refused before anything is opened, and so is the same file given twice.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from xml.etree import ElementTree

from crmkit.errors import InputFileError
from crmkit.schema import CUSTOMER_ID, HOLDS_RESULTS, SOURCE_FILE, SOURCE_ROW, WORKBOOK_MARKER

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


PARQUET_SUFFIXES = (".parquet", ".pq")


SUPPORTED = (*CSV_SUFFIXES, *EXCEL_SUFFIXES, *PARQUET_SUFFIXES)


#: Columns of crmkit's per-customer tables that no sales export or customer master has.
SCORE_COLUMNS: Final = frozenset(
    {
        "first_purchase",
        "last_purchase",
        "n_orders",
        "days_since_last",
        "total_revenue",
        "avg_order_value",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "value_rank",
        "expected_purchases",
        "p_alive",
        "expected_spend",
        "clv",
        "historic_value",
        "lifecycle_stage",
        "usual_gap_days",
        "days_overdue",
        "churn_risk",
        "churn_band",
        "expected_next_purchase",
        "value_at_risk",
    }
)
MIN_SCORE_COLUMNS: Final = 3
#: How a rejects file begins.
REJECTS_HEADER: Final = (SOURCE_FILE, SOURCE_ROW, "reason")
#: Bytes read to find a CSV header, and the largest custom.xml of a workbook worth looking at.
HEADER_BYTES: Final = 1 << 16
MARKER_BYTES: Final = 1 << 20

#: Why a folder's file was not read (canonical English, shown as is).
SKIP_UNSUPPORTED: Final = "not a CSV, TSV, XLSX or Parquet file"
SKIP_XLS: Final = "old .xls format: save it as .xlsx to include it"
SKIP_RESULTS: Final = "written by crmkit (results of an earlier run)"
SKIP_LOCK: Final = "Excel/WPS lock file"
SKIP_FOLDER: Final = "a folder (folders inside folders are not read)"
SKIP_SPECIAL: Final = "not a regular file"
#: What :func:`_special` says of a folder.
FOLDER: Final = "a folder"
#: What opening a damaged zip, XML or Parquet file may raise (pyarrow's errors derive from these too).
UNREADABLE: Final = (
    OSError,
    ValueError,
    TypeError,
    NotImplementedError,
    RuntimeError,
    EOFError,
    zipfile.BadZipFile,
    ElementTree.ParseError,
)


@dataclass(frozen=True)
class SkippedFile:
    """A file in an input folder that was not read, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class InputFiles:
    """The files to read, in order, and what the folders given also held but are not read."""

    files: list[Path]
    skipped: list[SkippedFile] = field(default_factory=list)


# --- files ------------------------------------------------------------------------------
def scan_inputs(paths: Iterable[Path]) -> InputFiles:
    """Files as given, folders replaced by their data files (sorted by name), each file once.

    In a folder, hidden files are passed over; unsupported files, subfolders, lock files and crmkit's own
    results are skipped and listed. A path given on its own must be a regular file that can be read.
    """
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in map(Path, paths):
        if _special(path) == FOLDER:
            found, passed = _scan_folder(path)
            if not found:
                listed = "; ".join(f"{s.path.name} ({s.reason})" for s in passed[:5])
                raise InputFileError(
                    f"folder {path} holds no CSV, TSV, XLSX or Parquet files to read"
                    + (f": {listed}" if listed else ""),
                    hint="give the folder that holds the exports, or the files themselves",
                )
            files.extend(found)
            skipped.extend(passed)
        else:
            check_regular_file(path)
            files.append(path)
    if not files:
        raise InputFileError("no input files given")
    _refuse_repeats(files)
    return InputFiles(files, skipped)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The files :func:`scan_inputs` reads."""
    return scan_inputs(paths).files


def check_regular_file(path: Path, *, what: str = "") -> None:
    """Raise :class:`InputFileError` unless ``path`` is a regular file this process may read.

    ``what`` names the file's role in the message ("config file"); a symbolic link to a file is fine.
    """
    name = f"{what} {path}".strip()
    kind = _special(path)
    if kind == "missing":
        target = f" (a symbolic link to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise InputFileError(f"{name} does not exist{target}", hint="check the path (quote names with spaces)")
    if kind is not None:
        raise InputFileError(
            f"{name} is not a regular file: it is {kind}",
            hint="give a file saved on disk (save or copy the export to a .csv or .xlsx file first)",
        )
    if not os.access(path, os.R_OK):
        raise InputFileError(f"cannot read {name}: permission denied", hint="check the file's permissions")


def _special(path: Path) -> str | None:
    """None for a regular file, else what the path is: "missing", :data:`FOLDER`, or a phrase for anything else."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop"
        if error.errno == errno.ENAMETOOLONG:
            return "a name too long for the file system"
        if error.errno == errno.EACCES:
            raise InputFileError(
                f"cannot read {path}: permission denied", hint="check the permissions of the file and its folder"
            ) from None
        if error.errno == errno.ENOTDIR:
            return "missing"
        raise InputFileError(f"cannot read {path}: {error.strerror}") from None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _scan_folder(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """A folder's data files (sorted by name) and the entries left out, with the reason."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise InputFileError(f"cannot list folder {folder}: {error.strerror}") from None
    found: list[Path] = []
    skipped: list[SkippedFile] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue  # hidden: system files, and crmkit's own temporary files
        reason = _skip_reason(entry)
        if reason is None:
            found.append(entry)
        else:
            skipped.append(SkippedFile(entry, reason))
    return found, skipped


def _skip_reason(entry: Path) -> str | None:
    """Why a folder entry is not read, or None to read it."""
    kind = _special(entry)
    if kind == FOLDER:
        return SKIP_FOLDER
    if kind is not None:
        return SKIP_SPECIAL
    if entry.name.startswith("~$"):
        return SKIP_LOCK
    suffix = entry.suffix.lower()
    if suffix == ".xls":
        return SKIP_XLS
    if suffix not in SUPPORTED:
        return SKIP_UNSUPPORTED
    return SKIP_RESULTS if holds_crmkit_results(entry) else None


def _refuse_repeats(files: Sequence[Path]) -> None:
    """The same file twice (``x.csv ./x.csv``, a link, or a file also inside a folder given) is refused: its
    lines would count twice, or silently once as repeated lines."""
    seen: dict[tuple[int, int], Path] = {}
    for path in files:
        info = path.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen:
            raise InputFileError(
                f"{path} is given twice (also as {seen[key]})",
                hint="name each file once; a folder already includes every file in it",
            )
        seen[key] = path


# --- crmkit's own results -------------------------------------------------------------------
def holds_crmkit_results(path: Path) -> bool:
    """Whether ``path`` is a table crmkit wrote as results (scores or rejects), by its marker or header."""
    try:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            return _workbook_marker(path) == HOLDS_RESULTS
        if path.suffix.lower() == ".csv":
            return is_results_header(_csv_header(path))
        if path.suffix.lower() in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq  # only when a folder holds Parquet files

            return is_results_header(pq.read_schema(path).names)
    except UNREADABLE:
        pass  # the reader reports a damaged file properly
    return False


def is_results_header(names: Sequence[str]) -> bool:
    """A rejects file's or a per-customer results table's header, as crmkit writes them."""
    names = [str(name) for name in names]
    if tuple(names[: len(REJECTS_HEADER)]) == REJECTS_HEADER:
        return True
    return CUSTOMER_ID in names and len(SCORE_COLUMNS.intersection(names)) >= MIN_SCORE_COLUMNS


def _workbook_marker(path: Path) -> str | None:
    """The value of the workbook's ``crmkit_holds`` custom property, if it has one."""
    with zipfile.ZipFile(path) as package:
        try:
            info = package.getinfo("docProps/custom.xml")
        except KeyError:
            return None
        if info.file_size > MARKER_BYTES:
            return None
        root = ElementTree.fromstring(package.read(info))
    for prop in root:
        if prop.get("name") == WORKBOOK_MARKER:
            return "".join(prop.itertext()).strip()
    return None


def _csv_header(path: Path) -> list[str]:
    """The first line of a CSV file as crmkit writes it (UTF-8 with a byte-order mark, comma-separated)."""
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES)
    line = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
    return next(csv.reader(line), [])


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".xls":
        raise InputFileError(
            f"{path}: the old .xls format is not supported", hint="open it in Excel or WPS and save as .xlsx or CSV"
        )
    raise InputFileError(f"{path}: unsupported file type {suffix or '(none)'!r}", hint="use CSV/TSV, XLSX or Parquet")
