"""Exact histograms: the distinct values of a column and how many customers hold each.

The global steps of a scoring run (RFM score cut-offs, tier ranks, Pareto figures, the median usual gap) need
the distribution of a column over every customer, not the customers themselves. A histogram holds exactly that
distribution; histograms of parts of the customers merge into the histogram of all of them, so the same
figures come out whether the customers sit in one table or in many partitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Histogram:
    """Distinct values in ascending order and how many customers hold each."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Histogram:
        """The histogram of an array of float64 values (NaN is not a value: leave it out first)."""
        distinct, counts = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
        return cls(distinct, counts.astype(np.int64))

    @classmethod
    def of_sorted(cls, ascending: np.ndarray) -> Histogram:
        """The histogram of values already sorted ascending (run lengths, no second sort)."""
        ascending = np.asarray(ascending, dtype=np.float64)
        if not len(ascending):
            return cls.empty()
        starts = np.flatnonzero(np.concatenate(([True], ascending[1:] != ascending[:-1])))
        return cls(ascending[starts], np.diff(np.append(starts, len(ascending))).astype(np.int64))

    @classmethod
    def empty(cls) -> Histogram:
        return cls(np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64))

    @classmethod
    def merge(cls, parts: Iterable[Histogram]) -> Histogram:
        """One histogram of the customers of every part."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        values = np.concatenate([p.values for p in parts])
        counts = np.concatenate([p.counts for p in parts])
        distinct, inverse = np.unique(values, return_inverse=True)
        return cls(distinct, np.bincount(inverse, weights=counts, minlength=len(distinct)).astype(np.int64))

    def clipped(self) -> Histogram:
        """The histogram with negative values counted as 0 (net returns bring no value)."""
        negative = self.values < 0
        if not negative.any():
            return self
        zeros = int(self.counts[negative].sum())
        return Histogram.merge(
            [Histogram(self.values[~negative], self.counts[~negative]), Histogram(np.zeros(1), np.array([zeros]))]
        )

    @property
    def n(self) -> int:
        """How many customers."""
        return int(self.counts.sum())

    def smallest(self, k: int) -> float:
        """The k-th smallest value (1-based), as ``np.sort(values)[k - 1]``."""
        return float(self.values[np.searchsorted(np.cumsum(self.counts), k)])

    def below(self, value: float) -> int:
        """How many customers hold a value smaller than ``value``."""
        return int(self.counts[: np.searchsorted(self.values, value, side="left")].sum())

    def equal(self, value: float) -> int:
        """How many customers hold exactly ``value``."""
        at = np.searchsorted(self.values, value)
        return int(self.counts[at]) if at < len(self.values) and self.values[at] == value else 0

    def quantile(self, q: float) -> float:
        """The ``q`` quantile as ``np.quantile`` gives it (linear interpolation), to the last bit: numpy's own
        interpolation between the two values around position (n − 1) × q."""
        position = (self.n - 1) * np.float64(q)
        below = int(np.floor(position))
        if below >= self.n - 1:
            return self.smallest(self.n)
        around = np.array([self.smallest(below + 1), self.smallest(below + 2)])
        return float(np.quantile(around, position - below))

    def median(self) -> float:
        """The median as ``np.median`` gives it: the middle value, or the mean of the two middle values."""
        n = self.n
        if n % 2:
            return self.smallest(n // 2 + 1)
        return float(np.mean([self.smallest(n // 2), self.smallest(n // 2 + 1)]))
