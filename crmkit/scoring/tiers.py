"""80/20 value tiers (platinum, gold, iron) and the Pareto figures of the value distribution."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import TIER_MODES, TIERS, vocabulary_column
from crmkit.scoring.histogram import Histogram

# --- 80/20 tiers --------------------------------------------------------------


@dataclass(frozen=True)
class TierRule:
    """How buying customers are cut into platinum / gold / iron.

    ``mode="rank"``: platinum = the top ``platinum`` percent of customers, gold = the
    next ``gold`` percent. ``mode="share"``: platinum = the top customers who make
    the first ``platinum`` percent of value, gold = those who make the next ``gold``
    percent. Everyone else who bought is iron.
    """

    mode: str = "rank"
    platinum: float = 5.0
    gold: float = 15.0

    def __post_init__(self) -> None:
        if self.mode not in TIER_MODES:
            raise OptionError(f"unknown tier mode {self.mode!r}; choose rank or share")
        if self.platinum <= 0 or self.gold < 0 or self.platinum + self.gold > 100:
            raise OptionError(
                f"tier cut-offs {self.platinum:g},{self.gold:g} must be positive and add up to at most 100"
            )


DEFAULT_SHARE_CUTS = (50.0, 30.0)


def value_order(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Positions sorted by value (descending), ties broken by customer_id (ascending)."""
    id_rank = np.arange(len(ids)) if ids.is_monotonic_increasing else pd.factorize(ids, sort=True)[0]
    return np.lexsort((id_rank, -values.to_numpy(dtype=float)))


def tier_sizes(n: int, rule: TierRule) -> tuple[int, int]:
    """How many of ``n`` buying customers are platinum and gold in rank mode.

    Platinum is the top ``n × platinum%`` customers and platinum plus gold the top ``n × (platinum + gold)%``,
    each rounded half up (2.5 → 3, as spreadsheets round) from the exact product; there is at least one
    platinum customer whenever anyone bought.
    """
    platinum = _half_up(n * Fraction(str(rule.platinum)) / 100)
    both = _half_up(n * (Fraction(str(rule.platinum)) + Fraction(str(rule.gold))) / 100)
    platinum = min(max(platinum, 1), n)
    return platinum, max(both, platinum) - platinum


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def assign_tiers(values: pd.Series, ids: pd.Series, rule: TierRule = TierRule()) -> pd.DataFrame:
    """Tier buying customers by value: returns ``value_rank`` (1 = most valuable) and ``tier``."""
    order = value_order(values, ids)
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(1, len(values) + 1)
    clipped = None
    if rule.mode == "share":
        clipped = Histogram.of_sorted(np.clip(values.to_numpy(dtype=float)[order[::-1]], 0, None))
    return tiers_from_ranks(values, rank, rule, clipped)


def tiers_from_ranks(values: pd.Series, rank: np.ndarray, rule: TierRule, clipped: Histogram | None) -> pd.DataFrame:
    """``value_rank`` and ``tier`` from each customer's rank among all buying customers (1 = most valuable).

    Rank mode needs only the ranks and how many customers there are; share mode also needs ``clipped``, the
    histogram of every customer's value with negative values counted as 0. ``values`` and ``rank`` may be a
    part of the customers: the tiers are those of the whole.
    """
    rank = np.asarray(rank, dtype=np.int64)
    if rule.mode == "rank":
        n = clipped.n if clipped is not None else len(rank)
        platinum_n, gold_n = tier_sizes(n, rule)
        in_platinum, in_gold = rank <= platinum_n, rank <= platinum_n + gold_n
    else:
        assert clipped is not None
        before = largest_sums(clipped, rank - 1)
        total = largest_sums(clipped, np.array([clipped.n]))[0]
        positive = values.to_numpy(dtype=float) > 0
        in_platinum = positive & (before < total * rule.platinum / 100)
        in_gold = positive & (before < total * (rule.platinum + rule.gold) / 100)
    tier = np.where(in_platinum, 0, np.where(in_gold, 1, 2))  # positions in TIERS
    return pd.DataFrame({"value_rank": rank, "tier": vocabulary_column(tier, TIERS)}, index=values.index)


