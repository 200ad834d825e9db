"""Amounts as exports write them (``¥1,234.50``, ``1.234,56``, ``(35.00)``, full-width digits) read as numbers.

Whether a comma or a dot is the decimal mark is decided once per column from all its values: ``1.234,56``
and ``12,5`` say comma, ``1,234.56`` and ``12.5`` say dot. ``1.500`` alone could be either (1500 or 1.5), so a
column of such values takes the mark the file's other columns settled, else ``--decimal``, else it is refused
with examples: a thousand-fold error is never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError

# --- numbers ----------------------------------------------------------------------
# Patterns are text, not compiled: pandas then runs them in Arrow (RE2) on Arrow strings, not row by row.
_CURRENCY = r"[¥￥$€£\s\xa0]|RMB|CNY|USD|EUR|元"


_PARENTHESISED = r"^\((.*)\)$"


#: Values that settle the decimal mark, by mark. ``{g}`` is the other mark (grouping thousands), ``{d}`` this one.
_SETTLES = (
    r"\d{{1,3}}(?:{g}\d{{3}})+{d}\d+",  # 1,234.5 / 1.234,5: both marks, the last one is the decimal mark
    r"\d{{1,3}}(?:{g}\d{{3}}){{2,}}",  # 1,234,567 / 1.234.567: a mark twice only groups thousands
    r"\d*{d}(?:\d{{1,2}}|\d{{4,}})",  # 12.5 / 12,5 / .25: not three digits after the mark
    r"(?:0|\d{{4,}}){d}\d{{3}}",  # 0.500 / 1234,567: no thousands group looks like that
)
_SETTLES_DOT = "|".join(p.format(g=",", d=r"\.") for p in _SETTLES)
_SETTLES_COMMA = "|".join(p.format(g=r"\.", d=",") for p in _SETTLES)
#: 1.500 or 1,500: 1500 with a thousands mark, or 1.5 with a decimal mark.
_EITHER = r"[1-9]\d{0,2}[.,]\d{3}"


@dataclass(frozen=True)
class ParsedNumbers:
    """Parsed values, which non-empty cells were not numbers, and the decimal mark used for text (None when the
    column held numbers, or text without any mark)."""

    values: np.ndarray
    bad: np.ndarray
    decimal: str | None = None


@dataclass(frozen=True)
class DecimalEvidence:
    """What a text column says about its decimal mark: a sample value settling each mark, and one that fits
    both."""

    dot: str | None = None
    comma: str | None = None
    either: str | None = None

    @property
    def mark(self) -> str | None:
        """The mark the column settles by itself (None when it settles none, or both)."""
        if (self.dot is None) == (self.comma is None):
            return None
        return "." if self.dot is not None else ","


def decimal_evidence(values: pd.Series) -> DecimalEvidence:
    """Which decimal marks the text values of a column settle (numbers stored as numbers settle nothing)."""
    if _stored_as_numbers(values):
        return DecimalEvidence()
    texts = _without_currency(_distinct_texts(values)[1])
    core = texts.str.replace(r"^\(?[-+]?|\)$", "", regex=True)
    samples = {}
    for name, pattern in (("dot", _SETTLES_DOT), ("comma", _SETTLES_COMMA), ("either", _EITHER)):
        hits = texts[core.str.fullmatch(pattern).fillna(False).astype(bool)]
        samples[name] = str(hits.iloc[0]) if len(hits) else None
    return DecimalEvidence(**samples)


def file_decimal(evidence: Iterable[DecimalEvidence], separator: str | None) -> str | None:
    """The decimal mark for a file's columns that cannot tell by themselves: the one its other number columns
    settle, else a dot in a comma-separated file (a spreadsheet writes ';' between fields where the comma is
    the decimal mark), else None."""
    marks = {e.mark for e in evidence} - {None}
    if len(marks) == 1:
        return marks.pop()
    return "." if separator == "," and not marks else None


def parse_numbers(
    values: pd.Series, *, decimal: str | None = None, fallback: str | None = None, where: str = ""
) -> ParsedNumbers:
    """Numbers from numbers or text such as '¥1,234.50', '1.234,56', '$12', '(35.00)' (accounting negative),
    '1 200'.

    Text is read with ``decimal`` when given, else with the mark the column settles, else ``fallback`` (the
    mark the file's other columns settled); a column that settles both marks, or holds values like 1.500
    that need a mark nobody settled, is a :class:`BadValueError` naming ``where`` and ``--decimal``.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(object)
    if _stored_as_numbers(values):
        # Numbers already (a typed column, or spreadsheet cells holding numbers): no text to clean.
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers) & ~values.isna().to_numpy()
        return ParsedNumbers(np.where(bad, np.nan, numbers), bad)
    codes, texts, stored = _distinct_texts(values)
    evidence = decimal_evidence(values)
    against = evidence.comma if decimal == "." else evidence.dot if decimal == "," else None
    if against is not None:
        other = "," if decimal == "." else "."
        raise BadValueError(
            f"{where}decimal='{decimal}' contradicts the data: {against!r} only reads with {other!r} as decimal mark",
            hint=f"use decimal='{other}' or leave it out",
        )
    mark = decimal or _decide(evidence, fallback, where)
    cleaned = _without_currency(texts).str.replace(_PARENTHESISED, r"-\1", regex=True)
    if mark == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # Cells that were numbers already (a spreadsheet column mixing numbers and text) keep their value.
    parsed = np.where(np.isnan(stored), parsed, stored)
    parsed[~np.isfinite(parsed)] = np.nan  # 'inf', '1e999': not an amount
    empty = (texts == "").to_numpy() & np.isnan(stored)
    numbers = np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.nan) if len(texts) else np.full(len(values), np.nan)
    bad_unique = np.isnan(parsed) & ~empty
    bad = (codes >= 0) & bad_unique[np.maximum(codes, 0)] if len(texts) else np.zeros(len(values), dtype=bool)
    marked = texts.str.contains(r"[.,]", regex=True).any() if len(texts) else False
    return ParsedNumbers(numbers, bad, mark if marked else None)


