"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, note 025).

Each transaction of a customer is Gamma(p, ν) with ν ~ Gamma(q, v) across
customers, so the mean spend per transaction is p·v/(q−1) (needs q > 1). The
mean m of a customer's x repeat transactions has density

    f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · v^q · x^(px) m^(px−1) / (v + x m)^(px+q)

which, written with the total repeat spend s = x·m, is
``Γ(px+q)/(Γ(px)Γ(q)) · v^q · x · s^(px−1) / (v+s)^(px+q)``: the likelihood
depends on a customer only through (x, s), so it is summed over the unique
pairs. The model assumes spend and frequency are independent; the Pearson
correlation between them among repeat buyers is reported with the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from crmkit.errors import BadValueError
from crmkit.models._fit import Problem, maximise

PARAMS = ("p", "q", "v")
#: |Pearson r| between frequency and spend above which the independence assumption is flagged.
CORRELATION_WARNING = 0.3
#: Significant decimal digits kept in the total repeat spend so float noise does not split equal pairs.
SPEND_DIGITS = 12


@dataclass(frozen=True)
class SpendData:
    """Unique (x, total repeat spend) pairs of the repeat buyers, their customer counts, and sums over them.

    The terms of the log-likelihood that depend on x alone are evaluated once
    per unique x (``x_values``, with customer counts ``x_weight``), and those
    that do not depend on the parameters are summed once (``constant``,
    ``x_log_total``), so an evaluation costs one log per pair.
    """

    x: np.ndarray
    total: np.ndarray
    weight: np.ndarray
    x_values: np.ndarray
    x_weight: np.ndarray

    def typical_scale(self) -> float:
        """Mean spend per repeat transaction."""
        return float((self.weight @ self.total) / (self.weight @ self.x))

    def rescaled(self, scale: float) -> SpendData:
        return SpendData(self.x, self.total / scale, self.weight, self.x_values, self.x_weight)

    @cached_property
    def constant(self) -> float:
        """Σ w (log x − log s): the parameter-free part of the log-likelihood."""
        return float(self.weight @ (np.log(self.x) - np.log(self.total)))

    @cached_property
    def x_log_total(self) -> float:
        """Σ w x log s."""
        return float((self.weight * self.x) @ np.log(self.total))


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    mantissa, exponent = np.frexp(values)
    return np.ldexp(np.round(mantissa, digits), exponent)


def spend_pairs(frequency: np.ndarray, monetary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat buyers (x > 0, m > 0) as unique (x, total repeat spend x·m) pairs in ascending order, with
    their customer counts: what the spend fit needs of them. Pairs of several parts of the customers add up
    (:func:`spend_data_from_pairs`)."""
    keep = (frequency > 0) & (monetary > 0)
    x = frequency[keep]
    x_codes, x_values = pd.factorize(x, sort=True)
    total_codes, totals = pd.factorize(_round_significant(x * monetary[keep], SPEND_DIGITS), sort=True)
    pair_codes, pairs = pd.factorize(x_codes.astype(np.int64) * len(totals) + total_codes, sort=True)
    pairs = np.asarray(pairs)
    return (
        np.asarray(x_values, dtype=np.float64)[pairs // len(totals)],
        np.asarray(totals, dtype=np.float64)[pairs % len(totals)],
        np.bincount(pair_codes, minlength=len(pairs)).astype(np.float64),
    )


def spend_data(frequency: np.ndarray, monetary: np.ndarray) -> SpendData:
    """Compress repeat buyers (x > 0, m > 0) to unique (x, x·m) pairs."""
    return spend_data_from_pairs(*spend_pairs(frequency, monetary))


def spend_data_from_pairs(x: np.ndarray, total: np.ndarray, weight: np.ndarray) -> SpendData:
    """SpendData from unique (x, total) pairs in ascending order and their customer counts."""
    x_values, x_codes = np.unique(x, return_inverse=True)
    return SpendData(x, total, weight, x_values, np.bincount(x_codes, weights=weight, minlength=len(x_values)))


def log_likelihood(log_params: np.ndarray, data: SpendData) -> tuple[float, np.ndarray]:
    """Total log-likelihood of the repeat buyers' mean spends and its gradient in log space."""
    p, q, v = np.exp(log_params)
    n, wx = data.x_weight.sum(), data.weight * data.x
    px = p * data.x_values
    log_vs, inv_vs = np.log(v + data.total), 1.0 / (v + data.total)
    sum_log_vs, sum_x_log_vs = data.weight @ log_vs, wx @ log_vs
    ll = (
        data.x_weight @ (gammaln(px + q) - gammaln(px))
        + n * (q * np.log(v) - gammaln(q))
        + p * data.x_log_total
        + data.constant
        - p * sum_x_log_vs
        - q * sum_log_vs
    )
    psi_pq = digamma(px + q)
    d_p = data.x_weight @ (data.x_values * (psi_pq - digamma(px))) + data.x_log_total - sum_x_log_vs
    d_q = data.x_weight @ psi_pq - n * digamma(q) + n * np.log(v) - sum_log_vs
    d_v = n * q / v - p * (wx @ inv_vs) - q * (data.weight @ inv_vs)
    return float(ll), np.array([d_p, d_q, d_v]) * np.array([p, q, v])


def _start(data: SpendData) -> np.ndarray:
    """p = 1, q = 2, v = mean spend (so the population mean p·v/(q−1) matches the data)."""
    return np.log([1.0, 2.0, data.typical_scale()])


PROBLEM = Problem(PARAMS, ("v",), "spend", log_likelihood, _start)


@dataclass(frozen=True)
class GammaGammaModel:
    """A fitted Gamma-Gamma spend model (v is in the currency of the spend)."""

    p: float
    q: float
    v: float
    n_customers: int
    log_likelihood: float = float("nan")
    converged: bool = True
    correlation: float | None = None
    population_mean: float = float("nan")
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def expected_spend(self, frequency, monetary) -> np.ndarray:
        """E[mean spend | x, m] = p(v + x·m)/(px + q − 1); the population mean for x = 0 (FHL 2005 eq. 5)."""
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary, dtype=np.float64)
        denominator = self.p * x + self.q - 1
        conditional = self.p * (self.v + x * m) / np.where(denominator > 0, denominator, 1.0)
        conditional = np.where(denominator > 0, conditional, m)
        return np.where(x > 0, conditional, self.population_mean)

    def to_dict(self) -> dict:
        return {
            "p": self.p,
            "q": self.q,
            "v": self.v,
            "n_customers": self.n_customers,
            "population_mean": self.population_mean,
        }

    @classmethod
    def from_dict(cls, data: dict) -> GammaGammaModel:
        p, q, v = (float(data[k]) for k in PARAMS)
        mean = data.get("population_mean")
        return cls(
            p,
            q,
            v,
            int(data.get("n_customers", 0)),
            population_mean=_population_mean(p, q, v) if mean is None else float(mean),
        )


