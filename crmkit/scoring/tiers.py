"""80/20 value tiers (platinum, gold, iron) and the Pareto figures of the value distribution."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import TIER_MODES, TIERS, vocabulary_column

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
    n = len(values)
    order = value_order(values, ids)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    if rule.mode == "rank":
        platinum_n, gold_n = tier_sizes(n, rule)
        in_platinum, in_gold = rank <= platinum_n, rank <= platinum_n + gold_n
    else:
        sorted_values = np.clip(values.to_numpy(dtype=float)[order], 0, None)
        total = sorted_values.sum()
        before = np.empty(n)
        before[order] = np.cumsum(sorted_values) - sorted_values
        positive = values.to_numpy(dtype=float) > 0
        in_platinum = positive & (before < total * rule.platinum / 100)
        in_gold = positive & (before < total * (rule.platinum + rule.gold) / 100)
    tier = np.where(in_platinum, 0, np.where(in_gold, 1, 2))  # positions in TIERS
    return pd.DataFrame({"value_rank": rank, "tier": vocabulary_column(tier, TIERS)}, index=values.index)


def pareto_figures(values: pd.Series, *, rank: np.ndarray | None = None, curve_points: int = 101) -> dict:
    """Concentration of value: top-20% share, customers making 80%, Gini, and the Lorenz-style curve.

    Negative values (net returns) count as zero: concentration is about who brings value. ``rank``, the
    1-based value ranks from :func:`assign_tiers`, puts the values in order without sorting them again.
    """
    clipped = np.clip(values.to_numpy(dtype=float), 0, None)
    if rank is None:
        v = np.sort(clipped)[::-1]
    else:
        v = np.empty(len(clipped))
        v[np.asarray(rank) - 1] = clipped
    n, total = len(v), float(v.sum())
    if n == 0 or total <= 0:
        return {
            "top20_revenue_share": None,
            "customers_for_80pct": None,
            "customers_for_80pct_share": None,
            "gini": None,
            "curve": [],
        }
    cum = np.cumsum(v) / total
    top20 = math.ceil(0.2 * n)
    for_80 = int(np.searchsorted(cum, 0.8 - 1e-12) + 1)
    ascending = v[::-1]
    gini = float((2 * np.sum(np.arange(1, n + 1) * ascending)) / (n * total) - (n + 1) / n)
    shares = np.linspace(0, 1, curve_points)
    cum0 = np.concatenate(([0.0], cum))
    value_share = np.interp(shares * n, np.arange(n + 1), cum0)
    return {
        "top20_revenue_share": float(cum[top20 - 1]),
        "customers_for_80pct": for_80,
        "customers_for_80pct_share": for_80 / n,
        "gini": gini,
        "curve": [{"customer_share": float(c), "value_share": float(s)} for c, s in zip(shares, value_share)],
    }
