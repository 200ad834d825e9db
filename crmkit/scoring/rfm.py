"""RFM scores and named RFM segments (classic and cn8).

All rules are data (module-level tables that callers can override) applied with
vectorised lookups; every result is deterministic under ties and row order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID, RFM_SCHEMES, vocabulary_column
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.kernels import MONEY_STEPS

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
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
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
#: Every R-F-M score code from "111" to "555", in order.
RFM_CODES = tuple(f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))
RFM_CODES_NUMERIC = np.array([int(code) for code in RFM_CODES])


#: One cut-off of a rank score: every value above ``value`` scores above k, and ``value`` itself does when
#: ``inclusive``. A score is set by bins − 1 of them (:func:`rank_cuts`).
Cut = tuple[float, bool]


def rfm_scores(summary: pd.DataFrame, *, bins: int = 5, cuts: dict[str, list[Cut]] | None = None) -> pd.DataFrame:
    """Score recency, frequency and monetary value 1..``bins`` by quantile of rank.

    A customer's score is ``ceil(bins × average-rank / n)``: tied values share the
    average rank and so always the same score (no dependence on row order), and a
    column where most customers tie (frequency 0) still spreads the rest over the
    upper scores instead of collapsing to 1 and 5. Returns ``customer_id,
    r_score, f_score, m_score, rfm_score`` (e.g. ``"545"``). ``cuts`` (from
    :func:`histogram_cuts` over every customer) scores a part of the customers
    as in the whole; by default the summary is the whole.
    """
    out = pd.DataFrame({CUSTOMER_ID: summary[CUSTOMER_ID]})
    for score in RFM_INPUTS:
        values = score_input(summary, score)
        out[score] = apply_cuts(values, cuts[score] if cuts is not None else rank_cuts(values, bins))
    combined = (
        out["r_score"].to_numpy(np.int16) * 100
        + out["f_score"].to_numpy(np.int16) * 10
        + out["m_score"].to_numpy(np.int16)
    )
    codes = np.searchsorted(RFM_CODES_NUMERIC, combined) if bins == 5 else None
    out["rfm_score"] = (
        vocabulary_column(codes, RFM_CODES)
        if codes is not None
        else pd.Series(combined, index=out.index).astype("str").to_numpy()
    )
    return out


def score_input(summary: pd.DataFrame, score: str) -> np.ndarray:
    """The values a score ranks, larger meaning better (recency is ranked on −days since the last purchase)."""
    column, larger_is_better = RFM_INPUTS[score]
    values = summary[column].to_numpy(dtype=np.float64)
    return values if larger_is_better else -values


def rank_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """``ceil(bins × average rank / n)`` per value, as int8 in 1..bins (ties share their average rank)."""
    return apply_cuts(values, rank_cuts(values, bins))


def rank_cuts(values: np.ndarray, bins: int) -> list[Cut]:
    """The bins − 1 cut-offs of :func:`rank_scores` over ``values``.

    The score never falls as the value rises, so it is set by bins − 1 threshold
    values, found with one ``np.partition``, instead of ranking every value (a
    full sort): for k = 1 … bins − 1, with c the ⌈k·n/bins⌉-th smallest value,
    every value above c scores above k, none below c does, and c itself does
    when its average rank exceeds k·n/bins.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return []
    positions = [math.ceil(k * n / bins) for k in range(1, bins)]
    ordered = np.partition(values, [p - 1 for p in positions])
    cuts = []
    for k, position in enumerate(positions, start=1):
        candidate = ordered[position - 1]
        below, ties = np.count_nonzero(values < candidate), np.count_nonzero(values == candidate)
        cuts.append(_cut(float(candidate), int(below), int(ties), k, n, bins))
    return cuts


def histogram_cuts(histogram: Histogram, bins: int = 5) -> list[Cut]:
    """The cut-offs of :func:`rank_cuts` from the histogram of the values: the same cuts, exactly."""
    n = histogram.n
    if n == 0:
        return []
    cuts = []
    for k in range(1, bins):
        candidate = histogram.smallest(math.ceil(k * n / bins))
        cuts.append(_cut(candidate, histogram.below(candidate), histogram.equal(candidate), k, n, bins))
    return cuts


