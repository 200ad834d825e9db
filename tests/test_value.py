"""CLV and value scoring: horizons, monthly discounting, time-unit invariance, margins, prospects, delivered value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmkit.datasets.btyd import simulate_bgnbd, simulate_spend
from crmkit.errors import BadValueError, MissingColumnsError, OptionError
from crmkit.models import FittedModels, GammaGammaModel, TransactionModel, compress
from crmkit.schema import COST_COMPONENTS, CUSTOMER_ID, TIME_UNIT_DAYS, VALUE_COMPONENTS
from crmkit.scoring.value import (
    DELIVERED_COLUMNS,
    VALUE_OUTPUT_COLUMNS,
    clv,
    delivered_value,
    missing_delivered_components,
    parse_horizon,
    run_rate_value,
    score_value,
)

WEEKLY = TransactionModel("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4, 2357)
SPEND = GammaGammaModel(6.25, 3.74, 15.44, 946, population_mean=6.25 * 15.44 / 2.74)
CUSTOMERS = (
    np.array([2.0, 0.0, 7.0]),
    np.array([30.43, 0.0, 35.0]),
    np.array([38.86, 38.86, 38.86]),
    np.array([22.35, 0.0, 40.0]),
)


def _summary(n: int = 6000, seed: int = 0, unit_days: float = 1.0) -> pd.DataFrame:
    """A day-resolution customer summary from BG/NBD + Gamma-Gamma, expressed in a unit of ``unit_days`` days."""
    rng = np.random.default_rng(seed)
    days = rng.integers(60, 730, n).astype(float)
    sim = simulate_bgnbd({"r": 0.6, "alpha": 40.0, "a": 0.8, "b": 2.4}, days, seed=seed)
    monetary = np.round(simulate_spend({"p": 6.0, "q": 4.0, "v": 15.0}, sim.frequency, seed=seed), 2)
    return pd.DataFrame(
        {
            CUSTOMER_ID: [f"C{i:05d}" for i in range(n)],
            "frequency": sim.frequency,
            "recency": np.round(sim.recency) / unit_days,
            "T": days / unit_days,
            "monetary": monetary,
            "total_revenue": monetary * sim.frequency + 20.0,
        }
    )


class TestParseHorizon:
    @pytest.mark.parametrize(
        "text,unit,expected",
        [
            ("12m", "day", 365.25),
            ("52w", "week", 52.0),
            ("365d", "week", 365 / 7),
            ("1y", "month", 12.0),
            ("6m", "month", 6.0),
            (" 2Y ", "day", 730.5),
            ("1.5m", "week", 1.5 * 365.25 / 12 / 7),
        ],
    )
    def test_converts_to_the_time_unit(self, text, unit, expected):
        assert parse_horizon(text, unit) == pytest.approx(expected)

    @pytest.mark.parametrize("text", ["12", "m12", "0m", "-3m", "12 months", ""])
    def test_unreadable_horizons_show_examples(self, text):
        with pytest.raises(OptionError, match="12m, 52w, 365d or 1y"):
            parse_horizon(text, "day")

    def test_unknown_time_unit_lists_the_choices(self):
        with pytest.raises(OptionError, match="day, week, month"):
            parse_horizon("12m", "fortnight")


class TestClv:
    def test_undiscounted_clv_is_margin_times_spend_times_expected_purchases(self):
        f, r, T, m = CUSTOMERS
        value = clv(WEEKLY, SPEND, f, r, T, m, horizon=39.0, time_unit_days=7.0, margin=0.3, discount_rate=0.0)
        expected = 0.3 * SPEND.expected_spend(f, m) * WEEKLY.expected_purchases(39.0, f, r, T)
        np.testing.assert_allclose(value, expected, rtol=1e-12)

    def test_each_month_is_discounted_at_its_end(self):
        f, r, T, m = CUSTOMERS
        month = 365.25 / 12 / 7  # weeks
        horizon = 3 * month
        cumulative = [WEEKLY.expected_purchases(k * month, f, r, T) for k in range(4)]
        by_hand = sum((cumulative[k] - cumulative[k - 1]) * 1.1 ** (-k / 12) for k in range(1, 4))
        value = clv(WEEKLY, SPEND, f, r, T, m, horizon=horizon, time_unit_days=7.0, discount_rate=0.10)
        np.testing.assert_allclose(value, SPEND.expected_spend(f, m) * by_hand, rtol=1e-12)

    def test_a_partial_last_month_is_cut_at_the_horizon(self):
        f, r, T, m = CUSTOMERS
        full = clv(WEEKLY, SPEND, f, r, T, m, horizon=52.0, time_unit_days=7.0, discount_rate=0.0)
        np.testing.assert_allclose(full, SPEND.expected_spend(f, m) * WEEKLY.expected_purchases(52.0, f, r, T))

    def test_higher_discount_and_shorter_horizon_give_less(self):
        f, r, T, m = CUSTOMERS
        base = clv(WEEKLY, SPEND, f, r, T, m, horizon=52.0, time_unit_days=7.0)
        assert (clv(WEEKLY, SPEND, f, r, T, m, horizon=52.0, time_unit_days=7.0, discount_rate=0.3) < base).all()
        assert (clv(WEEKLY, SPEND, f, r, T, m, horizon=26.0, time_unit_days=7.0) < base).all()
        assert (base > 0).all()

    def test_per_customer_margin(self):
        f, r, T, m = CUSTOMERS
        margins = np.array([0.1, 0.5, 1.0])
        revenue = clv(WEEKLY, SPEND, f, r, T, m, horizon=52.0, time_unit_days=7.0)
        np.testing.assert_allclose(
            clv(WEEKLY, SPEND, f, r, T, m, horizon=52.0, time_unit_days=7.0, margin=margins), revenue * margins
        )

    @pytest.mark.parametrize(
        "settings,match",
        [
            ({"horizon": 0.0, "time_unit_days": 7.0}, "horizon"),
            ({"horizon": 5.0, "time_unit_days": 7.0, "discount_rate": -0.1}, "discount rate"),
            ({"horizon": 5.0, "time_unit_days": 7.0, "margin": np.nan}, "margin"),
        ],
    )
    def test_bad_settings_are_refused(self, settings, match):
        with pytest.raises(OptionError, match=match):
            clv(WEEKLY, SPEND, *CUSTOMERS, **settings)


class TestScoreValue:
    def test_the_same_customers_are_worth_the_same_in_any_time_unit(self):
        by_day, _ = score_value(_summary(), time_unit="day", horizon="12m")
        for unit in ("week", "month"):
            other, fit = score_value(_summary(unit_days=TIME_UNIT_DAYS[unit]), time_unit=unit, horizon="12m")
            assert fit.horizon_units == pytest.approx(365.25 / TIME_UNIT_DAYS[unit])
            for column in ("clv", "expected_purchases", "p_alive"):
                np.testing.assert_allclose(other[column], by_day[column], rtol=2e-4, err_msg=f"{unit} {column}")

    def test_output_columns_order_and_prospects(self):
        summary = _summary(3000)
        prospects = pd.DataFrame(
            {
                CUSTOMER_ID: ["P1", "P2"],
                "frequency": [np.nan] * 2,
                "recency": [np.nan] * 2,
                "T": [np.nan] * 2,
                "monetary": [np.nan] * 2,
                "total_revenue": [0.0, 0.0],
            }
        )
        with_prospects = pd.concat([prospects, summary], ignore_index=True)
        before = with_prospects.copy()
        out, fit = score_value(with_prospects)
        pd.testing.assert_frame_equal(with_prospects, before)  # input untouched
        assert tuple(out.columns) == VALUE_OUTPUT_COLUMNS
        assert out[CUSTOMER_ID].tolist() == with_prospects[CUSTOMER_ID].tolist()
        assert out.loc[:1, ["expected_purchases", "p_alive", "expected_spend", "clv"]].isna().all().all()
        buyers = out.loc[2:]
        assert buyers.notna().all().all() and (buyers["clv"] > 0).all()
        assert ((buyers["p_alive"] >= 0) & (buyers["p_alive"] <= 1)).all()
        assert fit.prospects == 2 and fit.model.name == "mbgnbd" and fit.model.n_customers == 3000
        alone, _ = score_value(summary)
        np.testing.assert_allclose(buyers["clv"].to_numpy(), alone["clv"].to_numpy())

    def test_margin_from_total_margin_or_from_the_option(self):
        summary = _summary(3000).assign(total_margin=lambda s: s["total_revenue"] * 0.25)
        revenue, _ = score_value(summary.drop(columns="total_margin"))
        from_column, fit = score_value(summary)
        np.testing.assert_allclose(from_column["clv"], revenue["clv"] * 0.25, rtol=1e-9)
        np.testing.assert_allclose(from_column["historic_value"], summary["total_margin"])
        assert fit.to_dict()["margin"].startswith("per customer")
        explicit, fit = score_value(summary, margin=0.4)
        np.testing.assert_allclose(explicit["clv"], revenue["clv"] * 0.4, rtol=1e-9)
        np.testing.assert_allclose(explicit["historic_value"], summary["total_revenue"] * 0.4)
        assert fit.to_dict()["margin"] == 0.4

    def test_per_customer_margin_share_is_clipped_to_the_revenue(self):
        """A margin larger than the revenue (a data error, or revenue netted by returns) counts as 100%, a loss
        larger than it as −100%: the CLV never multiplies expected spend by more than the spend itself."""
        summary = _summary(3000)
        revenue = summary["total_revenue"].to_numpy()
        summary["total_margin"] = revenue * 0.3
        summary.loc[0, "total_margin"] = revenue[0] * 3
        summary.loc[1, "total_margin"] = -revenue[1] * 5
        plain, _ = score_value(summary.drop(columns="total_margin"))
        clipped, _ = score_value(summary)
        np.testing.assert_allclose(clipped["clv"].iloc[:3], plain["clv"].iloc[:3] * [1.0, -1.0, 0.3], rtol=1e-9)

    def test_fit_summary_is_ready_for_json_and_the_report(self):
        _, fit = score_value(_summary(3000), model="bgnbd", time_unit="day", horizon="6m")
        record = fit.to_dict()
        assert record["model"] == "bgnbd" and record["time_unit"] == "day" and record["converged"] is True
        assert set(record["params"]) == {"r", "alpha", "a", "b"}
        assert set(record["gamma_gamma"]) >= {"p", "q", "v", "n_customers"}
        assert record["horizon"] == "6m" and record["discount_rate"] == 0.10
        assert TransactionModel.from_dict(record).params == fit.model.params

    @pytest.mark.parametrize(
        "options,error,match",
        [
            ({"margin": 1.5}, OptionError, "between 0 and 1"),
            ({"horizon": "soon"}, OptionError, "12m"),
            ({"model": "nbd"}, OptionError, "choose one of"),
            ({"discount_rate": -0.5}, OptionError, "discount rate"),
        ],
    )
    def test_bad_options_are_refused_before_fitting(self, options, error, match):
        with pytest.raises(error, match=match):
            score_value(_summary(500), **options)

    def test_missing_summary_columns_are_named(self):
        with pytest.raises(MissingColumnsError, match="monetary, total_revenue"):
            score_value(_summary(100).drop(columns=["monetary", "total_revenue"]))


PARETO = TransactionModel("pareto", {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}, -9500.0, 2357)
MODELS = (WEEKLY, TransactionModel("mbgnbd", dict(WEEKLY.params), -9500.0, 2357), PARETO)


class TestValueIfActive:
    """Value if they stay: E[value over the horizon | still active at T], discounted like CLV."""

    @staticmethod
    def _summary_of(frequency, recency, T, monetary) -> pd.DataFrame:
        n = len(frequency)
        return pd.DataFrame(
            {
                CUSTOMER_ID: [f"C{i}" for i in range(n)],
                "frequency": frequency,
                "recency": recency,
                "T": T,
                "monetary": monetary,
                "total_revenue": np.asarray(monetary) * (np.asarray(frequency) + 1),
            }
        )

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
    def test_clv_is_value_if_active_times_p_alive(self, model):
        summary = self._summary_of(*CUSTOMERS)
        out, _ = score_value(summary, time_unit="week", fitted=FittedModels(model, SPEND, "week"))
        np.testing.assert_allclose(out["clv"], out["value_if_active"] * out["p_alive"], rtol=1e-12)
        assert (out["value_if_active"] >= out["clv"]).all()

    def test_pareto_value_if_active_is_the_closed_form(self):
        """Schmittlein et al. (1987): E[X(t) | alive at T] = (r+x)/(α+T) · (β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)]."""
        f, r_, T, m = CUSTOMERS
        summary = self._summary_of(f, r_, T, m)
        out, _ = score_value(
            summary, time_unit="week", horizon="364d", discount_rate=0.0, fitted=FittedModels(PARETO, SPEND, "week")
        )
        r, alpha, s, beta = (PARETO.params[k] for k in ("r", "alpha", "s", "beta"))
        t = 52.0
        purchases = (r + f) / (alpha + T) * (beta + T) / (s - 1) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        np.testing.assert_allclose(out["value_if_active"], SPEND.expected_spend(f, m) * purchases, rtol=1e-9)

    def test_a_lapsed_heavy_buyer_keeps_the_value_clv_loses(self):
        """81 repeat purchases in 479 days, then 168 days of silence: CLV is about 0, but if they stay they are
        worth as much as an active customer of the same age and history: up to (r+x)/(α+T) purchases a day, a
        little less since they may still leave during the year."""
        model = TransactionModel("mbgnbd", {"r": 0.6544, "alpha": 23.32, "a": 0.6737, "b": 3.575}, 0.0, 2000)
        summary = self._summary_of([81.0, 81.0], [479.0, 646.0], [647.0, 647.0], [577.0, 577.0])
        out, _ = score_value(summary, discount_rate=0.0, fitted=FittedModels(model, SPEND, "day"))
        lapsed, active = out.iloc[0], out.iloc[1]
        assert lapsed["p_alive"] < 1e-6 and lapsed["clv"] < 1.0
        assert lapsed["value_if_active"] == pytest.approx(active["value_if_active"], rel=1e-12)
        rate = (0.6544 + 81) / (23.32 + 647)
        bound = SPEND.expected_spend(81.0, 577.0) * rate * 365.25
        assert 0.8 * bound < lapsed["value_if_active"] < bound

    @pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
    def test_extreme_customers_get_finite_values(self, model):
        f = np.array([0.0, 0.0, 500.0, 500.0, 1.0, 3000.0, 0.0])
        T = np.array([0.0, 1e5, 500.0, 1e5, 1e-3, 3000.0, 1e-9])
        r = np.minimum(np.array([0.0, 0.0, 500.0, 10.0, 1e-3, 2999.0, 0.0]), T)
        data = compress(f, r, T)
        for times in ([1e-6], [52.0], [1e4], [1.0, 1e3, 1e6]):
            alive = model.alive_weighted_purchases_on(times, np.ones(len(times)), data)
            assert np.isfinite(alive).all() and (alive >= 0).all(), times

    def test_run_rate_stands_in_without_a_model(self):
        """Historic value per day since the first purchase (at least the horizon), over the horizon."""
        table = pd.DataFrame(
            {
                CUSTOMER_ID: ["steady", "lapsed", "new", "prospect"],
                "first_purchase": pd.to_datetime(["2023-12-01", "2023-01-01", "2024-12-01", None]),
                "last_purchase": pd.to_datetime(["2024-12-01", "2023-06-30", "2024-12-21", None]),
                "days_since_last": [30.0, 550.0, 10.0, np.nan],
                "total_revenue": [3350.0, 1000.0, 400.0, np.nan],
                "total_margin": [1000.0, 730.0, 100.0, np.nan],
            }
        )
        value = run_rate_value(table, horizon="365d", discount_rate=0.0)
        # 396 and 730 days of history; the new customer's 30 days count as the horizon's 365.
        np.testing.assert_allclose(value[:3], [1000 / 396 * 365, 730 / 730 * 365, 100.0])
        assert np.isnan(value[3])
        by_revenue = run_rate_value(table.drop(columns="total_margin"), horizon="365d", discount_rate=0.0)
        np.testing.assert_allclose(by_revenue[:3], [3350 / 396 * 365, 500.0, 400.0])
        half = run_rate_value(table, horizon="365d", margin=0.5, discount_rate=0.0)
        np.testing.assert_allclose(half[:3], by_revenue[:3] / 2)
        discounted = run_rate_value(table, horizon="365d", discount_rate=0.1)
        # A constant rate discounted month by month: about the mid-year factor.
        np.testing.assert_allclose(discounted[:3] / value[:3], 1.1 ** (-6.5 / 12), rtol=2e-3)


def _master() -> pd.DataFrame:
    return pd.DataFrame(
        {
            CUSTOMER_ID: ["A", "B", "C"],
            "product_value": [8, 5, 3],
            "service_value": [6, 5, 1],
            "personnel_value": [4, 5, 1],
            "image_value": [2, 5, 1],
            "monetary_cost": [5, 2, 0],
            "time_cost": [2, 2, 0],
            "energy_cost": [1, 2, 0],
            "physical_cost": [2, 2, 0],
        }
    )


class TestDeliveredValue:
    def test_value_cost_difference_and_ratio(self):
        out = delivered_value(_master())
        assert tuple(out.columns) == (CUSTOMER_ID, *DELIVERED_COLUMNS)
        np.testing.assert_allclose(out["total_customer_value"], [20, 20, 6])
        np.testing.assert_allclose(out["total_customer_cost"], [10, 8, 0])
        np.testing.assert_allclose(out["delivered_value"], [10, 12, 6])
        np.testing.assert_allclose(out["delivered_value_ratio"], [2.0, 2.5, np.nan])

    def test_weights(self):
        out = delivered_value(_master(), weights={"product_value": 2.0, "monetary_cost": 0.0})
        np.testing.assert_allclose(out["total_customer_value"], [28, 25, 9])
        np.testing.assert_allclose(out["total_customer_cost"], [5, 6, 0])
        with pytest.raises(OptionError, match="unknown delivered-value weight"):
            delivered_value(_master(), weights={"price": 1.0})

    def test_missing_components_are_named(self):
        partial = _master().drop(columns=["image_value", "time_cost"])
        assert missing_delivered_components(partial.columns) == ["image_value", "time_cost"]
        assert missing_delivered_components(_master().columns) == []
        with pytest.raises(MissingColumnsError, match="image_value, time_cost"):
            delivered_value(partial)
        assert len(missing_delivered_components([CUSTOMER_ID])) == len(VALUE_COMPONENTS) + len(COST_COMPONENTS)

    def test_text_in_a_component_names_the_row(self):
        master = _master().astype({"service_value": object})
        master.loc[1, "service_value"] = "high"
        with pytest.raises(BadValueError, match="'service_value'.*row 1: 'high'"):
            delivered_value(master)
