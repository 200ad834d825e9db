"""Calibration/holdout backtest: exact holdout actuals, AUC, the by-frequency table, model accuracy, bad options."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.datasets.sample import simulate_sales
from crmkit.errors import BadValueError, OptionError
from crmkit.scoring.backtest import (
    BacktestReport,
    auc,
    backtest,
    by_frequency,
    holdout_actuals,
    top_share,
)
from crmkit.scoring.summary import customer_summary

CAL_END = pd.Timestamp("2024-01-31")
HOLDOUT_END = pd.Timestamp("2024-02-29")

# (customer, date, amount). Calibration: up to and including 2024-01-31; holdout: 2024-02-01 … 2024-02-29.
ROWS = [
    # A: three calibration days (the last at 15:30 on the calibration end); holdout: two orders on one day,
    # one more day, and a return; a purchase after the holdout.
    ("A", "2024-01-01", 100.0),
    ("A", "2024-01-10", 50.0),
    ("A", "2024-01-31 15:30", 80.0),
    ("A", "2024-02-05 09:00", 30.0),
    ("A", "2024-02-05 17:00", 20.0),
    ("A", "2024-02-10", 40.0),
    ("A", "2024-02-12", -25.0),
    ("A", "2024-03-05", 70.0),
    # B: two calibration days; only a return in the holdout.
    ("B", "2024-01-05", 60.0),
    ("B", "2024-01-15", 90.0),
    ("B", "2024-02-20", -30.0),
    # C: one calibration day; purchases on the first and (late on) the last holdout day.
    ("C", "2024-01-03", 45.0),
    ("C", "2024-02-01", 55.0),
    ("C", "2024-02-29 23:00", 10.0),
    # D: first seen in the holdout, so not scored.
    ("D", "2024-02-03", 100.0),
    # E: only a return in the calibration (no purchase history), so not scored.
    ("E", "2024-01-08", -20.0),
    ("E", "2024-02-08", 70.0),
    # G: two orders on one calibration day (frequency 0); nothing in the holdout.
    ("G", "2024-01-20", 35.0),
    ("G", "2024-01-20", 15.0),
]
# Per scored customer A, B, C, G: holdout purchase occasions and net holdout spend, by hand.
EXPECTED_IDS = ["A", "B", "C", "G"]
EXPECTED_PURCHASES = [2.0, 0.0, 2.0, 0.0]
EXPECTED_SPEND = [65.0, -30.0, 65.0, 0.0]


def _tx(rows=ROWS, ids=lambda values: values) -> pd.DataFrame:
    customer, date, amount = zip(*rows)
    return pd.DataFrame(
        {
            "customer_id": ids(pd.Series(customer)),
            "order_date": pd.to_datetime(list(date), format="mixed"),
            "amount": list(amount),
        }
    )


def _actuals(tx: pd.DataFrame, holdout_end: pd.Timestamp = HOLDOUT_END) -> pd.DataFrame:
    calibration = customer_summary(tx, as_of=CAL_END)
    return holdout_actuals(tx, calibration, calibration_end=CAL_END, holdout_end=holdout_end)


class TestHoldoutActuals:
    @pytest.mark.parametrize(
        "ids",
        [
            lambda s: s,
            lambda s: s.astype("category"),
            lambda s: s.map({"A": 3, "B": 1, "C": 4, "D": 5, "E": 9, "G": 2}),
        ],
        ids=["text", "categorical", "integer"],
    )
    def test_hand_computed(self, ids):
        tx = _tx(ids=ids)
        out = _actuals(tx)
        calibration = customer_summary(tx, as_of=CAL_END)
        # One row per calibration customer, in its order (D and E are not calibration customers).
        assert list(out["customer_id"].astype("str")) == list(calibration["customer_id"].astype("str"))
        expected = pd.DataFrame(
            {"purchases": EXPECTED_PURCHASES, "spend": EXPECTED_SPEND},
            index=[str(ids(pd.Series([c])).iloc[0]) for c in EXPECTED_IDS],
        )
        assert sorted(out["customer_id"].astype("str")) == sorted(expected.index)  # no D, no E
        got = out.set_axis(out["customer_id"].astype("str").to_numpy())
        np.testing.assert_array_equal(got.loc[expected.index, "actual_purchases"], expected["purchases"])
        np.testing.assert_allclose(got.loc[expected.index, "actual_spend"], expected["spend"])

    def test_row_order_does_not_matter(self):
        tx = _tx()
        shuffled = tx.sample(frac=1.0, random_state=3)
        pd.testing.assert_frame_equal(_actuals(tx), _actuals(shuffled))

    def test_holdout_end_bounds_the_count(self):
        out = _actuals(_tx(), holdout_end=pd.Timestamp("2024-03-05"))
        got = out.set_axis(out["customer_id"].astype("str").to_numpy())
        assert got.loc["A", "actual_purchases"] == 3 and got.loc["A", "actual_spend"] == 135
        out = _actuals(_tx(), holdout_end=pd.Timestamp("2024-02-01"))
        got = out.set_axis(out["customer_id"].astype("str").to_numpy())
        assert got["actual_purchases"].tolist() == [0, 0, 1, 0]

    def test_matches_a_plain_groupby_on_simulated_sales(self, simulated):
        tx = simulated
        cal_end, end = pd.Timestamp("2024-06-30"), pd.Timestamp("2024-12-31")
        calibration = customer_summary(tx, as_of=cal_end)
        out = holdout_actuals(tx, calibration, calibration_end=cal_end, holdout_end=end)
        day = tx["order_date"].dt.normalize()
        holdout = tx.loc[(day > cal_end) & (day <= end)].assign(day=day)
        known = holdout["customer_id"].isin(calibration["customer_id"].astype("str"))
        buys = holdout.loc[known & (holdout["amount"] >= 0)]
        occasions = buys.groupby("customer_id")["day"].nunique()
        spend = holdout.loc[known].groupby("customer_id")["amount"].sum()
        ids = out["customer_id"].astype("str")
        np.testing.assert_array_equal(out["actual_purchases"], occasions.reindex(ids).fillna(0).to_numpy())
        np.testing.assert_allclose(out["actual_spend"], spend.reindex(ids).fillna(0).to_numpy(), atol=1e-6)
        assert (holdout["amount"] < 0).any() and (~known).any()  # the data do have returns and new customers


class TestBacktestOnHandBuiltData:
    def test_report_counts_the_holdout_exactly(self):
        report = backtest(_tx(), calibration_end=CAL_END, holdout_end=HOLDOUT_END, models=("mbgnbd",), time_unit="day")
        assert report.calibration_end == pd.Timestamp("2024-01-31") and report.holdout_end == pd.Timestamp("2024-02-29")
        assert report.holdout_length == 29 and report.customers == 4
        (model,) = report.models
        assert model.model == "mbgnbd"
        assert set(model.params) == {"r", "alpha", "a", "b"}
        assert model.actual_purchases == 4
        assert [(row.frequency, row.customers, row.actual) for row in model.by_frequency] == [
            ("0", 2, 1.0),
            ("1", 1, 0.0),
            ("2", 1, 2.0),
        ]
        predicted = sum(row.customers * row.predicted for row in model.by_frequency)
        assert predicted == pytest.approx(model.predicted_purchases)
        payload = report.to_json()
        json.dumps(payload, allow_nan=False)
        assert payload["calibration_end"] == "2024-01-31" and payload["models"][0]["aggregate"]["actual"] == 4
        assert payload["models"][0]["by_frequency"][0] == {
            "frequency": "0",
            "customers": 2,
            "actual": 1.0,
            "predicted": model.by_frequency[0].predicted,
        }

    def test_default_holdout_ends_at_the_last_transaction(self):
        report = backtest(_tx(), calibration_end=CAL_END, models=("pareto",), time_unit="day")
        assert report.holdout_end == pd.Timestamp("2024-03-05") and report.holdout_length == 34
        assert report.models[0].actual_purchases == 5

    def test_first_day_with_a_time_of_day_is_inside_the_data(self):
        rows = [(c, "2024-01-01 10:00" if d == "2024-01-01" else d, a) for c, d, a in ROWS]
        # Calibrating on the first day alone is a valid period; it only leaves no repeat buyer to fit on.
        with pytest.raises(BadValueError, match="no customer has a repeat purchase by calibration_end 2024-01-01"):
            backtest(_tx(rows), calibration_end="2024-01-01", holdout_end="2024-01-31")


class TestAuc:
    def test_hand_computed(self):
        assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])) == 0.75
        # One tied pair counts one half: pairs (0.5 vs 0.5) = 0.5, (0.9 vs 0.5) = 1 → 0.75.
        assert auc(np.array([0.5, 0.5, 0.9]), np.array([False, True, True])) == 0.75

    def test_integer_labels_are_truth_values(self):
        assert auc(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 1])) == 1.0

    def test_one_class_only_has_no_auc(self):
        assert auc(np.array([0.2, 0.3]), np.array([True, True])) is None
        assert auc(np.array([0.2, 0.3]), np.array([False, False])) is None

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40))
    def test_equals_brute_force_pairwise_with_ties(self, pairs):
        score = np.array([p[0] for p in pairs], dtype=float)
        positive = np.array([p[1] for p in pairs])
        got = auc(score, positive)
        pos, neg = score[positive], score[~positive]
        if len(pos) == 0 or len(neg) == 0:
            assert got is None
            return
        diff = pos[:, None] - neg[None, :]
        brute = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
        assert got == pytest.approx(brute, abs=1e-12)
        assert auc(-score, positive) == pytest.approx(1 - brute, abs=1e-12)


class TestByFrequency:
    def test_buckets_and_the_seven_plus_row(self):
        frequency = np.array([0, 0, 1, 3, 7, 8, 12, 1, 6])
        actual = np.array([0.0, 1, 2, 3, 4, 5, 9, 0, 1])
        predicted = np.array([0.5, 0.3, 1, 2, 3, 6, 9, 1.4, 0.7])
        rows = by_frequency(frequency, actual, predicted)
        assert [r.frequency for r in rows] == ["0", "1", "3", "6", "7+"]  # empty frequencies have no row
        assert [r.customers for r in rows] == [2, 2, 1, 1, 3]
        assert [r.actual for r in rows] == pytest.approx([0.5, 1.0, 3.0, 1.0, 6.0])
        assert [r.predicted for r in rows] == pytest.approx([0.4, 1.2, 2.0, 0.7, 6.0])

    def test_float_frequencies_from_a_summary(self):
        rows = by_frequency(np.array([0.0, 7.0, 6.0, 20.0]), np.ones(4), np.zeros(4))
        assert [(r.frequency, r.customers) for r in rows] == [("0", 1), ("6", 1), ("7+", 2)]


class TestTopShare:
    def test_hand_computed(self):
        predicted = np.array([5.0, 1, 9, 3, 2, 8, 0, 4, 7, 6])
        spend = np.array([10.0, 0, 50, 0, 20, 5, 0, -40, 15, 0])
        # Top 20% = 2 customers (9 and 8) bought 50 + 5 of 100 positive revenue; the return counts as none.
        assert top_share(predicted, spend) == pytest.approx(0.55)
        # ⌈0.2 · 11⌉ = 3 customers.
        assert top_share(np.arange(11.0), np.ones(11)) == pytest.approx(3 / 11)

    def test_no_revenue_has_no_share(self):
        assert top_share(np.array([1.0, 2.0]), np.array([0.0, -5.0])) is None


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """5,000 customers simulated from known MBG/NBD and Gamma-Gamma parameters (with returns), fixed seed."""
    return simulate_sales(5000, seed=1).transactions


@pytest.fixture(scope="module")
def report(simulated) -> BacktestReport:
    """The three models backtested on the simulated sales: calibration to mid-2024, holdout to the end."""
    return backtest(simulated, calibration_end="2024-06-30", models=("mbgnbd", "bgnbd", "pareto"), time_unit="week")


class TestOnSimulatedData:
    @pytest.mark.parametrize("name", ["mbgnbd", "bgnbd", "pareto"])
    def test_aggregate_prediction_is_close_to_what_happened(self, report, name):
        model = next(m for m in report.models if m.model == name)
        assert model.converged
        assert model.actual_purchases > 5000
        assert model.predicted_purchases == pytest.approx(model.actual_purchases, rel=0.10)
        assert model.correlation is not None and model.correlation > 0.6
        assert model.clv_correlation is not None and model.clv_correlation > 0.5
        assert model.top20_capture is not None and 0.5 < model.top20_capture <= 1

    @pytest.mark.parametrize("name", ["mbgnbd", "pareto"])
    def test_p_alive_ranks_who_buys_again(self, report, name):
        auc_ = next(m for m in report.models if m.model == name).p_alive_auc
        assert auc_ is not None and auc_ > 0.7

    def test_bgnbd_ranks_one_time_buyers_as_ties(self, report):
        # BG/NBD gives every one-time buyer P(alive) = 1, so its AUC sits well below MBG/NBD's.
        by_name = {m.model: m for m in report.models}
        assert by_name["bgnbd"].p_alive_auc < by_name["mbgnbd"].p_alive_auc - 0.1
        # ... and says why: the one-time buyers, the frequency-0 row of the by-frequency table.
        assert by_name["bgnbd"].p_alive_ties == by_name["bgnbd"].by_frequency[0].customers > 0
        assert by_name["mbgnbd"].p_alive_ties is None and by_name["pareto"].p_alive_ties is None

    def test_by_frequency_adds_up_and_tracks_the_actuals(self, report):
        model = report.models[0]
        rows = model.by_frequency
        assert [r.frequency for r in rows] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
        assert sum(r.customers for r in rows) == report.customers
        assert sum(r.customers * r.actual for r in rows) == pytest.approx(model.actual_purchases)
        actual = [r.actual for r in rows]
        assert actual[-1] == max(actual) and actual[0] == min(actual)
        for row in rows:
            assert row.predicted == pytest.approx(row.actual, rel=0.3)

    def test_time_unit_does_not_change_predictions(self, simulated, report):
        daily = backtest(simulated, calibration_end="2024-06-30", models=("mbgnbd",), time_unit="day")
        assert daily.holdout_length == pytest.approx(report.holdout_length * 7)
        assert daily.models[0].predicted_purchases == pytest.approx(report.models[0].predicted_purchases, rel=1e-4)


class TestBadOptions:
    def test_holdout_end_before_calibration_end(self):
        with pytest.raises(OptionError, match="holdout_end 2024-01-20 must be after calibration_end 2024-01-31"):
            backtest(_tx(), calibration_end=CAL_END, holdout_end="2024-01-20")

    def test_holdout_end_equal_to_calibration_end(self):
        with pytest.raises(OptionError, match="must be after calibration_end"):
            backtest(_tx(), calibration_end=CAL_END, holdout_end=CAL_END)

    def test_holdout_end_after_the_last_transaction(self):
        with pytest.raises(OptionError, match="holdout_end 2024-06-30 is after the last transaction") as error:
            backtest(_tx(), calibration_end=CAL_END, holdout_end="2024-06-30")
        assert "2024-01-01 to 2024-03-05" in str(error.value) and error.value.hint

    def test_calibration_end_before_the_first_date(self):
        with pytest.raises(OptionError, match="calibration_end 2023-12-31 is before the first transaction") as error:
            backtest(_tx(), calibration_end="2023-12-31")
        assert "2024-01-01 to 2024-03-05" in str(error.value)

    def test_calibration_end_leaving_no_holdout(self):
        for end in ("2024-03-05", "2024-04-01"):
            with pytest.raises(OptionError, match=f"calibration_end {end} leaves no holdout"):
                backtest(_tx(), calibration_end=end)

    def test_no_repeat_buyers(self):
        rows = [("A", "2024-01-01", 10.0), ("B", "2024-01-02", 20.0), ("A", "2024-02-01", 30.0)]
        with pytest.raises(BadValueError, match="no customer has a repeat purchase by calibration_end") as error:
            backtest(_tx(rows), calibration_end="2024-01-15")
        assert "later calibration_end" in error.value.hint

    def test_too_few_repeat_buyers_for_the_spend_model(self):
        rows = [
            ("A", "2024-01-01", 10.0),
            ("A", "2024-01-05", 20.0),
            ("B", "2024-01-02", 20.0),
            ("A", "2024-02-01", 30.0),
        ]
        with pytest.raises(BadValueError, match="spend model .* by calibration_end 2024-01-15") as error:
            backtest(_tx(rows), calibration_end="2024-01-15")
        assert "model=None" not in str(error.value) and "later calibration_end" in error.value.hint

    def test_unknown_model_and_time_unit(self):
        with pytest.raises(OptionError, match="unknown model 'nbd'"):
            backtest(_tx(), calibration_end=CAL_END, models=("nbd",))
        with pytest.raises(OptionError, match="unknown time unit 'year'"):
            backtest(_tx(), calibration_end=CAL_END, time_unit="year")

    def test_no_transactions(self):
        with pytest.raises(BadValueError, match="no transactions"):
            backtest(_tx().iloc[:0], calibration_end=CAL_END)