def _cut(candidate: float, below: int, ties: int, k: int, n: int, bins: int) -> Cut:
    return candidate, bins * (below + (ties + 1) / 2) > k * n


def apply_cuts(values: np.ndarray, cuts: list[Cut]) -> np.ndarray:
    """Scores 1 … len(cuts) + 1 (int8) from the cut-offs."""
    values = np.asarray(values, dtype=np.float64)
    scores = np.ones(len(values), dtype=np.int8)
    for candidate, inclusive in cuts:
        scores += (values >= candidate) if inclusive else (values > candidate)
    return scores


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as ``Series.rank(method="average")``).

    Whole numbers in a modest range (days, purchase counts) are counted, not sorted; others take one sort.
    """
    values = np.asarray(values, dtype=np.float64)
    if (
        len(values)
        and np.isfinite(values).all()
        and (values == np.round(values)).all()
        and values.max() - values.min() < 4 * len(values) + 1024
    ):
        offset = (values - values.min()).astype(np.int64)
        counts = np.bincount(offset)
        below = np.cumsum(counts) - counts
        return (below + (counts + 1) / 2.0)[offset]
    _uniques, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
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


def rfm_segments(
    summary: pd.DataFrame, scores: pd.DataFrame, *, scheme: str = "classic", means: SegmentMeans | None = None
) -> pd.Series:
    """Name each customer's RFM segment under ``scheme`` (canonical English keys). cn8 compares each customer
    with the population's means: ``means`` over every customer (default: over ``summary``)."""
    vocabulary: tuple[str, ...]
    if scheme == "classic":
        fm = np.ceil((scores["f_score"].to_numpy(np.int64) + scores["m_score"].to_numpy(np.int64)) / 2).astype(np.int64)
        grid = np.array([[CLASSIC_SEGMENTS.index(name) for name in CLASSIC_GRID[r]] for r in range(1, 6)])
        codes, vocabulary = grid[scores["r_score"].to_numpy(np.int64) - 1, fm - 1], CLASSIC_SEGMENTS
    elif scheme == "cn8":
        means = means or SegmentMeans.of(summary)
        recent = summary["days_since_last"] < means.days_since_last
        frequent = summary["frequency"] > means.frequency
        valuable = summary["total_revenue"] > means.total_revenue
        code = valuable.to_numpy() * 4 + recent.to_numpy() * 2 + frequent.to_numpy() * 1
        vocabulary = CN8_SEGMENTS
        lookup = np.empty(8, dtype=np.int64)
        for (m, r, f), name in CN8_TABLE.items():
            lookup[m * 4 + r * 2 + f] = vocabulary.index(name)
        codes = lookup[code]
    else:
        raise OptionError(f"unknown RFM scheme {scheme!r}; choose one of {', '.join(RFM_SCHEMES)}")
    return pd.Series(vocabulary_column(codes, vocabulary), index=summary.index, name="segment")


@dataclass(frozen=True)
class SegmentMeans:
    """Population means cn8 compares customers with, from exact sums (whole days, purchases and money
    steps), so they do not depend on how the customers are ordered or split."""

    customers: int
    days: int
    purchases: int
    money_steps: int

    @classmethod
    def of(cls, summary: pd.DataFrame) -> SegmentMeans:
        steps = np.round(summary["total_revenue"].to_numpy(dtype=np.float64) * MONEY_STEPS).astype(np.int64)
        return cls(
            len(summary),
            int(summary["days_since_last"].to_numpy(dtype=np.int64).sum()),
            int(summary["frequency"].to_numpy(dtype=np.int64).sum()),
            int(steps.sum()),
        )

    def __add__(self, other: SegmentMeans) -> SegmentMeans:
        return SegmentMeans(
            self.customers + other.customers,
            self.days + other.days,
            self.purchases + other.purchases,
            self.money_steps + other.money_steps,
        )

    @property
    def days_since_last(self) -> float:
        return self.days / self.customers if self.customers else math.nan

    @property
    def frequency(self) -> float:
        return self.purchases / self.customers if self.customers else math.nan

    @property
    def total_revenue(self) -> float:
        return self.money_steps / MONEY_STEPS / self.customers if self.customers else math.nan
