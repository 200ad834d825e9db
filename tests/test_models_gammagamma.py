"""Gamma-Gamma: likelihood by hand, gradient, compression, recovery, conditional spend and warnings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.special import gammaln

from crmkit.datasets.btyd import simulate_spend
from crmkit.errors import BadValueError
from crmkit.models import GammaGammaModel, fit_gamma_gamma, gammagamma

TRUTH = {"p": 6.0, "q": 4.0, "v": 15.0}


def _log_density_by_hand(p: float, q: float, v: float, x: float, m: float) -> float:
    """log f(m | x) = log[Γ(px+q)/(Γ(px)Γ(q)) · v^q x^(px) m^(px−1) / (v + x m)^(px+q)] (FHL 2005 eq. 3)."""
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + p * x * np.log(x)
        + (p * x - 1) * np.log(m)
        - (p * x + q) * np.log(v + x * m)
    )


def test_log_likelihood_matches_the_density_of_the_mean_spend():
    x = np.array([1.0, 2.0, 2.0, 7.0, 2.0])
    m = np.array([10.0, 22.35, 22.35, 3.5, 40.0])
    data = gammagamma.spend_data(x, m)
    assert len(data.x) == 4 and data.weight.sum() == 5  # the two (2, 22.35) customers share a row
    ll, _ = gammagamma.log_likelihood(np.log([6.25, 3.74, 15.44]), data)
    assert ll == pytest.approx(sum(_log_density_by_hand(6.25, 3.74, 15.44, xi, mi) for xi, mi in zip(x, m)), rel=1e-12)


def test_equal_totals_from_float_noise_share_a_row():
    x = np.array([3.0, 3.0])
    m = np.array([0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1]) / 3  # the same total, summed in another order
    assert len(gammagamma.spend_data(x, m).x) == 1


def test_analytic_gradient_matches_finite_differences():
    x = np.random.default_rng(0).poisson(3, 2000) + 1.0
    data = gammagamma.spend_data(x, simulate_spend(TRUTH, x, seed=0))
    n = data.weight.sum()
    for point in ([0.0, 0.0, 0.0], np.log([6.0, 4.0, 15.0]), [3.0, -1.0, 5.0]):
        error = check_grad(
            lambda p: gammagamma.log_likelihood(p, data)[0] / n,
            lambda p: gammagamma.log_likelihood(p, data)[1] / n,
            np.array(point, dtype=float),
        )
        assert error < 1e-5  # per-customer log-likelihood; forward differences are good to ~1e-7


def test_recovers_simulated_parameters_within_four_percent():
    rng = np.random.default_rng(1)
    x = rng.poisson(3, 400_000) + 1.0
    spend = np.round(simulate_spend(TRUTH, x, seed=1) * x, 2) / x  # cents, as in real data
    model = fit_gamma_gamma(x, spend)
    assert model.converged and model.n_customers == 400_000
    for key, value in TRUTH.items():
        assert getattr(model, key) == pytest.approx(value, rel=0.04), key
    assert abs(model.correlation) < 0.05 and not model.warnings


def test_fits_only_repeat_buyers_with_positive_spend():
    rng = np.random.default_rng(2)
    x = rng.poisson(2, 5000).astype(float)
    spend = simulate_spend(TRUTH, x, seed=2)
    spend[:10] = np.where(x[:10] > 0, 0.0, spend[:10])
    model = fit_gamma_gamma(x, spend)
    assert model.n_customers == int(((x > 0) & (spend > 0)).sum())
    assert any("zero or negative mean spend" in note for note in model.notes)


def test_expected_spend_shrinks_towards_the_population_mean():
    model = GammaGammaModel(6.25, 3.74, 15.44, n_customers=946, population_mean=6.25 * 15.44 / 2.74)
    spend = model.expected_spend([0, 1, 10], [0.0, 100.0, 100.0])
    assert spend[0] == pytest.approx(6.25 * 15.44 / 2.74)
    assert spend[1] == pytest.approx(6.25 * (15.44 + 100.0) / (6.25 + 3.74 - 1))
    assert spend[0] < spend[1] < spend[2] < 100.0  # more purchases, less shrinkage


def test_warns_about_correlated_spend_and_about_q_at_most_one():
    rng = np.random.default_rng(3)
    x = rng.poisson(3, 20_000) + 1.0
    correlated = simulate_spend(TRUTH, x, seed=3) * x  # bigger spenders buy more often
    assert any("correlated" in w for w in fit_gamma_gamma(x, correlated).warnings)
    heavy_tail = simulate_spend({"p": 2.0, "q": 0.7, "v": 5.0}, x, seed=4)
    model = fit_gamma_gamma(x, heavy_tail)
    assert model.q <= 1 and any("q = " in w and "undefined" in w for w in model.warnings)
    assert model.population_mean == pytest.approx(heavy_tail.mean())
    assert np.isfinite(model.expected_spend([0, 2], [0.0, 10.0])).all()


def test_round_trip_through_a_dict():
    model = GammaGammaModel(6.25, 3.74, 15.44, n_customers=946, population_mean=35.2)
    again = GammaGammaModel.from_dict(model.to_dict())
    assert (again.p, again.q, again.v, again.n_customers, again.population_mean) == (6.25, 3.74, 15.44, 946, 35.2)
    assert GammaGammaModel.from_dict({"p": 6.25, "q": 3.74, "v": 15.44}).population_mean == pytest.approx(
        6.25 * 15.44 / 2.74
    )


def test_without_repeat_buyers_says_what_to_do():
    with pytest.raises(BadValueError, match="repeat buyers") as caught:
        fit_gamma_gamma([0, 0, 0], [0.0, 0.0, 0.0])
    assert "more history" in str(caught.value)
