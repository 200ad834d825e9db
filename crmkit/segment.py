"""RFM scores, named RFM segments, 80/20 value tiers and Pareto figures.

All rules are data (module-level tables that callers can override) applied with
vectorised lookups; every result is deterministic under ties and row order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID, TIERS, vocabulary_column

# --- RFM scores -------------------------------------------------------------
#: Which summary column drives each score, and whether a larger value is better.
RFM_INPUTS: dict[str, tuple[str, bool]] = {
    "r_score": ("days_since_last", False),
    "f_score": ("frequency", True),
    "m_score": ("total_revenue", True),
}

#: Classic segments on a grid of R score (rows, 5 → 1) by FM score = ceil((F + M) / 2) (columns, 1 → 5).
CLASSIC_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "lost", "at_risk", "cant_lose_them", "cant_lose_them"),
}
CLASSIC_SEGMENTS = (
    "champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
    "about_to_sleep", "at_risk", "cant_lose_them", "hibernating", "lost",
)

#: cn8 (重要价值客户 …): (M high, R high, F high) → segment; "high" means better than the mean.
CN8_TABLE: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",
    (True, True, False): "important_development",
    (True, False, True): "important_retention",
    (True, False, False): "important_winback",
    (False, True, True): "general_value",
    (False, True, False): "general_development",
    (False, False, True): "general_retention",
    (False, False, False): "general_winback",
}
CN8_SEGMENTS = tuple(CN8_TABLE.values())
RFM_SCHEMES = ("classic", "cn8")
#: Every R-F-M score code from "111" to "555", in order.
RFM_CODES = tuple(f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))
RFM_CODES_NUMERIC = np.array([int(code) for code in RFM_CODES])


def rfm_scores(summary: pd.DataFrame, *, bins: int = 5) -> pd.DataFrame:
    """Score recency, frequency and monetary value 1..``bins`` by quantile of rank.

    A customer's score is ``ceil(bins × average-rank / n)``: tied values share the
    average rank and so always the same score (no dependence on row order), and a
    column where most customers tie (frequency 0) still spreads the rest over the
    upper scores instead of collapsing to 1 and 5. Returns ``customer_id,
    r_score, f_score, m_score, rfm_score`` (e.g. ``"545"``).
    """
    out = pd.DataFrame({CUSTOMER_ID: summary[CUSTOMER_ID]})
    for score, (column, larger_is_better) in RFM_INPUTS.items():
        values = summary[column].to_numpy(dtype=np.float64)
        out[score] = rank_scores(values if larger_is_better else -values, bins)
    combined = (out["r_score"].to_numpy(np.int16) * 100 + out["f_score"].to_numpy(np.int16) * 10
                + out["m_score"].to_numpy(np.int16))
    codes = np.searchsorted(RFM_CODES_NUMERIC, combined) if bins == 5 else None
    out["rfm_score"] = (vocabulary_column(codes, RFM_CODES) if codes is not None
                        else pd.Series(combined, index=out.index).astype("str").to_numpy())
    return out


def rank_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """``ceil(bins × average rank / n)`` per value, as int8 in 1..bins (ties share their average rank).

    The score never falls as the value rises, so it is set by bins − 1 threshold
    values, found with one ``np.partition``, instead of ranking every value (a
    full sort): for k = 1 … bins − 1, with c the ⌈k·n/bins⌉-th smallest value,
    every value above c scores above k, none below c does, and c itself does
    when its average rank exceeds k·n/bins.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    scores = np.ones(n, dtype=np.int8)
    if n == 0:
        return scores
    positions = [math.ceil(k * n / bins) for k in range(1, bins)]
    ordered = np.partition(values, [p - 1 for p in positions])
    for k, position in enumerate(positions, start=1):
        candidate = ordered[position - 1]
        below, ties = np.count_nonzero(values < candidate), np.count_nonzero(values == candidate)
        scores += (values >= candidate) if bins * (below + (ties + 1) / 2) > k * n else (values > candidate)
    return scores


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as ``Series.rank(method="average")``).

    Whole numbers in a modest range (days, purchase counts) are counted, not sorted; others take one sort.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) and np.isfinite(values).all() and (values == np.round(values)).all() and \
            values.max() - values.min() < 4 * len(values) + 1024:
        offset = (values - values.min()).astype(np.int64)
        counts = np.bincount(offset)
        below = np.cumsum(counts) - counts
        return (below + (counts + 1) / 2.0)[offset]
    uniques, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (below + (counts + 1) / 2.0)[inverse]


