"""Churn risk, bands, expected next purchase, value at risk and the list of customers worth saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.datasets.sample import simulate_sales
from crmkit.errors import OptionError
from crmkit.output import excel
from crmkit.schema import CHURN_BANDS
from crmkit.scoring.churn import (
    AT_RISK_COLUMNS,
    CHURN_COLUMNS,
    LIST_COLUMNS,
    LOST_KEY_ACCOUNT_COLUMNS,
    ChurnBands,
    at_risk,
    bands_from_config,
    lost_key_accounts,
    rhythm_risk,
    score_churn,
)


def _table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "customer_id": [f"C{i}" for i in range(n)],
        "last_purchase": pd.to_datetime(["2024-06-01"] * n),
        "days_since_last": [10.0] * n,
        "usual_gap_days": [20.0] * n,
        "total_revenue": [100.0] * n,
        "value_if_active": [100.0] * n,
    }
    return pd.DataFrame({**base, **columns})


class TestRhythmRisk:
    def test_hand_computed_points(self):
        risk = rhythm_risk(np.array([0.0, 20, 30, 40, 80]), np.full(5, 20.0))
        np.testing.assert_allclose(risk, [0, 1 / 9, 3.375 / 11.375, 0.5, 64 / 72])

    def test_rises_with_silence(self):
        risk = rhythm_risk(np.arange(0.0, 500), np.full(500, 30.0))
        assert (np.diff(risk) > 0).all() and risk[-1] < 1


class TestScoreChurn:
    def test_model_risk_bands_and_value(self):
        table = _table(p_alive=[0.75, 0.7, 0.41, 0.4, 0.05], value_if_active=[200.0, 100.0, 50.0, 10.0, 1000.0])
        out = score_churn(table)
        assert tuple(out.columns) == CHURN_COLUMNS
        np.testing.assert_allclose(out["churn_risk"], [0.25, 0.3, 0.59, 0.6, 0.95])
        # A risk equal to a cut-off takes the higher band.
        assert list(out["churn_band"]) == ["low", "medium", "medium", "high", "high"]
        np.testing.assert_allclose(out["value_at_risk"], [50, 30, 29.5, 6, 950])

    def test_without_model_risk_is_rhythm(self):
        table = _table(
            days_since_last=[20.0, 40.0, 40.0], usual_gap_days=[20.0, 20.0, 20.0], value_if_active=[90.0, 300.0, -50.0]
        )
        out = score_churn(table)
        np.testing.assert_allclose(out["churn_risk"], [1 / 9, 0.5, 0.5])
        assert list(out["churn_band"]) == ["low", "medium", "medium"]
        np.testing.assert_allclose(out["value_at_risk"], [10, 150, -25])  # a loss-making customer: nothing to save

    def test_value_at_risk_is_what_they_bring_if_they_stay_times_the_risk(self):
        """A lapsed big customer: P(alive) ≈ 0 makes CLV ≈ 0, but the value if they stay is intact, so almost
        all of it is at risk; an active small customer risks little."""
        table = _table(p_alive=[1e-9, 0.95], value_if_active=[8000.0, 40.0])
        out = score_churn(table)
        np.testing.assert_allclose(out["value_at_risk"], [8000.0 * (1 - 1e-9), 2.0])

    def test_missing_p_alive_falls_back_to_rhythm(self):
        out = score_churn(_table(p_alive=[0.9, np.nan], days_since_last=[10.0, 40.0]))
        np.testing.assert_allclose(out["churn_risk"], [0.1, 0.5])

    def test_expected_next_purchase_is_last_plus_the_gap_even_when_overdue(self):
        table = _table(usual_gap_days=[20.0, 10.4, 365.0], days_since_last=[5.0, 100.0, 1.0])
        out = score_churn(table)
        assert list(out["expected_next_purchase"].dt.strftime("%Y-%m-%d")) == ["2024-06-21", "2024-06-11", "2025-06-01"]

    def test_expected_next_purchase_rounds_the_gap_to_the_nearest_day(self):
        out = score_churn(_table(usual_gap_days=[10.4, 10.6, 0.5, 1.5]))
        assert list(out["expected_next_purchase"].dt.day) == [11, 12, 1, 3]  # 2024-06-01 + 10, 11, 0, 2 days

    def test_prospects_get_nothing_and_every_buyer_one_band(self):
        table = _table(p_alive=[0.5, np.nan], value_if_active=[10.0, np.nan])
        table.loc[1, ["last_purchase", "days_since_last", "usual_gap_days", "total_revenue"]] = np.nan
        out = score_churn(table)
        assert out["churn_band"].iloc[0] == "medium"
        assert out.iloc[1][["churn_risk", "churn_band", "expected_next_purchase", "value_at_risk"]].isna().all()

    def test_custom_bands(self):
        out = score_churn(_table(p_alive=[0.85, 0.7, 0.1]), bands=ChurnBands(medium=0.1, high=0.8))
        assert list(out["churn_band"]) == ["medium", "medium", "high"]

    def test_keeps_the_table_order_and_index(self):
        table = _table(p_alive=[0.1, 0.2, 0.3]).set_axis([7, 3, 5])
        out = score_churn(table)
        assert list(out.index) == [7, 3, 5] and list(out["customer_id"]) == ["C0", "C1", "C2"]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 2000), st.floats(1, 400), st.none() | st.floats(0, 1)), min_size=1, max_size=30),
    st.floats(0.01, 0.49),
    st.floats(0.5, 0.99),
)
def test_every_buyer_gets_exactly_one_band(rows, medium, high):
    days, gaps, p_alive = zip(*rows)
    table = _table(
        days_since_last=list(days), usual_gap_days=list(gaps), p_alive=[np.nan if p is None else p for p in p_alive]
    )
    bands = ChurnBands(medium=medium, high=high)
    out = score_churn(table, bands=bands)
    assert out["churn_band"].isin(CHURN_BANDS).all()
    assert ((out["churn_risk"] >= 0) & (out["churn_risk"] <= 1)).all()
    expected = np.where(out["churn_risk"] >= high, "high", np.where(out["churn_risk"] >= medium, "medium", "low"))
    assert list(out["churn_band"]) == list(expected)


class TestBandsConfig:
    def test_defaults_and_overrides(self):
        assert bands_from_config({}) == ChurnBands(medium=0.3, high=0.6)
        assert bands_from_config({"high": 0.7}) == ChurnBands(medium=0.3, high=0.7)
        assert bands_from_config({"medium": "0.2", "high": 0.5}) == ChurnBands(medium=0.2, high=0.5)

    def test_unknown_key_lists_the_valid_ones(self):
        with pytest.raises(OptionError, match="unknown \\[churn\\] setting\\(s\\) hi; valid: medium, high"):
            bands_from_config({"hi": 0.7})

    @pytest.mark.parametrize(
        "config",
        [
            {"medium": 0.7},
            {"high": 0.2},
            {"medium": 0},
            {"high": 1.0},
            {"medium": -0.1},
            {"high": "lots"},
            {"high": True},
            {"medium": float("nan")},
        ],
    )
    def test_bad_values_raise(self, config):
        with pytest.raises(OptionError, match="\\[churn\\]"):
            bands_from_config(config)


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F", "G", "H", "I"],
            "tier": ["platinum", "gold", "iron", "gold", "iron", "platinum", "prospect", "iron", "gold"],
            "lifecycle_stage": [
                "decline",
                "termination",
                "decline",
                "maturity",
                "maturity",
                "growth",
                "acquisition",
                "decline",
                "decline",
            ],
            "churn_band": ["medium", "high", "high", "low", "high", "low", None, "low", "low"],
            "last_purchase": pd.to_datetime(["2024-01-01"] * 7 + [None, "2024-01-01"]),
            "usual_gap_days": [30.0] * 9,
            "days_overdue": [10.0] * 9,
            "churn_risk": [0.4, 0.9, 0.7, 0.1, 0.8, 0.05, np.nan, 0.2, 0.25],
            "value_at_risk": [500.0, 500.0, 900.0, 5.0, 20.0, 3.0, np.nan, 0.0, 50.0],
            "salesperson": ["Li", "Wang", None, "Li", "Wang", "Li", "Li", "Wang", "Li"],
            "total_revenue": [900.0, 800.0, 1.0, 700.0, 1.0, 5000.0, np.nan, 1.0, 800.0],
        }
    )


class TestAtRisk:
    def test_medium_and_high_risk_sorted_by_value_at_risk_then_id(self):
        saving = at_risk(_customers())
        # D, F, H, I: low risk (I is declining, but not at risk yet); G: prospect.
        assert list(saving["customer_id"]) == ["C", "A", "B", "E"]
        assert tuple(saving.columns) == tuple(c for c in AT_RISK_COLUMNS if c in _customers().columns)
        assert list(saving.index) == [0, 1, 2, 3]

    def test_termination_is_kept(self):
        assert "termination" in set(at_risk(_customers())["lifecycle_stage"])

    def test_min_tier_and_top(self):
        assert list(at_risk(_customers(), min_tier="platinum")["customer_id"]) == ["A"]
        assert list(at_risk(_customers(), min_tier="gold")["customer_id"]) == ["A", "B"]
        assert list(at_risk(_customers(), min_tier="iron")["customer_id"]) == ["C", "A", "B", "E"]
        assert list(at_risk(_customers(), top=2)["customer_id"]) == ["C", "A"]

    def test_name_column_when_present(self):
        saving = at_risk(_customers().assign(name=list("abcdefghi")))
        assert saving.columns[-1] == "name" and list(saving["name"]) == ["c", "a", "b", "e"]

    def test_bad_options_raise(self):
        with pytest.raises(OptionError, match="platinum, gold, iron"):
            at_risk(_customers(), min_tier="silver")
        with pytest.raises(OptionError, match="top must be 0 or more"):
            at_risk(_customers(), top=-1)


class TestLostKeyAccounts:
    def test_platinum_and_gold_in_decline_or_termination_by_historic_profit(self):
        lost = lost_key_accounts(_customers())
        # F is platinum but growing, D gold but mature; C and H are iron. By revenue (no margin column): A, B = I.
        assert list(lost["customer_id"]) == ["A", "B", "I"]
        assert list(lost.index) == [0, 1, 2]
        assert tuple(lost.columns) == tuple(c for c in LOST_KEY_ACCOUNT_COLUMNS if c in _customers().columns)

    def test_sorted_by_margin_when_there_is_one(self):
        customers = _customers().assign(total_margin=[10.0, 300.0, 0, 0, 0, 0, np.nan, 0, 20.0])
        assert list(lost_key_accounts(customers)["customer_id"]) == ["B", "I", "A"]
        assert list(lost_key_accounts(customers, min_tier="platinum")["customer_id"]) == ["A"]
        assert list(lost_key_accounts(customers, min_tier="iron")["customer_id"]) == ["B", "I", "A"]


# --- the whole run, on files ----------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture(scope="module")
def lapsed_and_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 simulated customers plus two written by hand: a big customer who bought every 6 days for 16 months
    and then went quiet for 5 months, and a small one who buys a little every 3 weeks, lately too."""
    tx = simulate_sales(300, seed=3).transactions[["customer_id", "order_date", "amount", "cost"]]
    as_of = pd.Timestamp("2024-12-31")
    lapsed = pd.DataFrame({"order_date": pd.date_range("2023-03-01", "2024-07-16", freq="6D"), "amount": 600.0})
    small = pd.DataFrame({"order_date": pd.date_range(end=as_of - pd.Timedelta(days=5), periods=30, freq="21D")})
    extra = pd.concat(
        [lapsed.assign(customer_id="LAPSED"), small.assign(customer_id="SMALL", amount=15.0)], ignore_index=True
    )
    path = tmp_path_factory.mktemp("churn") / "sales.csv"
    pd.concat([tx, extra.assign(cost=lambda f: f["amount"] * 0.6)], ignore_index=True).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("model", ["mbgnbd", None])
