"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Both models: while active a customer buys at Poisson rate λ ~ Gamma(r, α), and
drops out with probability p ~ Beta(a, b) after each repeat purchase. MBG/NBD
also lets a customer drop out right after the first purchase, at time 0. The
two share every formula up to an offset ``k`` (0 for BG/NBD, 1 for MBG/NBD):

    L = B(a, b+x+k)/B(a, b) · Γ(r+x) α^r / Γ(r)
        · [ (α+T)^-(r+x) + [x>0 or k=1] · a/(b+x+k−1) · (α+t_x)^-(r+x) ]

(FHL 2005 eq. 6; Batislam et al. 2007 eq. 6), evaluated in log space with
a stable softplus, log(1 + e^d). P(alive) is the share of the first bracket term, and

    E[Y(t) | x, t_x, T] = (a+b+x+k−1)/(a−1)
        · [1 − (1−z)^(a−1) ₂F₁(a+b+k−1−r, a−1; a+b+x+k−1; z)] · P(alive),   z = t/(α+T+t)

which is FHL eq. 10 (and Batislam eq. 11) after Euler's transformation
₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z): the transformed function
has small parameters and no huge prefactor, so x = 500 does not overflow.
Where scipy's ₂F₁ still fails (NaN for a large C near z = 1) the same
expectation is integrated numerically over the posterior of p. The
unconditional E[X(t)] is the same expression at x = t_x = T = 0.

BG/NBD gives every one-time buyer (x = 0) P(alive) = 1 however long ago they
bought (FHL 2005; Fader & Hardie note 021): a property of the model, not a
bug. MBG/NBD does not, which is why it is the CLI's default.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from crmkit.models._fit import Problem, Triples, softplus

PARAMS = ("r", "alpha", "a", "b")
TIME_PARAMS = ("alpha",)
#: a is moved this far away from 1 in predictions, where (a−1) cancels between factor and bracket.
A_NUDGE = 1e-7
#: Rounding error of the closed form's 1 − (…) difference, times the ₂F₁ terms' growth: where the value is not
#: clearly above c/|a−1| times this, the quadrature decides (relative error then stays below about 1e-4).
CANCELLATION_EPS = 1e-11


def _offset(modified: bool) -> int:
    return 1 if modified else 0


def _second_term_log_ratio(x: np.ndarray, a: float, b: float, k: int) -> np.ndarray:
    """log(a/(b+x+k−1)) where the second likelihood term exists, else −inf (BG/NBD with x = 0)."""
    exists = (x > 0) | (k == 1)
    return np.where(exists, np.log(a) - np.log(np.where(exists, b + x + k - 1, 1.0)), -np.inf)


def log_likelihood(log_params: np.ndarray, data: Triples, *, modified: bool) -> tuple[float, np.ndarray]:
    """Total log-likelihood over the triples and its gradient with respect to the log-parameters.

    Per triple, log L = [terms of x] − (r+x)·log(α+T) + log(1 + e^d), with d the log-odds of the bracket's
    second term against its first, d = log(a/(b+x+k−1)) + (r+x)·log((α+T)/(α+t_x)). The first two parts sum
    over the unique x and T; only d and its softplus run over the triples, and the share of the second
    term, expit(d), carries every gradient.
    """
    r, alpha, a, b = np.exp(log_params)
    k = _offset(modified)
    xv, w, x_weight = data.x_values, data.weight, data.x_weight
    per_x = gammaln(r + xv) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xv + k) - betaln(a, b)
    log_T, log_tx = np.log(alpha + data.T_values), np.log(alpha + data.tx_values)
    rx_by_T = r * data.T_weight + data.T_x_weight  # Σ w·(r+x) per unique T
    rx = r + data.x
    log_age_ratio = log_T[data.T_index] - log_tx[data.tx_index]
    d = _second_term_log_ratio(xv, a, b, k)[data.x_index] + rx * log_age_ratio
    log_bracket = softplus(d)
    w2 = w * np.exp(d - log_bracket)  # weight × share of the second term (expit d)
    ll = float(x_weight @ per_x - rx_by_T @ log_T + w @ log_bracket)

    inv_T, inv_tx = 1.0 / (alpha + data.T_values), 1.0 / (alpha + data.tx_values)
    inv_b = np.where(xv + k > 0, 1.0 / np.where(xv + k > 0, b + xv + k - 1, 1.0), 0.0)
    d_r = x_weight @ (digamma(r + xv) - digamma(r) + np.log(alpha)) - data.T_weight @ log_T + w2 @ log_age_ratio
    d_alpha = w.sum() * r / alpha - rx_by_T @ inv_T + (w2 * rx) @ (inv_T[data.T_index] - inv_tx[data.tx_index])
    d_a = x_weight @ (digamma(a + b) - digamma(a + b + xv + k)) + w2.sum() / a
    d_b = (
        x_weight @ (digamma(b + xv + k) - digamma(a + b + xv + k) - digamma(b) + digamma(a + b))
        - w2 @ inv_b[data.x_index]
    )
    return ll, np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])


