"""RFM scores and segments, 80/20 tiers and Pareto figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.errors import OptionError
from crmkit.schema import COST_COMPONENTS, STAGES, TIERS, VALUE_COMPONENTS
from crmkit.scoring.rfm import (
    CLASSIC_GRID,
    CLASSIC_SEGMENTS,
    average_ranks,
    rank_scores,
    rfm_scores,
    rfm_segments,
    score_thresholds,
)
from crmkit.scoring.tiers import TierRule, assign_tiers, pareto_figures, tier_sizes
from crmkit.scoring.value import DELIVERED_COLUMNS


def _summary(days_since_last, frequency, revenue) -> pd.DataFrame:
    n = len(days_since_last)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "days_since_last": days_since_last,
            "frequency": frequency,
            "total_revenue": revenue,
        }
    )


class TestRfmScores:
    def test_quintiles_on_distinct_values(self):
        s = _summary(list(range(10)), list(range(10)), [float(v) for v in range(10)])
        scores = rfm_scores(s)
        assert list(scores["f_score"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        assert list(scores["r_score"]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # fewer days since last is better
        assert scores["rfm_score"].iloc[0] == "511"

    def test_ties_share_a_score_and_do_not_collapse(self):
        # 6 of 10 customers never bought again: they share one score, the rest spread upwards.
        s = _summary([5] * 10, [0, 0, 0, 0, 0, 0, 1, 2, 3, 4], [1.0] * 10)
        f = rfm_scores(s)["f_score"]
        assert f.iloc[:6].nunique() == 1 and f.iloc[0] == 2  # ceil(5 × 3.5 / 10)
        assert list(f.iloc[6:]) == [4, 4, 5, 5]
        assert rfm_scores(s)["r_score"].nunique() == 1

    def test_thresholds_cover_every_score(self):
        s = _summary(list(range(20)), list(range(20)), [float(v) for v in range(20)])
        table = score_thresholds(s, rfm_scores(s))
        f = table[table.score_name == "f_score"]
        assert list(f["score"]) == [1, 2, 3, 4, 5]
        assert list(f["min"]) == [0, 4, 8, 12, 16] and f["customers"].sum() == 20


class TestSegments:
    def test_classic_grid_uses_every_name_once_or_more(self):
        names = {name for row in CLASSIC_GRID.values() for name in row}
        assert names == set(CLASSIC_SEGMENTS)

    def test_classic_examples(self):
        s = _summary([1, 100, 1], [10, 10, 0], [1000.0, 1000.0, 5.0])
        scores = pd.DataFrame({"r_score": [5, 1, 5], "f_score": [5, 5, 1], "m_score": [5, 5, 1]})
        assert list(rfm_segments(s, scores)) == ["champions", "cant_lose_them", "new"]

    def test_cn8_against_the_mean(self):
        # mean days_since_last = 50, mean frequency = 2.5, mean revenue = 250
        s = _summary([10, 90, 10, 90], [5, 5, 0, 0], [500.0, 400.0, 50.0, 50.0])
        seg = rfm_segments(s, rfm_scores(s), scheme="cn8")
        assert list(seg) == ["important_value", "important_retention", "general_development", "general_winback"]

    def test_unknown_scheme(self):
        s = _summary([1], [1], [1.0])
        with pytest.raises(OptionError, match="classic, cn8"):
            rfm_segments(s, rfm_scores(s), scheme="abc")


class TestTiers:
    def test_rank_mode_default_cuts(self):
        values = pd.Series(np.arange(100, 0, -1, dtype=float))
        ids = pd.Series([f"C{i:03d}" for i in range(100)])
        tiers = assign_tiers(values, ids)
        counts = tiers["tier"].value_counts()
        assert counts[counts > 0].to_dict() == {"iron": 80, "gold": 15, "platinum": 5}
        assert list(tiers["tier"].iloc[:6]) == ["platinum"] * 5 + ["gold"]

    def test_ties_are_broken_by_customer_id(self):
        values = pd.Series([5.0, 5.0, 5.0, 1.0])
        ids = pd.Series(["C", "A", "B", "D"])
        tiers = assign_tiers(values, ids, TierRule(platinum=25, gold=25))
        assert list(tiers["value_rank"]) == [3, 1, 2, 4]
        assert list(tiers["tier"]) == ["iron", "platinum", "gold", "iron"]

    def test_share_mode_uses_cumulative_value(self):
        values = pd.Series([60.0, 25.0, 10.0, 5.0])
        ids = pd.Series(list("ABCD"))
        tiers = assign_tiers(values, ids, TierRule(mode="share", platinum=50, gold=30))
        assert list(tiers["tier"]) == ["platinum", "gold", "iron", "iron"]

    @pytest.mark.parametrize("cuts", [(0, 10), (60, 50), (-1, 5)])
    def test_bad_cuts(self, cuts):
        with pytest.raises(OptionError):
            TierRule(platinum=cuts[0], gold=cuts[1])


@pytest.mark.parametrize(
    ("n", "platinum", "gold"),
    [(1, 1, 0), (10, 1, 1), (20, 1, 3), (30, 2, 4), (50, 3, 7), (70, 4, 10), (100, 5, 15), (0, 0, 0)],
)
def test_tier_sizes_round_half_up_with_at_least_one_platinum(n, platinum, gold):
    """5% / 15% of n, rounded half up from the exact product (50 → 2.5 → 3 platinum; 10 → 0.5 → 1)."""
    assert tier_sizes(n, TierRule()) == (platinum, gold)
    tiers = assign_tiers(pd.Series(np.arange(n, dtype=float)), pd.Series([f"C{i:03d}" for i in range(n)]))
    assert ((tiers["tier"] == "platinum").sum(), (tiers["tier"] == "gold").sum()) == (platinum, gold)


def test_tier_sizes_are_exact_for_cut_offs_floats_cannot_hold():
    # 0.1 + 0.2 is 0.30000000000000004 in floats; 30 × (10.1 + 19.9)% is exactly 9, not 9.000000000000002.
    assert tier_sizes(30, TierRule(platinum=10.1, gold=19.9)) == (3, 6)
    assert tier_sizes(3, TierRule(platinum=50, gold=0)) == (2, 0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-100, 1e6, allow_nan=False), min_size=1, max_size=300), st.floats(1, 30), st.floats(0, 40))
def test_tiers_partition_customers_with_configured_shares(values, platinum, gold):
    n = len(values)
    series = pd.Series(values)
    ids = pd.Series([f"C{i:04d}" for i in range(n)])
    tiers = assign_tiers(series, ids, TierRule(platinum=platinum, gold=gold))
    counts = tiers["tier"].value_counts()
    counts = counts[counts > 0]  # the categorical also lists the (empty) prospect tier
    assert counts.sum() == n and set(counts.index) <= {"platinum", "gold", "iron"}
    assert abs(counts.get("platinum", 0) - max(n * platinum / 100, 1)) <= 1
    assert abs(counts.get("platinum", 0) + counts.get("gold", 0) - n * (platinum + gold) / 100) <= 1
    assert sorted(tiers["value_rank"]) == list(range(1, n + 1))
    # Every platinum customer is worth at least as much as every gold one, and gold ≥ iron.
    by_tier = series.groupby(tiers["tier"])
    if {"platinum", "gold"} <= set(counts.index):
        assert by_tier.min()["platinum"] >= by_tier.max()["gold"]
    # Same tiers whatever the row order.
    order = np.random.default_rng(0).permutation(n)
    shuffled = assign_tiers(
        series.iloc[order].reset_index(drop=True),
        ids.iloc[order].reset_index(drop=True),
        TierRule(platinum=platinum, gold=gold),
    )
    assert (shuffled["tier"].to_numpy() == tiers["tier"].to_numpy()[order]).all()


class TestPareto:
    def test_hand_computed(self):
        values = pd.Series([50.0, 20.0, 10.0, 10.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0])
        p = pareto_figures(values)
        assert p["top20_revenue_share"] == pytest.approx(0.7)  # top ceil(0.2 × 10) = 2 customers
        assert p["customers_for_80pct"] == 3 and p["customers_for_80pct_share"] == pytest.approx(0.3)
        assert p["curve"][0] == {"customer_share": 0.0, "value_share": 0.0}
        assert p["curve"][-1]["value_share"] == pytest.approx(1.0)

    def test_gini_of_equal_values_is_zero_and_of_one_buyer_is_high(self):
        assert pareto_figures(pd.Series([3.0] * 8))["gini"] == pytest.approx(0.0, abs=1e-12)
        assert pareto_figures(pd.Series([0.0] * 9 + [10.0]))["gini"] == pytest.approx(0.9)

    def test_top20_uses_ceil(self):
        p = pareto_figures(pd.Series([10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]))  # ceil(1.4) = 2 customers
        assert p["top20_revenue_share"] == pytest.approx(11 / 16)
        assert math.ceil(0.2 * 7) == 2

    def test_no_value(self):
        assert pareto_figures(pd.Series([0.0, -1.0]))["gini"] is None


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.lists(st.integers(-50, 50), min_size=1, max_size=200).map(lambda v: [float(x) for x in v]),
        st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    )
)
def test_average_ranks_match_pandas(values):
    expected = pd.Series(values).rank(method="average").to_numpy()
    np.testing.assert_allclose(average_ranks(np.array(values)), expected)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.lists(st.integers(-5, 5), min_size=0, max_size=300).map(lambda v: [float(x) for x in v]),
        st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=300),
    ),
    st.integers(2, 10),
)
def test_rank_scores_are_quantiles_of_the_average_rank(values, bins):
    """The threshold shortcut gives exactly ceil(bins × average rank / n) for every value, ties included."""
    ranks = pd.Series(values, dtype="float64").rank(method="average").to_numpy()
    expected = np.clip(np.ceil(bins * ranks / max(len(values), 1)), 1, bins)
    np.testing.assert_array_equal(rank_scores(np.array(values, dtype=np.float64), bins), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-20, 50).map(float), min_size=1, max_size=80), st.sampled_from(["rank", "share"]))
def test_pareto_figures_from_tier_ranks_match_the_sorted_values(values, mode):
    values = pd.Series(values)
    ranks = assign_tiers(values, pd.Series([f"C{i:03d}" for i in range(len(values))]), TierRule(mode))["value_rank"]
    assert pareto_figures(values, rank=ranks.to_numpy()) == pareto_figures(values)


# --- the whole run: what ranks the tiers, and the summary of delivered value -------------------------
def _priced(n: int = 20) -> pd.DataFrame:
    """n customers, one order each: revenue rises with the number, profit falls with it (costlier orders)."""
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:02d}" for i in range(n)],
            "order_date": pd.Timestamp("2024-06-01"),
            "amount": [100.0 + 10 * i for i in range(n)],
            "cost": [10.0 + 19 * i for i in range(n)],  # margin = 90 − 9i
        }
    )


def test_tiers_rank_by_profit_when_there_is_a_cost_column_else_by_revenue():
    tx = _priced()
    by_profit = crmkit.score(tx, options=crmkit.ScoreOptions(model=None))
    assert by_profit.summary.tier_by == "profit" and by_profit.summary.to_json()["tier_by"] == "profit"
    tiers = by_profit.customers.set_index("customer_id")["tier"]
    assert tiers["C00"] == "platinum" and tiers["C19"] == "iron"  # most profit, least revenue
    platinum = next(t for t in by_profit.summary.tiers if t.tier == "platinum")
    assert platinum.profit == pytest.approx(90.0) and platinum.revenue == pytest.approx(100.0)
    by_revenue = crmkit.score(tx.drop(columns="cost"), options=crmkit.ScoreOptions(model=None))
    assert by_revenue.summary.tier_by == "revenue" and by_revenue.summary.tiers[0].profit is None
    assert by_revenue.customers.set_index("customer_id").at["C19", "tier"] == "platinum"
    asked = crmkit.score(tx, options=crmkit.ScoreOptions(model=None, tier_by="revenue"))
    assert asked.summary.tier_by == "revenue"
    assert asked.customers.set_index("customer_id").at["C19", "tier"] == "platinum"


def test_delivered_value_is_averaged_by_tier_and_by_stage():
    tx = _priced()
    components = {
        c: [float((i * (k + 3)) % 11) for i in range(21)] for k, c in enumerate((*VALUE_COMPONENTS, *COST_COMPONENTS))
    }
    master = pd.DataFrame({"customer_id": [f"C{i:02d}" for i in range(21)], **components})  # C20: a prospect
    master.loc[5, "time_cost"] = np.nan  # unknown component: left out of the averages
    result = crmkit.score(tx, customers=master, options=crmkit.ScoreOptions(model=None))
    delivered = result.summary.delivered
    table = result.customers
    known = table.loc[table["delivered_value"].notna()]
    for rows, column in ((delivered.by_tier, "tier"), (delivered.by_stage, "lifecycle_stage")):
        expected = known.groupby(column, observed=True)[["product_value", "time_cost", "delivered_value"]].mean()
        sizes = known.groupby(column, observed=True).size()
        assert [r.group for r in rows] == [g for g in (TIERS if column == "tier" else STAGES) if g in expected.index]
        for row in rows:
            assert row.customers == sizes[row.group]
            for name in expected.columns:
                assert row.averages[name] == pytest.approx(expected.at[row.group, name])
            assert list(row.averages) == [*VALUE_COMPONENTS, *COST_COMPONENTS, *DELIVERED_COLUMNS[:3]]
    assert sum(r.customers for r in delivered.by_tier) == 20  # 21 in the master, one with a missing component
    assert {r.group for r in delivered.by_tier} == {"platinum", "gold", "iron", "prospect"}
    payload = result.summary.to_json()["delivered_value"]
    assert payload["by_stage"][0]["stage"] == delivered.by_stage[0].group
    assert crmkit.score(tx, options=crmkit.ScoreOptions(model=None)).summary.delivered is None
