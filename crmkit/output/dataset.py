"""A Parquet dataset (a folder of part files) written by many workers, in place all at once or not at all.

Each worker writes its partition's customers as one part file into a hidden folder beside the target; when
every part is written, :meth:`DatasetWriter.commit` puts the folder in place of the target (a dataset written
earlier is replaced; any other folder or file is refused before work starts). Columns keep canonical English
names, like the other machine formats.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crmkit.errors import OutputError
from crmkit.output.atomic import check_not_input

PART_NAME = "part-{number:05d}.parquet"


@dataclass(frozen=True)
class PartWriter:
    """Writes one partition's rows as a part file of the dataset (runs on a worker; picklable). ``rows`` names
    which rows and columns of a partition's customers the dataset holds (the command's choice)."""

    folder: str
    rows: str = "customers"

    def __call__(self, frame: pd.DataFrame, number: int) -> None:
        frame.to_parquet(Path(self.folder) / PART_NAME.format(number=number), index=False, engine="pyarrow")


class DatasetWriter:
    """A dataset folder on a filesystem every worker shares (a local cluster's, or a shared mount)."""

    def __init__(self, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
        target = Path(path)
        check_not_input(target, inputs)
        if target.suffix.lower() in (".xlsx", ".csv", ".json", ".tsv"):
            raise OutputError(
                f"cannot write the customers of --engine dask to {target}: they go to a Parquet dataset (a folder)",
                hint="give --out a folder name, e.g. --out scores/ (or scores.parquet)",
            )
        if target.exists() and not _is_dataset(target):
            raise OutputError(
                f"refusing to replace {target}: it is not a dataset crmkit wrote",
                hint="choose a new folder name for --out",
            )
        parent = target.absolute().parent
        if not parent.is_dir():
            raise OutputError(
                f"cannot write {target}: folder {parent} does not exist",
                hint=f"create it first (mkdir -p {parent}) or choose another --out",
            )
        self.target = target
        self.name = str(target)
        self.temporary = parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            self.temporary.mkdir()
        except OSError as error:
            raise OutputError(f"cannot write to folder {parent}: {error.strerror}") from error

    def part_writer(self, rows: str = "customers") -> PartWriter:
        return PartWriter(str(self.temporary), rows)

    def commit(self) -> None:
        """Put the written dataset in place of the target."""
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}.old")
            os.replace(self.target, old)
            os.replace(self.temporary, self.target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.temporary, self.target)

    def abort(self) -> None:
        """Remove what was written (the target stays as it was)."""
        shutil.rmtree(self.temporary, ignore_errors=True)


def _is_dataset(path: Path) -> bool:
    """A folder holding only part files (an empty folder counts)."""
    return path.is_dir() and all(p.name.startswith("part-") and p.suffix == ".parquet" for p in path.iterdir())
