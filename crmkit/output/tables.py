"""Write one table as CSV, Parquet, JSON or a formatted Excel sheet, chosen by the file extension.

CSV, Parquet and JSON are for other programs: canonical English headers and
values whatever the language. Only the Excel sheet is labelled. Every format is
written through :func:`~crmkit.output.atomic.atomic_write`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crmkit.errors import OutputError
from crmkit.output.atomic import atomic_write
from crmkit.output.csv_columns import write_csv
from crmkit.output.excel import write_sheet
from crmkit.output.jsondoc import json_text
from crmkit.output.xlsx_rows import normalise_column
from crmkit.schema import CUSTOMER_ID, check_lang


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """The table as Arrow (zero-copy for numbers and Arrow-backed text), pandas' dtypes in the metadata.

    Customer ids are written as text even when held as a categorical: one distinct value per row, so
    Parquet's dictionary encoding tried and gave up on them, two thirds of the time to write a
    3.35M-customer table, for a file a fifth larger. Other categoricals (tier, segment, …) stay dictionaries.
    """
    try:
        table = pa.Table.from_pandas(df.rename(columns=str), preserve_index=False)
        pq.write_table(_ids_as_text(table), path)
    except (pa.ArrowException, ValueError) as error:
        raise OutputError(
            f"cannot write the table as Parquet: {error}",
            hint="write .csv or .json instead, or fix the column named in the message",
        ) from error


def _ids_as_text(table: pa.Table) -> pa.Table:
    """The table with a dictionary-encoded customer id column decoded to its text."""
    index = table.schema.get_field_index(CUSTOMER_ID)
    if index < 0 or not pa.types.is_dictionary(id_type := table.schema.field(index).type):
        return table
    return table.set_column(index, CUSTOMER_ID, table.column(index).cast(id_type.value_type))


def _write_json(df: pd.DataFrame, path: Path) -> None:
    """Records with ISO dates (``2024-03-01``, or with the time when there is one) and null for missing values."""
    frame = df.rename(columns=str)
    for col in frame.columns:
        values = normalise_column(frame[col])
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            present = values.dropna()
            dates_only = bool((present.dt.normalize() == present).all())
            frame[col] = values.dt.strftime("%Y-%m-%d" if dates_only else "%Y-%m-%dT%H:%M:%S")
        elif pd.api.types.is_float_dtype(values.dtype):
            frame[col] = values.where(np.isfinite(values.to_numpy(dtype=float, na_value=np.nan)))
    frame.to_json(path, orient="records", force_ascii=False, indent=1)


WRITERS: Final[dict[str, Callable[[pd.DataFrame, Path], None]]] = {
    ".csv": write_csv,
    ".parquet": _write_parquet,
    ".json": _write_json,
}
EXTENSIONS: Final = (*WRITERS, ".xlsx")


def write_table(
    df: pd.DataFrame, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = (), lang: str = "en"
) -> None:
    """Write ``df`` to ``path`` in the format its extension names (.csv, .parquet, .json, .xlsx).

    ``lang`` labels the Excel sheet only; the other formats keep canonical names and values.
    """
    check_lang(lang)
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        write_sheet(path, df, lang=lang, inputs=inputs)
        return
    writer = WRITERS.get(suffix)
    if writer is None:
        raise OutputError(
            f"cannot write {path}: unknown file type {suffix or '(no extension)'!r}",
            hint=f"end the file name with one of {', '.join(EXTENSIONS)}",
        )
    with atomic_write(path, inputs=inputs) as temporary:
        writer(df, temporary)


def write_json(obj: Any, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write a JSON document (a fitted model, a summary): ISO dates, null for NaN/inf, UTF-8 as is."""
    with atomic_write(path, inputs=inputs) as temporary:
        temporary.write_text(json_text(obj) + "\n", encoding="utf-8")