def largest_sums(histogram: Histogram, k: np.ndarray) -> np.ndarray:
    """The sum of the ``k`` largest values, for each k (0 … n), from the histogram of the values.

    Sums run over the distinct values (value × count), largest first, so every engine that holds the same
    histogram gets the same figures to the last digit.
    """
    values, counts = histogram.values[::-1], histogram.counts[::-1]
    before = np.concatenate(([0], np.cumsum(counts)))  # customers above each distinct value
    sums = np.concatenate(([0.0], np.cumsum(values * counts)))  # their value
    k = np.asarray(k, dtype=np.int64)
    group = np.clip(np.searchsorted(before, k, side="right") - 1, 0, max(len(values) - 1, 0))
    if not len(values):
        return np.zeros(len(k))
    return sums[group] + (k - before[group]) * values[group]


def pareto_figures(values: pd.Series, *, rank: np.ndarray | None = None, curve_points: int = 101) -> dict:
    """Concentration of value: top-20% share, customers making 80%, Gini, and the Lorenz-style curve.

    Negative values (net returns) count as zero: concentration is about who brings value. ``rank``, the
    1-based value ranks from :func:`assign_tiers`, puts the values in order without sorting them again.
    """
    clipped = np.clip(values.to_numpy(dtype=float), 0, None)
    if rank is None:
        ascending = np.sort(clipped)
    else:
        ascending = np.empty(len(clipped))
        ascending[len(clipped) - np.asarray(rank)] = clipped
    return pareto_from_histogram(Histogram.of_sorted(ascending), curve_points=curve_points)


def pareto_from_histogram(clipped: Histogram, *, curve_points: int = 101) -> dict:
    """:func:`pareto_figures` from the histogram of the values (negative values counted as 0)."""
    n = clipped.n
    total = float(largest_sums(clipped, np.array([n]))[0]) if n else 0.0
    if n == 0 or total <= 0:
        return {
            "top20_revenue_share": None,
            "customers_for_80pct": None,
            "customers_for_80pct_share": None,
            "gini": None,
            "curve": [],
        }
    top20 = math.ceil(0.2 * n)
    for_80 = _first_rank_reaching(clipped, total, 0.8 - 1e-12)
    # Ascending ranks of the customers holding each distinct value (ascending): start … start + count − 1.
    start = np.concatenate(([0], np.cumsum(clipped.counts)[:-1])) + 1
    rank_sums = clipped.counts * (2 * start + clipped.counts - 1) / 2
    gini = float(2 * np.sum(rank_sums * clipped.values) / (n * total) - (n + 1) / n)
    positions = np.linspace(0, 1, curve_points) * n
    whole = np.floor(positions).astype(np.int64)
    below, above = largest_sums(clipped, whole), largest_sums(clipped, np.minimum(whole + 1, n))
    value_share = (below + (positions - whole) * (above - below)) / total
    return {
        "top20_revenue_share": float(largest_sums(clipped, np.array([top20]))[0] / total),
        "customers_for_80pct": for_80,
        "customers_for_80pct_share": for_80 / n,
        "gini": gini,
        "curve": [
            {"customer_share": float(c), "value_share": float(s)}
            for c, s in zip(np.linspace(0, 1, curve_points), value_share)
        ],
    }


def _first_rank_reaching(clipped: Histogram, total: float, share: float) -> int:
    """The fewest top customers whose value makes at least ``share`` of ``total``."""
    n = clipped.n
    ends = np.concatenate((np.cumsum(clipped.counts[::-1]), [n]))[:-1]
    group = min(int(np.searchsorted(largest_sums(clipped, ends) / total, share)), len(ends) - 1)
    low = int(ends[group - 1]) if group else 0
    ranks = np.arange(low + 1, int(ends[group]) + 1)
    reached = largest_sums(clipped, ranks) / total >= share
    return int(ranks[np.argmax(reached)]) if reached.any() else n