def _population_mean(p: float, q: float, v: float) -> float:
    return p * v / (q - 1) if q > 1 else float("nan")


def fit_gamma_gamma(frequency, monetary, *, penalizer: float = 0.0) -> GammaGammaModel:
    """Fit the Gamma-Gamma model by maximum likelihood on the repeat buyers (frequency > 0, monetary > 0).

    Transforms per-customer *frequency* (repeat purchases) and *monetary* (mean
    repeat spend) into p, q, v. Warns when q <= 1 (the population mean spend is
    undefined; the observed mean repeat spend stands in for customers without a
    repeat purchase) and when |corr(frequency, monetary)| > 0.3 among repeat
    buyers (the model assumes independence).
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    if x.shape != m.shape:
        raise BadValueError("frequency and monetary must have the same length")
    usable = np.isfinite(x) & np.isfinite(m)
    x, m = x[usable], m[usable]
    return fit_gamma_gamma_on(spend_data(x, m), excluded_buyers(x, m), penalizer=penalizer)


def excluded_buyers(frequency: np.ndarray, monetary: np.ndarray) -> int:
    """Repeat buyers the spend fit leaves out: zero or negative mean spend."""
    return int(((frequency > 0) & (monetary <= 0)).sum())


def fit_gamma_gamma_on(data: SpendData, excluded: int = 0, *, penalizer: float = 0.0) -> GammaGammaModel:
    """:func:`fit_gamma_gamma` on the repeat buyers' (x, total spend) pairs; ``excluded`` repeat buyers had no
    positive spend."""
    buyers = int(data.weight.sum())
    if buyers < 2 or len(data.x) < 2:
        raise BadValueError(
            f"the spend model needs repeat buyers with positive spend; found {buyers}",
            hint="use more history: an earlier first date or a later as_of",
        )
    outcome = maximise(PROBLEM, data, penalizer=penalizer)
    p, q, v = (float(value) for value in np.exp(outcome.log_params))
    notes, warnings = list(outcome.notes), list(outcome.warnings)
    if excluded:
        notes.append(f"{excluded} repeat buyer(s) with zero or negative mean spend left out of the spend fit")
    correlation = _correlation(data)
    if correlation is not None and abs(correlation) > CORRELATION_WARNING:
        warnings.append(
            f"spend and frequency are correlated among repeat buyers (Pearson r = {correlation:.2f}); "
            "the Gamma-Gamma model assumes they are independent"
        )
    mean = _population_mean(p, q, v)
    if q <= 1:
        mean = float(data.weight @ (data.total / data.x) / buyers)
        warnings.append(
            f"Gamma-Gamma q = {q:.3g} <= 1: the population mean spend is undefined; customers "
            f"without a repeat purchase get the observed mean repeat spend ({mean:.4g})"
        )
    return GammaGammaModel(
        p, q, v, buyers, outcome.log_likelihood, outcome.converged, correlation, mean, tuple(notes), tuple(warnings)
    )


def _correlation(data: SpendData) -> float | None:
    """Pearson r between frequency and mean spend among the repeat buyers, from their (x, total) pairs."""
    w, a, b = data.weight, data.x, data.total / data.x
    n = w.sum()
    if n < 3:
        return None
    da, db = a - (w @ a) / n, b - (w @ b) / n
    var_a, var_b = w @ (da * da), w @ (db * db)
    if var_a <= 0 or var_b <= 0:
        return None
    return float(np.clip((w @ (da * db)) / np.sqrt(var_a * var_b), -1.0, 1.0))