def start(data: Triples) -> np.ndarray:
    """Starting log-parameters: r = 1, α from the mean purchase rate, a = 1, b = 1."""
    mean_age = float(np.average(data.T, weights=data.weight))
    mean_x = float(np.average(data.x, weights=data.weight))
    alpha = max(mean_age, 1e-6) / max(mean_x, 0.1)
    return np.log([1.0, alpha, 1.0, 1.0])


def problem(modified: bool) -> Problem:
    """The maximum-likelihood problem for BG/NBD (``modified=False``) or MBG/NBD."""
    return Problem(
        PARAMS, TIME_PARAMS, "time", lambda log_params, data: log_likelihood(log_params, data, modified=modified), start
    )


def _params(params: dict[str, float]) -> tuple[float, float, float, float]:
    return params["r"], params["alpha"], params["a"], params["b"]


def p_alive(params: dict[str, float], data: Triples, *, modified: bool) -> np.ndarray:
    """P(alive at T | x, t_x, T) per triple: 1 / (1 + a/(b+x+k−1) · ((α+T)/(α+t_x))^(r+x))."""
    r, alpha, a, b = _params(params)
    ratio = _second_term_log_ratio(data.x_values, a, b, _offset(modified))[data.x_index]
    log_odds = ratio + (r + data.x) * (np.log(alpha + data.T) - np.log(alpha + data.t_x))
    return np.exp(-softplus(log_odds))


#: Trapezoid nodes of the quadrature fallback (v in y = mode + σ·sinh v); 1e-13 relative accuracy in tests.
_STEP = 1 / 24
_NODES = np.arange(-6.0, 6.0 + _STEP / 2, _STEP)


def _alive_expectation_by_quadrature(a: float, beta: np.ndarray, rho: np.ndarray, u: np.ndarray) -> np.ndarray:
    """E[(1 − (1 + p·u)^−ρ) / p] for p ~ Beta(a, β), by the trapezoid rule in y = logit p.

    The substitution y = log(a/β) + σ·sinh(v), σ² = 1/a + 1/β, centres the
    nodes on the posterior mode and reaches the exponential tails; the
    integrand is smooth in y, so the rule converges geometrically.
    """
    out = np.empty(len(beta))
    for chunk in np.array_split(np.arange(len(beta)), max(1, len(beta) // 4096)):
        bb, rr, uu = beta[chunk, None], rho[chunk, None], u[chunk, None]
        sigma = np.sqrt(1.0 / a + 1.0 / bb)
        y = np.log(a / bb) + sigma * np.sinh(_NODES)
        log_p, log_q = -np.logaddexp(0.0, -y), -np.logaddexp(0.0, y)
        with np.errstate(divide="ignore"):
            log_gain = np.log(-np.expm1(-rr * np.log1p(np.exp(log_p) * uu)))
        integrand = np.exp((a - 1.0) * log_p + bb * log_q - betaln(a, bb) + log_gain)
        out[chunk] = (integrand * sigma * np.cosh(_NODES)).sum(1) * _STEP
    return out


def alive_expectation(
    params: dict[str, float], x: float | np.ndarray, age: float | np.ndarray, t: float | np.ndarray, *, modified: bool
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T, alive at T]: FHL eq. 10 without its P(alive) factor. Broadcasts over
    x, T and t.

    Equals E[(1/p)(1 − e^(−λpt))] over the posterior λ ~ Gamma(r+x, α+T),
    p ~ Beta(a, b+x+k), so it lies in [0, (r+x)·t/(α+T)]. scipy's ₂F₁ gives
    NaN for a large third parameter near z = 1 (e.g. x = 500, t >> α+T); such
    rows, and any value outside those bounds, are integrated numerically instead.
    """
    r, alpha, a, b = _params(params)
    k = _offset(modified)
    if abs(a - 1.0) < A_NUDGE:
        a = 1.0 + A_NUDGE
    x, age, t = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(age, np.float64), t)
    z = t / (alpha + age + t)
    one_minus_z = (alpha + age) / (alpha + age + t)
    c = a + b + x + k - 1
    with np.errstate(invalid="ignore", over="ignore"):
        value = c / (a - 1) * (1.0 - one_minus_z ** (a - 1) * hyp2f1(a + b + k - 1 - r, a - 1, c, z))
    bound = (r + x) * t / (alpha + age)
    # 1 − (1−z)^(a−1)·₂F₁ cancels: its rounding error, scaled by c/(a−1), swamps a small value when a is near 1.
    noise = np.abs(c / (a - 1)) * CANCELLATION_EPS
    bad = ~np.isfinite(value) | (value < -1e-9 * bound) | (value > bound * (1 + 1e-9)) | (value < noise)
    if bad.any():
        value = np.array(value, dtype=np.float64)
        value[bad] = _alive_expectation_by_quadrature(a, b + x[bad] + k, r + x[bad], t[bad] / (alpha + age[bad]))
    return np.clip(value, 0.0, bound)


def expected_purchases_new(params: dict[str, float], t: np.ndarray, *, modified: bool) -> np.ndarray:
    """E[X(t)] for a customer who has just made a first purchase (FHL eq. 9; Batislam eq. 10)."""
    value = alive_expectation(params, 0.0, 0.0, t, modified=modified)
    if modified:  # P(alive at T = 0) = b/(a+b): dropout is possible right after the first purchase
        value = value * params["b"] / (params["a"] + params["b"])
    return value
