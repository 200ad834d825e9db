"""Seeded, vectorised simulators of the models' generative stories.

They return what a customer summary would show — (frequency, recency, T) and
mean repeat spend — plus the truth the data hide (alive at T), for parameter
recovery tests and for checking churn scores against known outcomes. Time is
continuous, in whatever unit the parameters use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Dropout probabilities below this are raised to it (numpy's geometric needs p > 0).
MIN_DROPOUT = 1e-12


@dataclass(frozen=True)
class SimulatedCustomers:
    """Per-customer summary of a simulated purchase history and whether the customer is still alive at T."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    alive: np.ndarray


def _generator(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _recency(x: np.ndarray, arrivals: np.ndarray, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Time of the x-th of ``arrivals`` uniform points on (0, window]: window · Beta(x, arrivals − x + 1)."""
    has = x > 0
    draw = rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1))
    return np.where(has, window * draw, 0.0)


def purchase_traits(params: Mapping[str, float], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``n`` customers' latent purchase rate λ ~ Gamma(r, α) and dropout probability p ~ Beta(a, b)."""
    rate = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    dropout = np.clip(rng.beta(params["a"], params["b"], n), MIN_DROPOUT, 1.0)
    return rate, dropout


def repeats_before_dropout(dropout: np.ndarray, rng: np.random.Generator, *, modified: bool) -> np.ndarray:
    """How many repeat purchases each customer makes before leaving: Geometric(p) on {1, 2, …} (BG/NBD), or on
    {0, 1, …} (MBG/NBD: a customer may leave right after the first purchase)."""
    return rng.geometric(dropout) - (1 if modified else 0)


def simulate_bgnbd(
    params: Mapping[str, float], T, *, seed: int | np.random.Generator = 0, modified: bool = False
) -> SimulatedCustomers:
    """Customers from BG/NBD (or MBG/NBD with ``modified=True``), each observed for ``T`` after a first purchase.

    λ ~ Gamma(r, α) and p ~ Beta(a, b); arrivals in (0, T] are Poisson(λT);
    the customer drops out right after repeat purchase N ~ Geometric(p) on
    {1, 2, …} (MBG/NBD: on {0, 1, …}, 0 meaning right after the first
    purchase), so x = min(N, arrivals) and the customer is alive at T iff N > arrivals.
    """
    rng = _generator(seed)
    age = np.asarray(T, dtype=np.float64)
    n = age.size
    rate, dropout = purchase_traits(params, n, rng)
    arrivals = rng.poisson(rate * age)
    last = repeats_before_dropout(dropout, rng, modified=modified)
    x = np.minimum(arrivals, last)
    return SimulatedCustomers(x.astype(np.float64), _recency(x, arrivals, age, rng), age, last > arrivals)


def simulate_pareto(params: Mapping[str, float], T, *, seed: int | np.random.Generator = 0) -> SimulatedCustomers:
    """Customers from Pareto/NBD: λ ~ Gamma(r, α), μ ~ Gamma(s, β), lifetime ~ Exponential(μ), observed for ``T``."""
    rng = _generator(seed)
    age = np.asarray(T, dtype=np.float64)
    n = age.size
    rate = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    dropout_rate = rng.gamma(params["s"], 1.0 / params["beta"], n)
    lifetime = rng.exponential(1.0 / dropout_rate)
    window = np.minimum(lifetime, age)
    x = rng.poisson(rate * window)
    return SimulatedCustomers(x.astype(np.float64), _recency(x, x, window, rng), age, lifetime > age)


def simulate_spend(params: Mapping[str, float], frequency, *, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Mean repeat spend under Gamma-Gamma: ν ~ Gamma(q, v), each spend Gamma(p, ν); 0 where frequency is 0."""
    rng = _generator(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(params["q"], 1.0 / params["v"], x.size)
    total = rng.gamma(np.maximum(params["p"] * x, 1e-300), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1.0), 0.0)