def score_thresholds(summary: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The value range behind each score (for ``--explain``): score, input column, min, max, customers."""
    rows = []
    for score, (column, _) in RFM_INPUTS.items():
        grouped = summary[column].groupby(scores[score].to_numpy())
        table = grouped.agg(["min", "max", "size"]).reset_index(names="score")
        table.insert(0, "input", column)
        table.insert(0, "score_name", score)
        rows.append(table.rename(columns={"size": "customers"}))
    return pd.concat(rows, ignore_index=True)


def rfm_segments(summary: pd.DataFrame, scores: pd.DataFrame, *, scheme: str = "classic") -> pd.Series:
    """Name each customer's RFM segment under ``scheme`` (canonical English keys)."""
    if scheme == "classic":
        fm = np.ceil((scores["f_score"].to_numpy(np.int64) + scores["m_score"].to_numpy(np.int64)) / 2).astype(np.int64)
        grid = np.array([[CLASSIC_SEGMENTS.index(name) for name in CLASSIC_GRID[r]] for r in range(1, 6)])
        codes, vocabulary = grid[scores["r_score"].to_numpy(np.int64) - 1, fm - 1], CLASSIC_SEGMENTS
    elif scheme == "cn8":
        recent = summary["days_since_last"] < summary["days_since_last"].mean()
        frequent = summary["frequency"] > summary["frequency"].mean()
        valuable = summary["total_revenue"] > summary["total_revenue"].mean()
        code = valuable.to_numpy() * 4 + recent.to_numpy() * 2 + frequent.to_numpy() * 1
        vocabulary = CN8_SEGMENTS
        lookup = np.empty(8, dtype=np.int64)
        for (m, r, f), name in CN8_TABLE.items():
            lookup[m * 4 + r * 2 + f] = vocabulary.index(name)
        codes = lookup[code]
    else:
        raise OptionError(f"unknown RFM scheme {scheme!r}; choose one of {', '.join(RFM_SCHEMES)}")
    return pd.Series(vocabulary_column(codes, vocabulary), index=summary.index, name="segment")


# --- 80/20 tiers --------------------------------------------------------------
TIER_MODES = ("rank", "share")


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
    if ids.is_monotonic_increasing:
        id_rank = np.arange(len(ids))
    else:
        id_rank = pd.factorize(ids, sort=True)[0]
    return np.lexsort((id_rank, -values.to_numpy(dtype=float)))


def assign_tiers(values: pd.Series, ids: pd.Series, rule: TierRule = TierRule()) -> pd.DataFrame:
    """Tier buying customers by value: returns ``value_rank`` (1 = most valuable) and ``tier``."""
    n = len(values)
    order = value_order(values, ids)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    if rule.mode == "rank":
        platinum_n = round(n * rule.platinum / 100)
        gold_n = round(n * (rule.platinum + rule.gold) / 100)
        in_platinum, in_gold = rank <= platinum_n, rank <= gold_n
    else:
        sorted_values = np.clip(values.to_numpy(dtype=float)[order], 0, None)
        total = sorted_values.sum()
        before = np.empty(n)
        before[order] = np.cumsum(sorted_values) - sorted_values
        positive = values.to_numpy(dtype=float) > 0
        in_platinum = positive & (before < total * rule.platinum / 100)
        in_gold = positive & (before < total * (rule.platinum + rule.gold) / 100)
    tier = np.where(in_platinum, 0, np.where(in_gold, 1, 2))      # positions in TIERS
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
        return {"top20_revenue_share": None, "customers_for_80pct": None,
                "customers_for_80pct_share": None, "gini": None, "curve": []}
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