def _stored_as_numbers(values: pd.Series) -> bool:
    """A typed number column, or spreadsheet cells that all hold numbers: no text to read."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return False
    return pd.api.types.is_numeric_dtype(values.dtype) or (
        values.dtype == object
        and pd.api.types.infer_dtype(values, skipna=True) in ("integer", "floating", "mixed-integer-float")
    )


def _distinct_texts(values: pd.Series) -> tuple[np.ndarray, pd.Series, np.ndarray]:
    """(code per row, −1 when missing; each distinct value as text, trimmed; its number when it was stored as
    a number, else NaN). NFKC folds full-width digits and signs (１２３, （35.00）, ￥, ，) into ASCII."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    uniques = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
    stored = np.full(len(uniques), np.nan)
    if values.dtype == object:  # spreadsheet cells: numbers and text mixed
        is_number = uniques.map(lambda u: isinstance(u, (int, float, np.number)) and not isinstance(u, bool))
        is_number = is_number.astype(bool)
        stored[is_number.to_numpy()] = uniques[is_number].astype("float64").to_numpy()
        uniques = uniques.where(~is_number, "")
    return codes, uniques.astype("string[pyarrow]").str.normalize("NFKC").str.strip(), stored


def _without_currency(texts: pd.Series) -> pd.Series:
    return texts.str.replace(_CURRENCY, "", regex=True)


def _decide(evidence: DecimalEvidence, fallback: str | None, where: str) -> str:
    """The decimal mark of a text column from its evidence (see :func:`parse_numbers`)."""
    if evidence.dot is not None and evidence.comma is not None:
        raise BadValueError(
            f"{where}numbers use both decimal marks: {evidence.comma!r} has a decimal comma but "
            f"{evidence.dot!r} a decimal point",
            hint="fix the export so one convention is used, or say which with decimal=',' or decimal='.'",
        )
    if evidence.mark is not None:
        return evidence.mark
    if evidence.either is not None:
        if fallback is not None:
            return fallback
        whole, _, part = re.sub(r"[^0-9.,]", "", evidence.either).replace(",", ".").partition(".")
        raise BadValueError(
            f"{where}numbers like {evidence.either!r} could mean {whole}{part} (a thousands mark) or "
            f"{whole}.{part.rstrip('0') or '0'} (a decimal mark), and no value in the file settles which",
            hint="say which with decimal=',' (1.234,56) or decimal='.' (1,234.56)",
        )
    return "."
