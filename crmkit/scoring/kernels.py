"""Speed tricks the scorers share: exact money sums, packed integer keys, two-core sorts, id codes.

The business rules live in the scorers; these functions only make them fast and exact at millions of rows."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmkit.schema import CUSTOMER_ID

#: Money is summed in ten-thousandths of a unit, as whole numbers: float sums of whole numbers below 2**53
#: are exact, so totals do not depend on the order of the rows (same input, same output, any row order).
MONEY_STEPS = 10_000


def money_steps(codes: np.ndarray, amounts: np.ndarray, length: int) -> np.ndarray:
    """Amounts summed per code in whole ten-thousandths (exact whole numbers in float64), any row order."""
    steps = np.multiply(amounts, MONEY_STEPS, dtype=np.float64)
    np.round(steps, out=steps)
    return np.bincount(codes, weights=steps, minlength=length)


def money_sums(codes: np.ndarray, amounts: np.ndarray, length: int) -> np.ndarray:
    """Sum amounts per code exactly (to 1/10,000 of a unit), independent of row order."""
    return money_steps(codes, amounts, length) / MONEY_STEPS


#: Arrays at least this long are sorted on two cores.
PARALLEL_SORT_MIN = 1 << 20


def sort_in_place(keys: np.ndarray) -> None:
    """Sort an array in place, on two cores when there are: each half in its own thread (numpy releases the GIL
    while sorting), then one timsort pass, which finds the two sorted runs and merges them (10M keys: 0.65 s
    on one core, 0.36 s on two)."""
    if len(keys) < PARALLEL_SORT_MIN or (os.cpu_count() or 1) < 2:
        keys.sort()
        return
    half = len(keys) // 2
    with ThreadPoolExecutor(max_workers=1) as helper:
        upper = helper.submit(keys[half:].sort)
        keys[:half].sort()
        upper.result()
    keys.sort(kind="stable")


def distinct_sorted(keys: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, ascending: one in-place sort of ``keys`` (which it reorders)
    and a neighbour comparison — cheaper than np.unique's hashing for millions of keys."""
    sort_in_place(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys


def pair_keys(codes: np.ndarray, offsets: np.ndarray, span: int) -> np.ndarray:
    """``codes * span + offsets`` as one new int64 array, built in place (no temporaries of the same size)."""
    keys = codes.astype(np.int64)
    keys *= span
    keys += offsets
    return keys


def customer_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """int32 codes for customer ids, numbered in sorted id order (so results never depend on row order).

    A categorical column (ids dictionary-encoded at read time) is only re-sorted
    on its categories, which skips hashing every row's string.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        categories = ids.cat.categories  # the dtype's own Index keeps its cached sortedness check
        if categories.dtype != "str":
            categories = pd.Index(categories.astype("str"))
        if _ascending(categories):  # ingest sorts them already
            return ids.cat.codes.to_numpy().astype(np.int32, copy=False), categories.rename(CUSTOMER_ID)
        order = categories.argsort()
        position = np.empty(len(order), dtype=np.int32)
        position[order] = np.arange(len(order))
        return position[ids.cat.codes.to_numpy()], pd.Index(categories[order], name=CUSTOMER_ID)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int32), pd.Index(uniques, dtype="str", name=CUSTOMER_ID)


def _ascending(index: pd.Index) -> bool:
    """Strictly ascending text, checked in Arrow (pandas' own check would build a hash table of every id)."""
    arrow = pa.array(index.array) if len(index) > 1 else None
    if arrow is None:
        return True
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    return bool(pc.all(pc.greater(arrow[1:], arrow[:-1])).as_py())


def id_dtype(ids: pd.Series, sorted_ids: pd.Index) -> pd.CategoricalDtype:
    """The categorical dtype of ``sorted_ids`` (from :func:`customer_codes`); the column's own dtype when it
    already is that, so every frame derived from one transaction table shares a single dtype."""
    if (
        isinstance(ids.dtype, pd.CategoricalDtype)
        and ids.cat.categories is not None
        and len(ids.cat.categories) == len(sorted_ids)
        and _ascending(ids.cat.categories)
    ):
        return ids.dtype
    return pd.CategoricalDtype(pd.Index(sorted_ids, dtype="str").rename(None))


def id_column(positions: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Customer ids as a categorical column: joins, sorts and alignments then run on integer codes."""
    return pd.Categorical.from_codes(positions, dtype=dtype)


def align(source_ids: pd.Series, target_ids: pd.Series) -> np.ndarray:
    """Row of ``source_ids`` holding each of ``target_ids`` (−1 when absent); on codes when both share a dtype."""
    if isinstance(source_ids.dtype, pd.CategoricalDtype) and source_ids.dtype is target_ids.dtype:
        where = np.full(len(source_ids.dtype.categories), -1, dtype=np.int64)
        where[source_ids.cat.codes.to_numpy()] = np.arange(len(source_ids))
        codes = target_ids.cat.codes.to_numpy()
        return np.where(codes >= 0, where[codes], -1)
    return pd.Index(source_ids.astype("str")).get_indexer(pd.Index(target_ids.astype("str")))


#: Exact sums hold a float sum as a whole number of 2**-EXACT_SHIFT (the smallest float is 2**-1074).
EXACT_SHIFT = 1100
#: Biased exponents of finite floats: 1 … 2046 (0, for subnormal numbers, counts as 1).
EXPONENTS = 2048


@dataclass(frozen=True)
class ExactSum:
    """A sum of floats held exactly, as a whole number of 2**-1100: sums of parts add up to the sum of the
    whole, so the total is the correctly rounded sum however the values were split or ordered."""

    scaled: int = 0

    def __add__(self, other: ExactSum) -> ExactSum:
        return ExactSum(self.scaled + other.scaled)

    def __float__(self) -> float:
        return float(Fraction(self.scaled, 1 << EXACT_SHIFT))


def exact_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> list[ExactSum]:
    """The exact sum of the finite ``values`` in each group (``groups`` holds 0 … n_groups − 1, −1 = none).

    A float is a 53-bit whole mantissa times a power of two (read from its bits); the mantissas are cut into
    18-bit pieces and counted per (group, exponent) with float bincounts, which stay exact below 2**53."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values) & (groups >= 0)
    bits = values[keep].view(np.int64)
    biased = (bits >> 52) & 0x7FF  # 0 for zero and subnormal numbers, whose mantissa has no hidden bit
    whole = (bits & ((1 << 52) - 1)) | np.where(biased > 0, 1 << 52, 0)
    whole = np.where(bits < 0, -whole, whole)
    key = groups[keep].astype(np.int64) * EXPONENTS + np.maximum(biased, 1)
    pieces = [
        np.bincount(
            key, weights=(whole >> shift) & 0x3FFFF if shift < 36 else whole >> 36, minlength=n_groups * EXPONENTS
        )
        for shift in (0, 18, 36)
    ]
    sums = [0] * n_groups
    for k in np.flatnonzero((pieces[0] != 0) | (pieces[1] != 0) | (pieces[2] != 0)):
        mantissas = int(pieces[0][k]) + (int(pieces[1][k]) << 18) + (int(pieces[2][k]) << 36)
        # value = mantissa × 2**(biased exponent − 1075)
        sums[k // EXPONENTS] += mantissas << int(k % EXPONENTS - 1075 + EXACT_SHIFT)
    return [ExactSum(s) for s in sums]
