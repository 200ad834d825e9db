"""BG/NBD and MBG/NBD: closed forms against independent formulas, gradients, recovery and extreme customers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.optimize import check_grad
from scipy.special import beta as beta_fn
from scipy.special import gamma as gamma_fn
from scipy.special import hyp2f1

from crmkit.datasets.btyd import simulate_bgnbd
from crmkit.models import TransactionModel, bgnbd, compress, fit_transaction_model

CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, weeks
CASES = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (5, 20.0, 30.0), (3, 10.0, 10.0)]


def _model(name: str, params: dict) -> TransactionModel:
    return TransactionModel(name, params, log_likelihood=np.nan, n_customers=0)


def _likelihood_by_hand(params: dict, x: int, t_x: float, T: float, k: int) -> float:
    """FHL 2005 eq. 6 (k = 0) / Batislam 2007 eq. 6 (k = 1) in plain arithmetic."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    common = gamma_fn(r + x) * alpha**r / gamma_fn(r)
    first = beta_fn(a, b + x + k) / beta_fn(a, b) * common / (alpha + T) ** (r + x)
    if x == 0 and k == 0:
        return first
    return first + beta_fn(a + 1, b + x + k - 1) / beta_fn(a, b) * common / (alpha + t_x) ** (r + x)


def _expectation_by_integration(params: dict, x: int, t_x: float, T: float, t: float, k: int) -> float:
    """E[Y(t) | x, t_x, T] by integrating the individual-level model over the Gamma and Beta mixing densities."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]

    def mixing(lam, p):
        return (
            alpha**r
            * lam ** (r - 1)
            * np.exp(-alpha * lam)
            / gamma_fn(r)
            * p ** (a - 1)
            * (1 - p) ** (b - 1)
            / beta_fn(a, b)
        )

    def alive(lam, p):  # joint density of the data and being alive at T
        return (1 - p) ** (x + k) * lam**x * np.exp(-lam * T)

    def dead(lam, p):
        return p * (1 - p) ** (x + k - 1) * lam**x * np.exp(-lam * t_x) if (x > 0 or k) else 0.0

    def future(lam, p):  # E[purchases in (T, T+t] | alive, λ, p]
        return -np.expm1(-lam * p * t) / p

    opts = {"epsabs": 0, "epsrel": 1e-10, "limit": 200}
    num = integrate.nquad(
        lambda lam, p: alive(lam, p) * future(lam, p) * mixing(lam, p), [(0, np.inf), (0, 1)], opts=[opts, opts]
    )[0]
    den = integrate.nquad(
        lambda lam, p: (alive(lam, p) + dead(lam, p)) * mixing(lam, p), [(0, np.inf), (0, 1)], opts=[opts, opts]
    )[0]
    return num / den


class TestClosedForms:
    @pytest.mark.parametrize("name,k", [("bgnbd", 0), ("mbgnbd", 1)])
    @pytest.mark.parametrize("x,t_x,T", CASES)
    def test_log_likelihood_matches_the_published_formula(self, name, k, x, t_x, T):
        data = compress([x], [t_x], [T])
        ll, _ = bgnbd.log_likelihood(np.log(list(CDNOW_BGNBD.values())), data, modified=bool(k))
        assert ll == pytest.approx(np.log(_likelihood_by_hand(CDNOW_BGNBD, x, t_x, T, k)), rel=1e-12)

    def test_cdnow_customer_expects_1_226_purchases_in_39_weeks(self):
        # FHL 2005 section 5: x = 2, t_x = 30.43, T = 38.86 with the published CDNOW parameters.
        model = _model("bgnbd", CDNOW_BGNBD)
        assert model.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)

    @pytest.mark.parametrize("x,t_x,T", CASES)
    def test_bgnbd_expectation_matches_fhl_equation_10(self, x, t_x, T):
        r, alpha, a, b = CDNOW_BGNBD.values()
        t = 39.0
        z = t / (alpha + T + t)
        head = (
            (a + b + x - 1)
            / (a - 1)
            * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
        )
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        model = _model("bgnbd", CDNOW_BGNBD)
        assert model.expected_purchases(t, [x], [t_x], [T])[0] == pytest.approx(head / (1 + odds), rel=1e-10)
        assert model.p_alive([x], [t_x], [T])[0] == pytest.approx(1 / (1 + odds), rel=1e-12)

    @pytest.mark.parametrize("name,k", [("bgnbd", 0), ("mbgnbd", 1)])
    @pytest.mark.parametrize("x,t_x,T", [(0, 0.0, 20.0), (2, 8.0, 20.0)])
    def test_expectation_matches_integration_of_the_individual_model(self, name, k, x, t_x, T):
        params = {"r": 0.9, "alpha": 3.0, "a": 1.6, "b": 2.5}
        expected = _expectation_by_integration(params, x, t_x, T, 10.0, k)
        assert _model(name, params).expected_purchases(10.0, [x], [t_x], [T])[0] == pytest.approx(expected, rel=1e-6)

    def test_mbgnbd_p_alive_matches_batislam(self):
        r, alpha, a, b = 0.5, 6.0, 0.9, 1.6
        x, t_x, T = np.array([0, 3]), np.array([0.0, 5.0]), np.array([30.0, 30.0])
        expected = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        model = _model("mbgnbd", {"r": r, "alpha": alpha, "a": a, "b": b})
        np.testing.assert_allclose(model.p_alive(x, t_x, T), expected, rtol=1e-12)

    def test_one_time_buyers_are_alive_under_bgnbd_but_not_mbgnbd(self):
        x, t_x, T = [0, 0], [0.0, 0.0], [1.0, 500.0]
        assert (_model("bgnbd", CDNOW_BGNBD).p_alive(x, t_x, T) == 1.0).all()
        p_alive = _model("mbgnbd", CDNOW_BGNBD).p_alive(x, t_x, T)
        assert p_alive[1] < p_alive[0] < 1.0

    @pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
    def test_new_customer_expectation_equals_the_mean_of_simulated_counts(self, name):
        params = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}
        sim = simulate_bgnbd(params, np.full(400_000, 50.0), seed=3, modified=name == "mbgnbd")
        expected = _model(name, params).expected_purchases_new([50.0])[0]
        assert sim.frequency.mean() == pytest.approx(expected, rel=0.01)

    @pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
    def test_conditional_expectations_average_to_the_unconditional_increment(self, name):
        # E[X(T+t)] − E[X(T)] = E over customers of E[Y(t) | x, t_x, T] (law of total expectation).
        params = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}
        model = _model(name, params)
        sim = simulate_bgnbd(params, np.full(400_000, 30.0), seed=4, modified=name == "mbgnbd")
        increment = np.diff(model.expected_purchases_new([30.0, 50.0]))[0]
        mean_conditional = model.expected_purchases(20.0, sim.frequency, sim.recency, sim.T).mean()
        assert mean_conditional == pytest.approx(increment, rel=0.01)
        assert model.p_alive(sim.frequency, sim.recency, sim.T).mean() == pytest.approx(sim.alive.mean(), abs=0.003)


class TestFit:
    @pytest.mark.parametrize("modified", [False, True])
    def test_analytic_gradient_matches_finite_differences(self, modified):
        sim = simulate_bgnbd(
            {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}, np.linspace(1, 60, 3000), seed=1, modified=modified
        )
        data = compress(sim.frequency, sim.recency, sim.T)
        n = data.weight.sum()
        for point in ([0.0, 0.0, 0.0, 0.0], [-1.2, 1.5, -0.3, 1.0], [1.0, 3.0, 1.5, -1.0], np.log([0.5, 4, 0.8, 2.4])):
            error = check_grad(
                lambda p: bgnbd.log_likelihood(p, data, modified=modified)[0] / n,
                lambda p: bgnbd.log_likelihood(p, data, modified=modified)[1] / n,
                np.array(point),
            )
            assert error < 1e-5  # per-customer log-likelihood; forward differences are good to ~1e-7

    @pytest.mark.parametrize("name", ["bgnbd", "mbgnbd"])
    def test_recovers_simulated_parameters_within_three_percent(self, name):
        truth = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}
        rng = np.random.default_rng(2)
        T = np.round(rng.uniform(52, 156, 300_000) * 7) / 7  # whole days, in weeks
        sim = simulate_bgnbd(truth, T, seed=2, modified=name == "mbgnbd")
        model = fit_transaction_model(name, sim.frequency, np.round(sim.recency * 7) / 7, sim.T)
        assert model.converged and model.n_customers == 300_000
        for key, value in truth.items():
            assert model.params[key] == pytest.approx(value, rel=0.03), key

    def test_fit_is_the_same_on_unique_rows_and_in_another_time_unit(self):
        sim = simulate_bgnbd({"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.4}, np.arange(1, 20001) % 60 + 5.0, seed=5)
        x, t_x, T = sim.frequency, np.round(sim.recency), sim.T
        weeks = fit_transaction_model("mbgnbd", x, t_x, T)
        days = fit_transaction_model("mbgnbd", x, t_x * 7, T * 7)
        assert days.params["alpha"] == pytest.approx(7 * weeks.params["alpha"], rel=1e-4)
        for key in ("r", "a", "b"):
            assert days.params[key] == pytest.approx(weeks.params[key], rel=1e-4)
        # The likelihood is a density in time: it changes by −log(7) per repeat purchase.
        assert days.log_likelihood == pytest.approx(weeks.log_likelihood - x.sum() * np.log(7), abs=1e-3)


PARAMS = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 20),
        "alpha": st.floats(0.01, 500),
        "a": st.floats(0.05, 20),
        "b": st.floats(0.05, 50),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    params=PARAMS,
    name=st.sampled_from(["bgnbd", "mbgnbd"]),
    x=st.integers(0, 1000),
    recency_share=st.floats(0, 1),
    T=st.floats(0, 1e5),
    t=st.floats(0.01, 1e4),
)
def test_predictions_stay_finite_and_ordered_for_any_customer(params, name, x, recency_share, T, t):
    model = _model(name, params)
    customers = ([x, 500, 500, 0, 0], [recency_share * T, 1e-6, T, 0.0, 0.0], [T, 1e-6, T, 1e5, 0.0])
    p_alive = model.p_alive(*customers)
    short, long = model.expected_purchases(t, *customers), model.expected_purchases(2 * t, *customers)
    assert np.isfinite(p_alive).all() and ((p_alive >= 0) & (p_alive <= 1)).all()
    assert np.isfinite(long).all() and (short >= 0).all()
    assert (long >= short * (1 - 1e-9) - 1e-12).all()
    data = compress(*customers)
    ll, grad = bgnbd.log_likelihood(np.log(list(params.values())), data, modified=name == "mbgnbd")
    assert np.isfinite(ll) and np.isfinite(grad).all()


@pytest.mark.parametrize("x,T,t", [(500, 1e-6, 10.0), (3, 2.0, 40.0), (1000, 5.0, 1e4)])
def test_large_x_near_z_one_matches_a_one_dimensional_integral(x, T, t):
    # scipy's 2F1 returns NaN for a large third parameter near z = 1; the fallback integrates over p.
    params = {"r": 1.0, "alpha": 1.0, "a": 2.0, "b": 1.0}
    r, alpha, a, b = params.values()
    rho, u = r + x, t / (alpha + T)

    def integrand(p):
        return (-np.expm1(-rho * np.log1p(p * u)) / p) * p ** (a - 1) * (1 - p) ** (b + x - 1) / beta_fn(a, b + x)

    alive_expectation = integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-12, limit=500, points=[a / (b + x)])[0]
    model = _model("bgnbd", params)
    p_alive = model.p_alive([x], [T], [T])[0]
    assert model.expected_purchases(t, [x], [T], [T])[0] == pytest.approx(alive_expectation * p_alive, rel=1e-9)