def test_a_lapsed_big_customer_tops_the_churn_list_and_an_active_small_one_is_not_on_it(lapsed_and_small, model):
    result = crmkit.score(crmkit.read_transactions(lapsed_and_small), options=crmkit.ScoreOptions(model=model))
    customers = result.customers.set_index("customer_id")
    assert customers.at["LAPSED", "tier"] == "platinum" and customers.at["LAPSED", "churn_band"] == "high"
    assert result.at_risk["customer_id"].iloc[0] == "LAPSED"
    assert "SMALL" not in set(result.at_risk["customer_id"])
    assert customers.at["SMALL", "churn_band"] == "low"
    assert customers.at["LAPSED", "value_at_risk"] > 10 * result.at_risk["value_at_risk"].median()
    lost = result.lost_key_accounts
    assert "LAPSED" in set(lost["customer_id"]) and set(lost["tier"]) <= {"platinum", "gold"}
    assert set(lost["lifecycle_stage"]) <= {"decline", "termination"}
    margins = lost["total_margin"].tolist()
    assert margins == sorted(margins, reverse=True)


def test_value_at_risk_rises_from_the_low_to_the_high_band_on_the_sample():
    """Before value if they stay, the high band showed the smallest value at risk (CLV had already collapsed)."""
    result = crmkit.score(crmkit.read_transactions(SAMPLES / "sales.xlsx"))
    bands = {row.band: row for row in result.summary.churn}
    per_customer = [bands[b].value_at_risk / bands[b].customers for b in CHURN_BANDS]
    assert per_customer == sorted(per_customer) and per_customer[0] < per_customer[-1] / 2
    assert bands["high"].value_at_risk > bands["low"].value_at_risk + bands["medium"].value_at_risk


