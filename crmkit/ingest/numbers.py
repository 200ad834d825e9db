"""Amounts as exports write them (``¥1,234.50``, ``(35.00)``, full-width digits) read as numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# --- numbers ----------------------------------------------------------------------
_CURRENCY = re.compile(r"[¥￥$€£\s\u00a0]|RMB|CNY|USD|EUR|元")


_PARENTHESISED = re.compile(r"^\((.*)\)$")


#: Commas only as thousands separators: '1,234.50' is 1234.5, but '12,50' (a decimal comma) is not 1250.
_GROUPED = re.compile(r"\(?[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\)?")


@dataclass(frozen=True)
class ParsedNumbers:
    """Parsed values, and which non-empty cells were not numbers."""

    values: np.ndarray
    bad: np.ndarray


def parse_numbers(values: pd.Series) -> ParsedNumbers:
    """Numbers from numbers or text such as '¥1,234.50', '$12', '(35.00)' (accounting negative), '1 200'."""
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype(object)
    if pd.api.types.is_numeric_dtype(values.dtype) or (
        values.dtype == object
        and pd.api.types.infer_dtype(values, skipna=True) in ("integer", "floating", "mixed-integer-float")
    ):
        # Numbers already (a typed column, or spreadsheet cells holding numbers): no text to clean.
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers) & ~values.isna().to_numpy()
        return ParsedNumbers(np.where(bad, np.nan, numbers), bad)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    # NFKC folds full-width digits and signs (１２３, （35.00）, ￥) into their ASCII forms.
    texts = pd.Series(uniques, dtype=object).astype("str").str.normalize("NFKC").str.strip()
    cleaned = texts.str.replace(_CURRENCY, "", regex=True)
    grouped = cleaned.str.fullmatch(_GROUPED).astype(bool)
    cleaned = cleaned.where(~grouped, cleaned.str.replace(",", "", regex=False)).str.replace(
        _PARENTHESISED, r"-\1", regex=True
    )
    parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    parsed[~np.isfinite(parsed)] = np.nan  # 'inf', '1e999': not an amount
    empty = (texts == "").to_numpy()
    numbers = (
        np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.nan) if len(uniques) else np.full(len(values), np.nan)
    )
    bad_unique = np.isnan(parsed) & ~empty
    bad = (codes >= 0) & bad_unique[np.maximum(codes, 0)] if len(uniques) else np.zeros(len(values), dtype=bool)
    return ParsedNumbers(numbers, bad)
