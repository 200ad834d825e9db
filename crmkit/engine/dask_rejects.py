"""``--rejects FILE`` on the Dask engine: every dropped row, in the pandas engine's columns, text and order,
without gathering the rows on the client.

The pandas engine lists the rows each file drops (:func:`crmkit.ingest.transactions.canonical_transactions`)
and then the lines that repeat an earlier line of an order, sorted by file and row. Here each piece keeps the
rows it dropped and the lines it repeats itself; the lines repeating lines of other pieces are found once the
rows are gathered by customer, and each partition hands them back to their pieces. Each piece then writes its
rows, sorted by row, as one part file on a folder every worker shares (beside the target); the client writes
the file from the parts in the pandas engine's order (files by name, then pieces in order), one part at a time
for CSV. The part folder is removed at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from crmkit.engine.dask_engine import PIECE_SHIFT, ROW_KEY, CustomerParts, Layout, Prepared

if TYPE_CHECKING:
    from crmkit.engine.dask_retention import RetentionParts
from crmkit.ingest.pieces import MergedReport
from crmkit.ingest.transactions import REASON_REPEAT
from crmkit.output.atomic import atomic_write, check_not_input
from crmkit.output.csv_columns import write_csv
from crmkit.output.excel import write_rejects
from crmkit.output.tables import write_table
from crmkit.pipeline.privacy import pseudonymize
from crmkit.schema import ORDER_DATE, ORDER_ID, SOURCE_FILE, SOURCE_ROW

#: The columns of a rejects file with no dropped row, and the first ones of any.
FIRST_COLUMNS = [SOURCE_FILE, SOURCE_ROW, "reason", "column", "value"]
#: How finely pandas writes a column of times as text: dates, seconds, milli-, micro-, nanoseconds.
TIME_UNITS: Final = ("D", "s", "ms", "us", "ns")
#: A line's row in its piece, from its key.
ROW_MASK = (1 << PIECE_SHIFT) - 1


class RejectsFile:
    """Where ``--rejects`` goes: the target file (checked before any work starts) and the folder of parts."""

    def __init__(self, path: str | os.PathLike[str], *, inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.target = Path(path)
        self.inputs = list(inputs)
        check_not_input(self.target, self.inputs)
        self.parts = self.target.absolute().parent / f".{self.target.name}.parts-{secrets.token_hex(4)}"

    def write(
        self,
        client: Any,
        prepared: Sequence[Any],
        customers: Sequence[Any],
        merged: MergedReport,
        layout: Layout,
        pseudonym_key: str | None,
    ) -> None:
        """Write every dropped row of the ``prepared`` pieces (futures of :class:`Prepared`, read with
        ``keep_dropped``) and the repeated lines the ``customers`` partitions found (``keep_repeated``)."""
        import dask

        delayed = dask.delayed
        pieces = [r.piece for r in client.compute([delayed(_report_of)(p) for p in prepared], sync=True)]
        position = {piece.index: i for i, piece in enumerate(pieces)}
        found = [delayed(_repeated_of)(c) for c in customers]
        own = [delayed(_own_repeated)(p) for p in prepared]
        repeats = client.compute([delayed(_time_level)(f) for f in (*own, *found)], sync=True)
        level = max((lines for lines in repeats if lines is not None), default=0)
        dropped_columns = client.compute([delayed(_dropped_columns)(p) for p in prepared], sync=True)
        # The columns of the pandas engine's list: each file's dropped rows' in file order, then the lines'.
        columns = list(dict.fromkeys(c for part in dropped_columns for c in part))
        if any(lines is not None for lines in repeats):
            columns = list(dict.fromkeys([*columns, *FIRST_COLUMNS, *layout.fields]))
        columns = columns or list(FIRST_COLUMNS)
        by_piece = [delayed(_by_piece, nout=len(pieces))(f, position) for f in found]
        self.parts.mkdir()
        try:
            written = client.compute(
                [
                    delayed(write_part)(
                        p,
                        [split[i] for split in by_piece],
                        merged.line_offsets[pieces[i].index],
                        level,
                        columns,
                        layout.fields,
                        str(self.parts / f"part-{i:05d}.parquet"),
                        pseudonym_key,
                    )
                    for i, p in enumerate(prepared)
                ],
                sync=True,
            )
            order = sorted(range(len(pieces)), key=lambda i: (pieces[i].file.path, pieces[i].index))
            self._concatenate([self.parts / f"part-{i:05d}.parquet" for i in order if written[i]], columns)
        finally:
            shutil.rmtree(self.parts, ignore_errors=True)

    def _concatenate(self, parts: list[Path], columns: list[str]) -> None:
        """The file from the parts in order: a CSV file one part at a time, other formats all at once."""
        if self.target.suffix.lower() != ".csv":
            frames = [pd.read_parquet(part) for part in parts]
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns, dtype="str")
            if self.target.suffix.lower() == ".xlsx":
                write_rejects(self.target, frame, inputs=self.inputs)
            else:
                write_table(frame, self.target, inputs=self.inputs)
            return
        scratch = self.parts / "part.csv"
        with atomic_write(self.target, inputs=self.inputs) as temporary:
            write_csv(pd.DataFrame(columns=columns, dtype="str"), temporary)  # the byte-order mark and header
            header = temporary.stat().st_size
            with open(temporary, "ab") as out:
                for part in parts:
                    write_csv(pd.read_parquet(part), scratch)
                    with open(scratch, "rb") as rows:
                        rows.seek(header)
                        shutil.copyfileobj(rows, out)


def write_part(
    prepared: Prepared,
    found: Sequence[pd.DataFrame | None],
    offset: int,
    level: int,
    columns: list[str],
    fields: Sequence[str],
    path: str,
    pseudonym_key: str | None,
) -> int:
    """Write one piece's dropped rows and repeated lines (``found``: those found in the partitions) as text,
    sorted by row, rows counted in the file (``offset``: the piece's first line); returns how many."""
    file = prepared.report.piece.file.path
    frames = []
    dropped = prepared.dropped
    if dropped is not None and len(dropped):
        frames.append(dropped.assign(source_file=file, source_row=dropped[SOURCE_ROW].to_numpy(np.int64) + offset))
    lines = [f for f in (prepared.repeated, *found) if f is not None and len(f)]
    if lines:
        repeated = pd.concat(lines, ignore_index=True)
        texts = pd.DataFrame(
            {
                SOURCE_FILE: file,
                SOURCE_ROW: (repeated[ROW_KEY].to_numpy() & ROW_MASK) + offset,
                "reason": REASON_REPEAT,
                "column": ORDER_ID,
                "value": repeated[ORDER_ID].astype("str").to_numpy(),
            }
        )
        for column in fields:
            texts[column] = _time_text(repeated[column], level) if column == ORDER_DATE else repeated[column]
        frames.append(texts.astype({column: "str" for column in fields}))
    if not frames:
        return 0
    part = pd.concat(frames, ignore_index=True).sort_values(SOURCE_ROW, kind="stable", ignore_index=True)
    part = part.reindex(columns=columns).astype("str")
    if pseudonym_key is not None:
        part = pseudonymize(part, pseudonym_key)
    part.to_parquet(path, index=False)
    return len(part)


def _time_level(lines: pd.DataFrame | None) -> int | None:
    """How finely pandas would write these lines' times as text (an index into :data:`TIME_UNITS`); None
    without lines."""
    if lines is None or not len(lines):
        return None
    nanoseconds = lines[ORDER_DATE].to_numpy(dtype="datetime64[ns]").view(np.int64)
    for level, step in ((4, 1_000), (3, 1_000_000), (2, 1_000_000_000), (1, 86_400_000_000_000)):
        if np.any(nanoseconds % step):
            return level
    return 0


def _time_text(values: pd.Series, level: int) -> np.ndarray:
    """Times as pandas writes a column of them as text, to the unit of ``level``."""
    times: np.ndarray[Any, np.dtype[np.datetime64]] = values.to_numpy(dtype="datetime64[ns]")
    text = np.datetime_as_string(times, unit=TIME_UNITS[level])
    return np.char.replace(text, "T", " ").astype(object)


def _by_piece(frame: pd.DataFrame | None, position: Mapping[int, int]) -> list[pd.DataFrame | None]:
    """A partition's repeated lines split by the piece they come from (in the order of the pieces)."""
    split: list[pd.DataFrame | None] = [None] * len(position)
    if frame is None or not len(frame):
        return split
    pieces = frame[ROW_KEY].to_numpy() >> PIECE_SHIFT
    for piece in np.unique(pieces):
        split[position[int(piece)]] = frame.loc[pieces == piece].reset_index(drop=True)
    return split


def _repeated_of(parts: CustomerParts | RetentionParts) -> pd.DataFrame | None:
    return parts.repeated


def _own_repeated(prepared: Prepared) -> pd.DataFrame | None:
    return prepared.repeated


def _dropped_columns(prepared: Prepared) -> list[str]:
    dropped = prepared.dropped
    return [str(c) for c in dropped.columns] if dropped is not None and len(dropped) else []


def _report_of(prepared: Prepared) -> Any:
    return prepared.report
