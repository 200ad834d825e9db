"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) with a numerically stable likelihood.

While active a customer buys at Poisson rate λ ~ Gamma(r, α) and stays active
for an exponential lifetime with rate μ ~ Gamma(s, β). Integrating over the
unobserved dropout time gives (Fader & Hardie 2005, note 008):

    L = Γ(r+x) α^r β^s / Γ(r) · [ e(T) + s·∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ ],
    e(τ) = (α+τ)^-(r+x) (β+τ)^-s,

and the integral is (F(t_x) − F(T)) / (r+s+x) with, after Euler's
transformation of the note's ₂F₁(r+s+x, ·; r+s+x+1; ·),

    α >= β:  F(τ) = e(τ) · ₂F₁(1, r+x;  r+s+x+1; (α−β)/(α+τ))
    α <  β:  F(τ) = e(τ) · (α+τ)/(β+τ) · ₂F₁(1, s+1; r+s+x+1; (β−α)/(β+τ)).

Both functions have first parameter 1, a positive-term series and no huge
prefactor, so the log-likelihood is a log-sum-exp of finite logs for any x.
P(alive) is e(T)'s share of the bracket, and (SMC 1987; note 008)

    E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive).

The gradient needs ∂₂F₁/∂(parameters), which has no closed form: it is summed
from the series itself (:func:`unit_hyp2f1`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from crmkit.models._fit import Problem, Triples, softplus

PARAMS = ("r", "alpha", "s", "beta")
#: Beyond this argument the series converges slowly and quadrature takes over.
SERIES_LIMIT = 0.75
SERIES_TOLERANCE = 1e-16
MAX_TERMS = 600


def _series(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """₂F₁(1, b; c; z) and its b-, c- and z-derivatives by summing the series (0 <= z <= SERIES_LIMIT).

    Term n is u_n zⁿ with u_n = (b)_n/(c)_n; ∂u_n/∂b = u_n Σ_{k<n} 1/(b+k) and
    ∂u_n/∂c = −u_n Σ_{k<n} 1/(c+k). Rows leave the loop as they converge.
    """
    out = np.zeros((4, len(b)))
    out[0] = 1.0
    active = np.arange(len(b))
    term = np.ones(len(b))  # u_n zⁿ
    sum_b = np.zeros(len(b))  # Σ_{k<n} 1/(b+k)
    sum_c = np.zeros(len(b))
    bb, cc, zz = b, c, z
    for n in range(MAX_TERMS):
        ratio = (bb + n) / (cc + n)
        sum_b += 1.0 / (bb + n)
        sum_c += 1.0 / (cc + n)
        dz_term = (n + 1) * term * ratio  # (n+1) u_{n+1} zⁿ
        term = term * ratio * zz
        out[3, active] += dz_term
        out[0, active] += term
        out[1, active] += term * sum_b
        out[2, active] -= term * sum_c
        if n % 8 == 7:
            tail = (n + 2) * term * (1.0 + sum_b + sum_c) / (1.0 - zz) ** 2
            going = tail > SERIES_TOLERANCE * out[0, active]
            if not going.all():
                active, term, sum_b, sum_c = active[going], term[going], sum_b[going], sum_c[going]
                bb, cc, zz = bb[going], cc[going], zz[going]
            if not len(active):
                break
    return out


def _exp_sinh_nodes(step: float = 1 / 64, half_width: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the exp-sinh rule for ∫_0^∞: v = exp(π/2 · sinh t), t on a uniform grid."""
    t = np.arange(-half_width, half_width + step / 2, step)
    v = np.exp(np.pi / 2 * np.sinh(t))
    return v, step * np.pi / 2 * np.cosh(t) * v


_NODES, _WEIGHTS = _exp_sinh_nodes()


def _quadrature(b: np.ndarray, c: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """The four quantities of :func:`unit_hyp2f1` by quadrature, accurate up to z = 1 − eps → 1.

    With σ = c − 1 − b, Euler's integral becomes (substituting 1 − t = e^(−v))

        ₂F₁(1, b; c; 1 − ε) = (c−1) ∫_0^∞ e^(−σv) [1 + ε(e^v − 1)]^(−b) dv,

    whose integrand is smooth and decays like e^(−(c−1)v); derivatives are
    taken under the integral sign.
    """
    out = np.empty((4, len(b)))
    for chunk in np.array_split(np.arange(len(b)), max(1, len(b) // 2048)):
        bb, cc, ee = b[chunk, None], c[chunk, None], eps[chunk, None]
        sigma = cc - 1.0 - bb
        log_base = np.logaddexp(np.log(ee) + _NODES, np.log1p(-ee))  # log(1 + ε(e^v − 1))
        f = _WEIGHTS * np.exp(-sigma * _NODES - bb * log_base)
        slope = -np.expm1(-_NODES) / (ee + (1.0 - ee) * np.exp(-_NODES))  # (e^v − 1)/(1 + ε(e^v − 1))
        m = cc[:, 0] - 1.0
        i0, i_log, i_v, i_slope = f.sum(1), (f * log_base).sum(1), (f * _NODES).sum(1), (f * slope).sum(1)
        d_sigma = i0 - m * i_v
        out[:, chunk] = [m * i0, i0 - m * i_log - d_sigma, d_sigma, m * bb[:, 0] * i_slope]
    return out


def unit_hyp2f1(b: np.ndarray, c: np.ndarray, z: np.ndarray, one_minus_z: np.ndarray) -> np.ndarray:
    """Rows [F, ∂F/∂b, ∂F/∂c, ∂F/∂z] of F = ₂F₁(1, b; c; z) for b > 0, c > 1, 0 <= z < 1.

    ``one_minus_z`` is passed separately so z close to 1 keeps its precision.
    """
    near_one = z > SERIES_LIMIT
    out = np.empty((4, len(b)))
    out[:, ~near_one] = _series(b[~near_one], c[~near_one], z[~near_one])
    if near_one.any():
        out[:, near_one] = _quadrature(b[near_one], c[near_one], one_minus_z[near_one])
    return out


def _log_f(params: np.ndarray, x: np.ndarray, tau: np.ndarray, *, gradient: bool):
    """log e(τ), log F(τ) per (x, τ) pair and, with ``gradient``, their (4, n) gradients in (r, α, s, β)."""
    r, alpha, s, beta = params
    log_a, log_b = np.log(alpha + tau), np.log(beta + tau)
    log_e = -(r + x) * log_a - s * log_b
    a_tau, b_tau = alpha + tau, beta + tau
    if alpha >= beta:
        b_, z, one_minus_z = r + x, (alpha - beta) / a_tau, b_tau / a_tau
        extra = 0.0
    else:
        b_, z, one_minus_z = np.full_like(x, s + 1.0), (beta - alpha) / b_tau, a_tau / b_tau
        extra = log_a - log_b
    g, g_b, g_c, g_z = unit_hyp2f1(b_, r + s + x + 1.0, z, one_minus_z)
    if not gradient:
        return log_e, log_e + np.log(g) + extra
    d_b, d_c, d_z = g_b / g, g_c / g, g_z / g
    d_log_e = np.array([-log_a, -(r + x) / a_tau, -log_b, -s / b_tau])
    if alpha >= beta:  # b = r+x, z = (α−β)/(α+τ)
        d_hyp = np.array([d_b + d_c, d_z * b_tau / a_tau**2, d_c, -d_z / a_tau])
    else:  # b = s+1, z = (β−α)/(β+τ), times (α+τ)/(β+τ)
        d_hyp = np.array([d_c, -d_z / b_tau + 1.0 / a_tau, d_b + d_c, d_z * a_tau / b_tau**2 - 1.0 / b_tau])
    return log_e, log_e + np.log(g) + extra, d_log_e, d_log_e + d_hyp


def _integral_log(log_f_tx: np.ndarray, log_f_T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(F(t_x) − F(T)) (−inf when t_x = T) and δ = log(F(T)/F(t_x)) <= 0."""
    delta = np.minimum(log_f_T - log_f_tx, 0.0)
    with np.errstate(divide="ignore"):
        return log_f_tx + np.log(-np.expm1(delta)), delta


def log_likelihood(log_params: np.ndarray, data: Triples) -> tuple[float, np.ndarray]:
    """Total log-likelihood over the triples and its gradient with respect to the log-parameters."""
    params = np.exp(log_params)
    r, alpha, s, beta = params
    xv, w = data.x_values, data.weight
    m = r + s + xv
    log_c = gammaln(r + xv) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_share = np.log(s) - np.log(m)
    xT, TT, pair_T = data.x_T_pairs
    xt, tt, pair_tx = data.x_tx_pairs
    log_e, log_f_T, d_e, d_f_T = _log_f(params, xT, TT, gradient=True)
    _, log_f_tx, _, d_f_tx = _log_f(params, xt, tt, gradient=True)

    log_d, delta = _integral_log(log_f_tx[pair_tx], log_f_T[pair_T])
    second = log_share[data.x_index] + log_d
    first = log_e[pair_T]
    both = first + softplus(second - first)
    w2 = w * np.exp(second - both)
    ll = float(data.x_weight @ log_c + w @ both)

    # ∂log D = (∂log F(t_x) − e^δ ∂log F(T)) / (1 − e^δ); w2 is 0 wherever δ = 0.
    spread = np.divide(w2, -np.expm1(delta), out=np.zeros_like(w2), where=delta < 0)
    n_T = len(xT)
    d_c = np.array(
        [
            digamma(r + xv) - digamma(r) + np.log(alpha),
            np.full_like(xv, r / alpha),
            np.full_like(xv, np.log(beta)),
            np.full_like(xv, s / beta),
        ]
    )
    d_share = np.array([-1.0 / m, np.zeros_like(xv), 1.0 / s - 1.0 / m, np.zeros_like(xv)])
    grad = (
        d_c @ data.x_weight
        + d_share @ np.bincount(data.x_index, weights=w2, minlength=len(xv))
        + d_e @ np.bincount(pair_T, weights=w - w2, minlength=n_T)
        - d_f_T @ np.bincount(pair_T, weights=spread * np.exp(delta), minlength=n_T)
        + d_f_tx @ np.bincount(pair_tx, weights=spread, minlength=len(xt))
    )
    return ll, grad * params


def start(data: Triples) -> np.ndarray:
    """Starting log-parameters: r = s = 1, α from the mean purchase rate, β = mean T."""
    mean_age = max(float(np.average(data.T, weights=data.weight)), 1e-6)
    mean_x = float(np.average(data.x, weights=data.weight))
    return np.log([1.0, mean_age / max(mean_x, 0.1), 1.0, mean_age])


PROBLEM = Problem(PARAMS, ("alpha", "beta"), "time", log_likelihood, start)


def _values(params: dict[str, float]) -> np.ndarray:
    return np.array([params[p] for p in PARAMS])


def p_alive(params: dict[str, float], data: Triples) -> np.ndarray:
    """P(alive at T | x, t_x, T) = e(T) / (e(T) + s/(r+s+x) · (F(t_x) − F(T))) per triple."""
    values = _values(params)
    r, _, s, _ = values
    xT, TT, pair_T = data.x_T_pairs
    xt, tt, pair_tx = data.x_tx_pairs
    log_e, log_f_T = _log_f(values, xT, TT, gradient=False)
    _, log_f_tx = _log_f(values, xt, tt, gradient=False)
    log_d, _ = _integral_log(log_f_tx[pair_tx], log_f_T[pair_T])
    second = np.log(s) - np.log(r + s + data.x) + log_d
    return np.exp(-softplus(second - log_e[pair_T]))


def _dropout_window(t: float | np.ndarray, scale: np.ndarray, s: float) -> np.ndarray:
    """(β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)], which tends to (β+T)·log(1 + t/(β+T)) as s → 1."""
    log_growth = np.log1p(t / scale)
    if abs(s - 1.0) < 1e-9:
        return scale * log_growth
    return scale * -np.expm1(-(s - 1.0) * log_growth) / (s - 1.0)


def alive_expectation(params: dict[str, float], x: np.ndarray, age: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T, alive at T]
    = (r+x)/(α+T) · (β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)]; times P(alive) it is the conditional
    expectation (Schmittlein et al. 1987). Broadcasts over x, T and t."""
    r, alpha, s, beta = _values(params)
    return (r + x) / (alpha + age) * _dropout_window(t, beta + age, s)


def expected_purchases_new(params: dict[str, float], t: np.ndarray) -> np.ndarray:
    """E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] for a customer who has just made a first purchase."""
    r, alpha, s, beta = _values(params)
    return r / alpha * _dropout_window(t, np.full_like(t, beta), s)
