"""Which files are inputs: paths as given, folders expanded to the supported files in them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from crmkit.errors import InputFileError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


PARQUET_SUFFIXES = (".parquet", ".pq")


SUPPORTED = (*CSV_SUFFIXES, *EXCEL_SUFFIXES, *PARQUET_SUFFIXES)


# --- files ------------------------------------------------------------------------------
def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders replaced by their supported files (sorted; hidden and Excel lock files skipped)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith((".", "~$"))
            )
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