def test_bgnbd_one_time_buyers_are_judged_by_the_data_not_by_their_p_alive_of_one(lapsed_and_small):
    """BG/NBD gives every one-time buyer P(alive) = 1: their stages and risks fall back to the model-free rules,
    while MBG/NBD's P(alive) decides for them."""
    tx = crmkit.read_transactions(lapsed_and_small)
    runs = {m: crmkit.score(tx, options=crmkit.ScoreOptions(model=m)).customers for m in ("bgnbd", None, "mbgnbd")}
    one_time = runs[None]["frequency"] == 0
    assert one_time.sum() > 20
    bgnbd, no_model = runs["bgnbd"].loc[one_time], runs[None].loc[one_time]
    assert (bgnbd["p_alive"] == 1).all()
    pd.testing.assert_series_equal(bgnbd["lifecycle_stage"], no_model["lifecycle_stage"])
    np.testing.assert_allclose(bgnbd["churn_risk"], no_model["churn_risk"])
    mbgnbd = runs["mbgnbd"].loc[one_time]
    gone = mbgnbd["lifecycle_stage"] == "termination"
    assert (mbgnbd.loc[gone, "p_alive"] < 0.5).all() and (mbgnbd.loc[~gone, "p_alive"] >= 0.5).any()


def test_the_lists_carry_every_column_the_workbook_shows():
    assert set(excel.AT_RISK_COLUMNS) <= set(LIST_COLUMNS)
    assert set(excel.LOST_KEY_ACCOUNT_COLUMNS) <= set(LIST_COLUMNS)
