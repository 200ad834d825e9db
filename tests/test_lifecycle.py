"""Lifecycle stages: each stage on hand-built customers, the usual gap, windows, precedence and config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.errors import OptionError
from crmkit.output.labels import explain_rules
from crmkit.schema import STAGES
from crmkit.scoring.lifecycle import (
    ACTIVITY_COLUMNS,
    DEFAULT_RULES,
    STAGE_PRECEDENCE,
    LifecycleRules,
    activity_windows,
    assign_stages,
    return_gaps,
    rules_from_config,
)
from crmkit.scoring.summary import customer_summary

AS_OF = pd.Timestamp("2024-12-31")


def _tx(purchases: dict[str, list[tuple[int, float]]]) -> pd.DataFrame:
    """Transactions from {customer: [(days before the as-of day, amount), ...]}."""
    rows = [(cid, AS_OF - pd.Timedelta(days=age), amount) for cid, items in purchases.items() for age, amount in items]
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def _stages(
    purchases: dict[str, list[tuple[int, float]]],
    *,
    p_alive: dict[str, float] | None = None,
    prospects: tuple[str, ...] = (),
    rules: LifecycleRules = DEFAULT_RULES,
    time_unit: str = "day",
    with_return_gaps: bool = False,
) -> pd.DataFrame:
    tx = _tx(purchases)
    table = customer_summary(tx, as_of=AS_OF, time_unit=time_unit)
    if p_alive is not None:
        table["p_alive"] = table["customer_id"].map(p_alive).astype(float)
    if prospects:
        table = pd.concat([table, pd.DataFrame({"customer_id": list(prospects)})], ignore_index=True)
    activity = activity_windows(tx, as_of=AS_OF, window_days=rules.window_days)
    gaps = return_gaps(tx, as_of=AS_OF) if with_return_gaps else None
    return assign_stages(table, activity, rules=rules, first_return_gaps=gaps).set_index("customer_id")


def _every(gap: int, count: int, *, first_age: int, amount: float = 100.0) -> list[tuple[int, float]]:
    return [(first_age + gap * i, amount) for i in range(count)]


# One customer per stage (ages are days before the as-of day; windows of 90 days).
HAND_BUILT = {
    "new": [(10, 50.0)],  # one purchase, 10 days ago
    "steady": _every(30, 8, first_age=5),  # every 30 days: 3 vs 3 purchase days
    "more_often": [(5, 100.0), (30, 100.0), (60, 100.0), (150, 100.0), (300, 100.0), (400, 100.0)],
    "spends_less": [(a, 50.0 if a < 90 else 100.0) for a, _ in _every(30, 8, first_age=5)],
    "overdue": [(100, 100.0), (190, 100.0), (220, 100.0), (250, 100.0)],  # gap 50, silent 100 days
    "gone_quiet": [(300, 100.0), (310, 100.0), (320, 100.0)],  # gap 10, silent 300 days
    "model_says_gone": [(40, 100.0), (50, 100.0), (60, 100.0)],  # gap 10, silent 40 days (not > 4 × 10)
}


class TestStagesOnHandBuiltCustomers:
    def test_each_stage(self):
        stages = _stages(HAND_BUILT, p_alive={"model_says_gone": 0.1}, prospects=("lead",))
        assert stages["lifecycle_stage"].to_dict() == {
            "gone_quiet": "termination",
            "model_says_gone": "termination",
            "more_often": "growth",
            "new": "acquisition",
            "overdue": "decline",
            "spends_less": "decline",
            "steady": "maturity",
            "lead": "acquisition",
        }
        assert set(stages["lifecycle_stage"]) == set(STAGES)

    def test_usual_gap_and_days_overdue(self):
        stages = _stages(HAND_BUILT, prospects=("lead",))
        assert stages.at["steady", "usual_gap_days"] == 30
        assert stages.at["more_often", "usual_gap_days"] == 79  # (400 − 5) / 5 repeat purchases
        assert stages.at["overdue", "usual_gap_days"] == 50
        assert stages.at["overdue", "days_overdue"] == 50  # 100 days silent − 50
        assert stages.at["steady", "days_overdue"] == 0  # bought 5 days ago, gap 30: not due yet
        # One-time buyer: the median gap of the repeat buyers (10, 10, 30, 30, 50, 79 → 30).
        assert stages.at["new", "usual_gap_days"] == 30
        assert np.isnan(stages.at["lead", "usual_gap_days"]) and np.isnan(stages.at["lead", "days_overdue"])

    def test_without_p_alive_termination_comes_from_silence_only(self):
        stages = _stages(HAND_BUILT)
        assert stages.at["model_says_gone", "lifecycle_stage"] == "decline"  # 40 > 1.5 × 10, not > 4 × 10
        assert stages.at["gone_quiet", "lifecycle_stage"] == "termination"

    def test_low_p_alive_within_the_usual_gap_is_not_termination(self):
        stages = _stages({"steady": HAND_BUILT["steady"]}, p_alive={"steady": 0.01})
        assert stages.at["steady", "lifecycle_stage"] == "maturity"

    def test_one_time_buyer_past_the_cycle_declines_then_terminates(self):
        history = {"a": [(10, 1.0), (20, 1.0)], "b": [(40, 1.0)], "c": [(41, 1.0)], "d": [(5, 1.0)]}  # a: 2 vs 0 days
        stages = _stages(history)["lifecycle_stage"]  # median gap 10: overdue > 15, gone > 40
        assert stages.to_dict() == {"a": "growth", "b": "decline", "c": "termination", "d": "acquisition"}

    def test_one_time_buyers_past_their_cycle_terminate_when_more_likely_gone_than_not(self):
        """The model's P(alive) decides for one-time buyers (the 4 × gap rule does not apply to them); within
        their first cycle (30 days here) they are never in termination."""
        one_time = {"likely_gone": [(200, 1.0)], "likely_alive": [(200, 1.0)], "fresh": [(10, 1.0)]}
        p_alive = {"likely_gone": 0.45, "likely_alive": 0.55, "fresh": 0.2}
        stages = _stages({**HAND_BUILT, **one_time}, p_alive=p_alive)["lifecycle_stage"]
        assert stages["likely_gone"] == "termination"
        assert stages["likely_alive"] == "decline"  # 200 days > 1.5 × 30, not > 4 × 30 any more
        assert stages["fresh"] == "acquisition"
        lenient = _stages({**HAND_BUILT, **one_time}, p_alive=p_alive, rules=LifecycleRules(one_time_p_alive=0.4))
        assert lenient.at["likely_gone", "lifecycle_stage"] == "decline"

    def test_without_p_alive_one_time_buyers_are_measured_against_the_returning_customers(self):
        """Repeat buyers came back after 10, 20, ..., 100 days (90% within 91); the one-time buyer's cycle is
        the median usual gap, 55 days: decline after 82.5 days, termination after 91."""
        returning = {f"r{g}": [(300, 1.0), (300 - g, 1.0)] for g in range(10, 101, 10)}
        one_time = {"silent_60": [(60, 1.0)], "silent_85": [(85, 1.0)], "silent_95": [(95, 1.0)]}
        stages = _stages({**returning, **one_time}, with_return_gaps=True)
        assert stages.at["silent_60", "usual_gap_days"] == 55
        assert stages["lifecycle_stage"][list(one_time)].to_dict() == {
            "silent_60": "acquisition",
            "silent_85": "decline",
            "silent_95": "termination",
        }
        stricter = _stages(
            {**returning, **one_time}, with_return_gaps=True, rules=LifecycleRules(one_time_gap_quantile=0.5)
        )
        assert stricter.at["silent_85", "lifecycle_stage"] == "termination"  # half came back within 55 days
        # Without the gaps (nobody came back): the repeat buyers' rule, silent over 4 × 55 days.
        assert _stages({**returning, **one_time}).at["silent_95", "lifecycle_stage"] == "decline"

    def test_return_gaps_count_purchase_days_up_to_the_as_of_day(self):
        tx = _tx(
            {
                "a": [(50, 10.0), (50, 5.0), (40, 3.0), (10, 1.0)],  # same-day orders are one day: gap 10
                "b": [(30, 10.0), (20, -10.0), (5, 2.0)],  # a return is no purchase day: gap 25
                "c": [(7, 1.0)],  # never came back
                "d": [(3, 1.0), (-2, 1.0)],  # second purchase after the as-of day
            }
        )
        np.testing.assert_array_equal(return_gaps(tx, as_of=AS_OF), [10.0, 25.0])
        assert len(return_gaps(tx.iloc[:0], as_of=AS_OF)) == 0

    def test_new_customer_cycle_overrides_the_median(self):
        stages = _stages(
            {"a": [(10, 1.0), (20, 1.0)], "b": [(40, 1.0)]}, rules=LifecycleRules(new_customer_cycle_days=60)
        )
        assert stages.at["b", "usual_gap_days"] == 60 and stages.at["b", "lifecycle_stage"] == "acquisition"

    def test_nobody_repeated_falls_back_to_the_window(self):
        stages = _stages({"a": [(100, 1.0)], "b": [(200, 1.0)]})
        assert list(stages["usual_gap_days"]) == [90, 90]
        assert list(stages["lifecycle_stage"]) == ["acquisition", "decline"]  # 200 > 1.5 × 90

    def test_one_purchase_in_the_windows_is_no_trend(self):
        # Previous window one purchase, recent none: ratio 0, but below min_purchases_for_trend.
        history = {"a": [(100, 1.0), (300, 1.0), (500, 1.0)]}
        assert _stages(history).at["a", "lifecycle_stage"] == "maturity"
        rules = LifecycleRules(min_purchases_for_trend=1)
        assert _stages(history, rules=rules).at["a", "lifecycle_stage"] == "decline"

    def test_thresholds_are_respected(self):
        # Recent 2 purchase days vs previous 1 at equal spend: ratio 2 — growth at 1.25, maturity at 2.5.
        history = {"a": [(10, 1.0), (50, 1.0), (120, 1.0), (400, 1.0)]}
        assert _stages(history).at["a", "lifecycle_stage"] == "growth"
        rules = LifecycleRules(growth_ratio=2.5)
        assert _stages(history, rules=rules).at["a", "lifecycle_stage"] == "maturity"

    def test_stages_do_not_depend_on_the_time_unit(self):
        by_day = _stages(HAND_BUILT, p_alive={"model_says_gone": 0.1})
        by_week = _stages(HAND_BUILT, p_alive={"model_says_gone": 0.1}, time_unit="week")
        pd.testing.assert_frame_equal(by_day, by_week)

    def test_row_order_and_index_follow_the_table(self):
        tx = _tx(HAND_BUILT)
        table = customer_summary(tx, as_of=AS_OF).iloc[::-1]
        out = assign_stages(table, activity_windows(tx, as_of=AS_OF, window_days=90))
        assert list(out["customer_id"]) == list(table["customer_id"])
        assert list(out.index) == list(table.index)


# --- invariants ---------------------------------------------------------------
customer_histories = st.dictionaries(
    st.sampled_from([f"C{i}" for i in range(12)]),
    st.lists(st.tuples(st.integers(0, 800), st.floats(-50, 500, allow_nan=False)), min_size=1, max_size=8),
    min_size=1,
)
rules_strategy = st.builds(
    LifecycleRules,
    window_days=st.floats(1, 200),
    growth_ratio=st.floats(1.01, 3),
    decline_ratio=st.floats(0, 0.99),
    min_purchases_for_trend=st.integers(1, 4),
    overdue_factor=st.floats(1, 2),
    termination_factor=st.floats(2.01, 6),
    termination_p_alive=st.floats(0, 1),
    one_time_p_alive=st.floats(0, 1),
    one_time_gap_quantile=st.floats(0.01, 1),
    new_customer_cycle_days=st.none() | st.floats(1, 400),
)


@settings(max_examples=150, deadline=None)
@given(customer_histories, st.none() | st.floats(0, 1), rules_strategy, st.integers(0, 3), st.booleans())
def test_every_customer_exactly_one_stage_and_recent_buyers_never_terminate(
    histories, p_alive, rules, n_prospects, with_return_gaps
):
    # A purchase on the first day guarantees a buying history; returns alone are not one.
    histories = {cid: [*items, (max(a for a, _ in items), 1.0)] for cid, items in histories.items()}
    prospects = tuple(f"P{i}" for i in range(n_prospects))
    p = None if p_alive is None else {cid: p_alive for cid in histories}
    stages = _stages(histories, p_alive=p, prospects=prospects, rules=rules, with_return_gaps=with_return_gaps)
    assert len(stages) == len(histories) + n_prospects and stages.index.is_unique
    assert stages["lifecycle_stage"].isin(STAGES).all()
    assert (stages.loc[list(prospects), "lifecycle_stage"] == "acquisition").all()
    table = customer_summary(_tx(histories), as_of=AS_OF).set_index("customer_id")
    buyers = stages.loc[table.index]
    within_gap = table["days_since_last"] <= buyers["usual_gap_days"]
    assert not (buyers.loc[within_gap, "lifecycle_stage"] == "termination").any()
    assert (buyers["days_overdue"] >= 0).all()
    assert buyers["usual_gap_days"].gt(0).all()


# --- activity windows -------------------------------------------------------------
class TestActivityWindows:
    def test_window_edges_returns_and_same_day_orders(self):
        tx = _tx(
            {
                "a": [(0, 10.0), (0, 5.0), (89, 20.0), (90, 40.0), (179, 80.0), (180, 1000.0), (30, -7.0)],
                "b": [(200, 3.0)],  # outside both windows: not listed
                "c": [(-1, 9.0), (95, -4.0)],  # after the as-of day (ignored); a return only
            }
        )
        out = activity_windows(tx, as_of=AS_OF, window_days=90)
        assert tuple(out.columns) == ACTIVITY_COLUMNS
        assert list(out["customer_id"]) == ["a", "c"]
        a, c = out.iloc[0], out.iloc[1]
        assert a["recent_revenue"] == 10 + 5 + 20 - 7 and a["recent_days"] == 2  # same day counts once
        assert a["previous_revenue"] == 40 + 80 and a["previous_days"] == 2
        assert c["previous_revenue"] == -4 and c["previous_days"] == 0 and c["recent_days"] == 0

    def test_categorical_ids_give_the_same_result(self):
        tx = _tx({"a": [(5, 1.0)], "b": [(300, 1.0)], "c": [(100, 2.0)]})
        plain = activity_windows(tx, as_of=AS_OF, window_days=90)
        categorical = activity_windows(tx.astype({"customer_id": "category"}), as_of=AS_OF, window_days=90)
        as_text = {"customer_id": "str"}
        pd.testing.assert_frame_equal(plain.astype(as_text), categorical.astype(as_text))
        assert list(plain["customer_id"]) == ["a", "c"]

    def test_fractional_window(self):
        out = activity_windows(_tx({"a": [(10, 1.0), (11, 2.0)]}), as_of=AS_OF, window_days=10.5)
        assert out.iloc[0]["recent_revenue"] == 1 and out.iloc[0]["previous_revenue"] == 2

    def test_bad_window_raises(self):
        with pytest.raises(OptionError, match="window_days"):
            activity_windows(_tx({"a": [(1, 1.0)]}), as_of=AS_OF, window_days=0)


# --- rules, config and explanation ------------------------------------------------------
class TestRules:
    def test_empty_config_gives_the_defaults(self):
        assert rules_from_config({}) == DEFAULT_RULES

    def test_overrides(self):
        rules = rules_from_config(
            {"window_days": 60, "growth_ratio": "1.5", "min_purchases_for_trend": 3.0, "new_customer_cycle_days": 45}
        )
        assert rules.window_days == 60.0 and rules.growth_ratio == 1.5 and rules.new_customer_cycle_days == 45.0
        assert rules.min_purchases_for_trend == 3 and isinstance(rules.min_purchases_for_trend, int)
        assert rules.decline_ratio == DEFAULT_RULES.decline_ratio

    def test_unknown_key_lists_the_valid_ones(self):
        with pytest.raises(OptionError, match="window_dayz") as error:
            rules_from_config({"window_dayz": 60})
        assert "window_days" in str(error.value) and "termination_p_alive" in str(error.value)

    @pytest.mark.parametrize(
        "config, message",
        [
            ({"window_days": 0}, "window_days"),
            ({"window_days": "soon"}, "must be a number"),
            ({"overdue_factor": True}, "must be a number"),
            ({"growth_ratio": 0.9}, "growth_ratio"),
            ({"decline_ratio": 1.0}, "decline_ratio"),
            ({"overdue_factor": 0.5}, "overdue_factor"),
            ({"overdue_factor": 5.0}, "termination_factor"),
            ({"termination_p_alive": 1.5}, "termination_p_alive"),
            ({"one_time_p_alive": -0.1}, "one_time_p_alive"),
            ({"one_time_gap_quantile": 0}, "one_time_gap_quantile"),
            ({"one_time_gap_quantile": 1.5}, "one_time_gap_quantile"),
            ({"min_purchases_for_trend": 1.5}, "min_purchases_for_trend"),
            ({"min_purchases_for_trend": 0}, "min_purchases_for_trend"),
            ({"new_customer_cycle_days": -3}, "new_customer_cycle_days"),
            ({"window_days": float("nan")}, "window_days"),
        ],
    )
    def test_bad_values_raise(self, config, message):
        with pytest.raises(OptionError, match=message):
            rules_from_config(config)

    def test_explain_shows_the_thresholds_in_use_in_precedence_order(self):
        rules = LifecycleRules(
            window_days=60, termination_factor=5, termination_p_alive=0.15, new_customer_cycle_days=45
        )
        table = explain_rules(rules)
        assert list(table.columns) == ["stage", "rule", "order"]
        assert list(table["stage"]) == list(STAGE_PRECEDENCE) and set(STAGE_PRECEDENCE) == set(STAGES)
        assert list(table["order"]) == [1, 2, 3, 4, 5]
        rule = table.set_index("stage")["rule"]
        assert "5 × the usual gap" in rule["termination"] and "0.15" in rule["termination"]
        assert "last 60 days" in rule["decline"] and "1.5 × the usual gap" in rule["decline"]
        assert "45 days" in rule["acquisition"]
        assert "median" in explain_rules(DEFAULT_RULES).set_index("stage").at["acquisition", "rule"]


def test_rule_table_in_chinese_carries_the_same_thresholds():
    rules = rules_from_config({"termination_factor": 5, "window_days": 60})
    zh = explain_rules(rules, lang="zh").set_index("stage")["rule"]
    assert "5 倍常规间隔" in zh["termination"] and "近 60 天" in zh["decline"] and "近 120 天" in zh["growth"]
    assert list(explain_rules(rules, lang="zh")["stage"]) == list(explain_rules(rules)["stage"])
    with pytest.raises(OptionError, match="language"):
        explain_rules(rules, lang="fr")
