"""Order-level rules on canonical lines: values written on an order's first line only, totals rows, repeated
lines. Everything works on integer codes (order, customer) with numpy: no loop over orders."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmkit.ingest.columns import normalise_header
from crmkit.schema import CUSTOMER_ID, ORDER_ID, REASON_REPEAT, SOURCE_FILE, SOURCE_ROW

#: Labels of a report's totals and subtotals rows (Kingdee/Yonyou end their reports with 合计).
_TOTALS = (
    "合计",
    "总计",
    "小计",
    "总合计",
    "本页合计",
    "累计",
    "total",
    "totals",
    "grand total",
    "subtotal",
    "sub total",
)
TOTALS_LABELS = frozenset(normalise_header(label) for label in _TOTALS)
#: The labels as exports write them (cases, a colon, a space between the characters): matched by hash on the
#: distinct ids instead of normalising every one.
TOTALS_WRITTEN = pa.array(
    sorted(
        {
            form + colon
            for label in (*_TOTALS, "合 计", "总 计", "小 计")
            for form in (label, label.upper(), label.title(), label.capitalize())
            for colon in ("", ":", "：")
        }
    )
)


def fill_order_lines(frame: pd.DataFrame, missing: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Give each line of an order the order's value where the line leaves a column empty (``missing``: column →
    empty cells; Shopify writes the status and payment date on an order's first line only). The first line
    with a value wins. Returns how many lines took each column from their order."""
    codes = frame[ORDER_ID].cat.codes.to_numpy()
    filled = {}
    for column, empty in missing.items():
        empty = empty & (codes >= 0)
        if not empty.any():
            continue
        known = ~frame[column].isna().to_numpy() & (codes >= 0)
        source = _first_line(codes, known)
        rows = np.flatnonzero(empty & (source[codes] >= 0))
        if not len(rows):
            continue
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):  # move codes, not text
            values = series.cat.codes.to_numpy(copy=True)
            values[rows] = values[source[codes[rows]]]
            frame[column] = pd.Categorical.from_codes(values, dtype=series.dtype)
        else:
            values = series.to_numpy(copy=True)
            values[rows] = values[source[codes[rows]]]
            frame[column] = values
        filled[column] = len(rows)
    return filled


def order_level_amounts(order_codes: np.ndarray, present: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Lines that are an order's further items when its amount is written once per order (Shopify's Total on
    the first line): every order has at most one line with an amount, and these lines have none but their
    order has one. Empty when any order has two amounts (then amounts are per line and a missing one is bad)."""
    has_order = order_codes >= 0
    per_order = np.bincount(order_codes[has_order & present], minlength=int(order_codes.max(initial=-1)) + 1)
    if not len(per_order) or per_order.max() > 1:
        return np.zeros(len(order_codes), dtype=bool)
    return has_order & missing & (per_order[np.maximum(order_codes, 0)] == 1)


def _first_line(codes: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per order code: the first row where ``present`` holds, −1 when none."""
    rows = np.flatnonzero(present)
    first = np.full(int(codes.max(initial=-1)) + 1, -1, dtype=np.int64)
    order, at = np.unique(codes[rows], return_index=True)
    first[order] = rows[at]
    return first


def totals_rows(frame: pd.DataFrame, raw: Mapping[str, pd.Series], dated: np.ndarray) -> np.ndarray:
    """Rows that are a report's totals (合计, 小计, Total …): the label as the customer or order id, or in any
    mapped column of a row without a date. Such a row would otherwise be a customer named 合计."""
    found = np.zeros(len(frame), dtype=bool)
    for column in (CUSTOMER_ID, ORDER_ID):
        if column in frame.columns:
            labels = pa.array(frame[column].cat.categories)
            hit = np.flatnonzero(pc.is_in(labels, value_set=TOTALS_WRITTEN).to_numpy(zero_copy_only=False))
            if len(hit):
                found |= np.isin(frame[column].cat.codes.to_numpy(), hit)
    undated = np.flatnonzero(~dated & ~found)
    if len(undated):
        for values in raw.values():
            cells = values.to_numpy(dtype=object)[undated]
            found[undated] |= np.array([isinstance(v, str) and normalise_header(v) in TOTALS_LABELS for v in cells])
    return found


def drop_repeated_lines(
    frame: pd.DataFrame, others: Mapping[str, Callable[[np.ndarray], pd.DataFrame]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines of an order that repeat an earlier line in every column of the file count once (exports and
    overlapping monthly files repeat lines). Three products on one bill at the same price are three lines:
    the columns crmkit does not use (product code, line number …) are compared too, read again from the
    files (``others``: file → its unmapped columns at given line numbers) only for lines equal in the rest."""
    if ORDER_ID not in frame.columns:
        return frame, pd.DataFrame()
    fields = [c for c in frame.columns if c not in (SOURCE_FILE, SOURCE_ROW)]
    candidates = frame[ORDER_ID].notna().to_numpy() & frame.duplicated(subset=fields, keep=False).to_numpy()
    if not candidates.any():
        return frame, pd.DataFrame()
    lines = frame.loc[candidates]
    unmapped = []
    for path, group in lines.groupby(SOURCE_FILE, observed=True, sort=False):
        columns = others[str(path)](group[SOURCE_ROW].to_numpy())
        columns.index = group.index
        unmapped.append(columns)
    keyed = pd.concat([lines[fields], pd.concat(unmapped).fillna("\x00")], axis=1)
    repeated = np.zeros(len(frame), dtype=bool)
    repeated[np.flatnonzero(candidates)[keyed.duplicated(keep="first").to_numpy()]] = True
    if not repeated.any():
        return frame, pd.DataFrame()
    kept = frame.loc[repeated]
    repeats = pd.DataFrame(
        {
            SOURCE_FILE: kept[SOURCE_FILE].to_numpy(),
            SOURCE_ROW: kept[SOURCE_ROW].to_numpy(),
            "reason": REASON_REPEAT,
            "column": ORDER_ID,
            "value": kept[ORDER_ID].astype("str").to_numpy(),
        }
    )
    for column in fields:
        repeats[column] = kept[column].astype("str").to_numpy()
    return frame.loc[~repeated].reset_index(drop=True), repeats
