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

from crmkit.errors import OutputError
from crmkit.output.atomic import atomic_write
from crmkit.output.excel import write_sheet
from crmkit.output.jsondoc import json_text
from crmkit.output.xlsx_rows import normalise_column
from crmkit.schema import check_lang

#: Twelve significant digits: 285.3, not 285.29999999999995 (binary float noise), when a CSV is opened in
#: a spreadsheet; money to the cent stays exact up to 10 billion. Parquet and JSON keep full precision.
CSV_FLOAT_FORMAT: Final = "%.12g"
#: What a spreadsheet may read as the start of a formula (OWASP CSV injection).
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells starting like a formula get a leading ``'`` so spreadsheets show them as text.

    Only text is touched: numbers (negative ones too) stay numbers.
    """
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype)
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        risky = values.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
        if risky.any():
            values = values.astype(object).copy()
            values[risky] = "'" + values[risky].astype("str")
            out[col] = values
    return out


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    # The byte-order mark makes Excel read the file as UTF-8 (Chinese names, ¥). CRLF line ends
    # (RFC 4180) also make the csv module quote any text holding a CR, which would otherwise split the row.
    neutralise_formulas(df).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\r\n", float_format=CSV_FLOAT_FORMAT
    )


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    frame = df.rename(columns=str)
    try:
        frame.to_parquet(path, index=False, engine="pyarrow")
    except (pa.ArrowException, ValueError) as error:
        raise OutputError(
            f"cannot write the table as Parquet: {error}",
            hint="write .csv or .json instead, or fix the column named in the message",
        ) from error


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
    ".csv": _write_csv,
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
