"""Pareto/NBD: the stable likelihood against direct integration, the ₂F₁ helper, gradients, recovery, extremes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.optimize import check_grad
from scipy.special import gammaln

from crmkit.datasets.btyd import simulate_pareto
from crmkit.models import TransactionModel, compress, fit_transaction_model, pareto

CDNOW_PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}  # Fader, Hardie & Lee 2005, weeks
CASES = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (5, 20.0, 30.0), (3, 10.0, 10.0)]


def _model(params: dict) -> TransactionModel:
    return TransactionModel("pareto", params, log_likelihood=np.nan, n_customers=0)


def _likelihood_by_integration(params: dict, x: float, t_x: float, T: float) -> tuple[float, float]:
    """(L, P(alive)) from L = Γ(r+x)α^r β^s/Γ(r) · [e(T) + s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ]."""
    r, alpha, s, beta = params["r"], params["alpha"], params["s"], params["beta"]
    constant = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dead = (
        s
        * integrate.quad(
            lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-13
        )[0]
    )
    return constant * (alive + dead), alive / (alive + dead)


def _series_by_brute_force(b: float, c: float, z: float, terms: int = 400_000) -> np.ndarray:
    """[F, ∂F/∂b, ∂F/∂c, ∂F/∂z] of ₂F₁(1, b; c; z) from a long explicit sum."""
    n = np.arange(terms, dtype=np.float64)
    term = np.exp(np.concatenate(([0.0], np.cumsum(np.log((b + n[:-1]) / (c + n[:-1])) + np.log(z)))))
    digamma_b = np.concatenate(([0.0], np.cumsum(1 / (b + n[:-1]))))
    digamma_c = np.concatenate(([0.0], np.cumsum(1 / (c + n[:-1]))))
    return np.array([term.sum(), (term * digamma_b).sum(), -(term * digamma_c).sum(), (n * term).sum() / z])


class TestClosedForms:
    @pytest.mark.parametrize(
        "params",
        [
            CDNOW_PARETO,
            {"r": 2.0, "alpha": 3.0, "s": 1.5, "beta": 40.0},
            {"r": 0.3, "alpha": 50.0, "s": 0.2, "beta": 0.5},
        ],
        ids=["cdnow", "a<b", "a>b"],
    )
    @pytest.mark.parametrize("x,t_x,T", CASES)
    def test_likelihood_and_p_alive_match_direct_integration(self, params, x, t_x, T):
        likelihood, p_alive = _likelihood_by_integration(params, x, t_x, T)
        ll, _ = pareto.log_likelihood(np.log(list(params.values())), compress([x], [t_x], [T]))
        assert ll == pytest.approx(np.log(likelihood), rel=1e-10)
        assert _model(params).p_alive([x], [t_x], [T])[0] == pytest.approx(p_alive, rel=1e-9)

    def test_expected_purchases_match_the_published_form(self):
        r, alpha, s, beta = CDNOW_PARETO.values()
        x, t_x, T, t = 2, 30.43, 38.86, 39.0
        _, p_alive = _likelihood_by_integration(CDNOW_PARETO, x, t_x, T)
        expected = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
        assert _model(CDNOW_PARETO).expected_purchases(t, [x], [t_x], [T])[0] == pytest.approx(
            expected * p_alive, rel=1e-9
        )

    def test_s_equal_to_one_takes_the_logarithmic_limit(self):
        near = _model({**CDNOW_PARETO, "s": 1.0 + 1e-7}).expected_purchases(39.0, [2], [30.43], [38.86])
        exact = _model({**CDNOW_PARETO, "s": 1.0}).expected_purchases(39.0, [2], [30.43], [38.86])
        assert exact[0] == pytest.approx(near[0], rel=1e-6)

    def test_new_customer_expectation_equals_the_mean_of_simulated_counts(self):
        sim = simulate_pareto(CDNOW_PARETO, np.full(400_000, 52.0), seed=3)
        assert sim.frequency.mean() == pytest.approx(_model(CDNOW_PARETO).expected_purchases_new([52.0])[0], rel=0.01)

    def test_conditional_expectations_average_to_the_unconditional_increment(self):
        model = _model(CDNOW_PARETO)
        sim = simulate_pareto(CDNOW_PARETO, np.full(400_000, 30.0), seed=4)
        increment = np.diff(model.expected_purchases_new([30.0, 50.0]))[0]
        assert model.expected_purchases(20.0, sim.frequency, sim.recency, sim.T).mean() == pytest.approx(
            increment, rel=0.01
        )
        assert model.p_alive(sim.frequency, sim.recency, sim.T).mean() == pytest.approx(sim.alive.mean(), abs=0.003)


class TestHypergeometric:
    @pytest.mark.parametrize("b,c", [(0.55, 2.2), (5.0, 6.6), (500.0, 501.7), (1.6, 2.7), (3.0, 3.2)])
    @pytest.mark.parametrize("z", [0.0, 0.3, 0.74, 0.76, 0.95, 0.999])
    def test_series_and_quadrature_match_a_brute_force_sum(self, b, c, z):
        got = pareto.unit_hyp2f1(np.array([b]), np.array([c]), np.array([z]), np.array([1 - z]))[:, 0]
        if z == 0.0:
            np.testing.assert_allclose(got, [1.0, 0.0, 0.0, b / c], atol=1e-15)
            return
        reference = _series_by_brute_force(b, c, z)
        np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-12 * reference[0])


class TestFit:
    @pytest.mark.parametrize(
        "params",
        [
            CDNOW_PARETO,
            {"r": 2.0, "alpha": 3.0, "s": 1.5, "beta": 40.0},
            {"r": 0.3, "alpha": 50.0, "s": 0.2, "beta": 0.5},
        ],
        ids=["cdnow", "a<b", "a>b"],
    )
    def test_analytic_gradient_matches_finite_differences(self, params):
        # "a<b" and "a>b" put many rows past the series limit, where the gradient comes from quadrature.
        sim = simulate_pareto(CDNOW_PARETO, np.linspace(1, 60, 2000), seed=1)
        data = compress(sim.frequency, np.round(sim.recency, 1), sim.T)
        n = data.weight.sum()
        error = check_grad(
            lambda p: pareto.log_likelihood(p, data)[0] / n,
            lambda p: pareto.log_likelihood(p, data)[1] / n,
            np.log(list(params.values())),
        )
        assert error < 1e-5  # per-customer log-likelihood; forward differences are good to ~1e-7

    def test_recovers_simulated_parameters_within_five_percent(self):
        truth = {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}
        rng = np.random.default_rng(2)
        T = np.round(rng.uniform(52, 156, 300_000) * 7) / 7  # whole days, in weeks
        sim = simulate_pareto(truth, T, seed=2)
        model = fit_transaction_model("pareto", sim.frequency, np.round(sim.recency * 7) / 7, sim.T)
        assert model.converged
        for key, value in truth.items():
            assert model.params[key] == pytest.approx(value, rel=0.05), key


PARAMS = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 20),
        "alpha": st.floats(0.01, 1000),
        "s": st.floats(0.01, 20),
        "beta": st.floats(0.01, 1000),
    }
)


@settings(max_examples=100, deadline=None)
@given(
    params=PARAMS, x=st.integers(0, 1000), recency_share=st.floats(0, 1), T=st.floats(0, 1e5), t=st.floats(0.01, 1e4)
)
def test_predictions_stay_finite_and_ordered_for_any_customer(params, x, recency_share, T, t):
    model = _model(params)
    customers = ([x, 500, 500, 0, 0], [recency_share * T, 1e-6, T, 0.0, 0.0], [T, 1e-6, T, 1e5, 0.0])
    p_alive = model.p_alive(*customers)
    short, long = model.expected_purchases(t, *customers), model.expected_purchases(2 * t, *customers)
    assert np.isfinite(p_alive).all() and ((p_alive >= 0) & (p_alive <= 1)).all()
    assert np.isfinite(long).all() and (short >= 0).all()
    assert (long >= short * (1 - 1e-9)).all()
    ll, grad = pareto.log_likelihood(np.log(list(params.values())), compress(*customers))
    assert np.isfinite(ll) and np.isfinite(grad).all()
