"""Probabilistic customer-value models: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma.

Transforms a per-customer summary — *frequency* x (repeat purchase occasions),
*recency* t_x and age *T* (both since the first purchase, in the chosen time
unit), *monetary* (mean repeat spend) — into fitted models and per-customer
predictions. Fits are maximum likelihood on log-parameters with analytic
gradients over the unique (x, t_x, T) rows; a fit that does not converge is
retried (rescaled time, another optimiser, a small penalizer) and says so in
``notes``.

Parameters are in the time unit of the data: α (and Pareto's β) scale with it,
r, a, b and s do not.

BG/NBD gives P(alive) = 1 to every one-time buyer (x = 0), however long ago the
purchase — a property of the model (Fader & Hardie note 021), not a bug.
MBG/NBD lets customers drop out right after the first purchase and so does not;
it is the default for scoring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from crmkit.errors import BadValueError, OptionError
from crmkit.models import bgnbd, pareto
from crmkit.models._fit import Problem, Triples, compress, compress_counts, maximise
from crmkit.models.gammagamma import (
    GammaGammaModel,
    excluded_buyers,
    fit_gamma_gamma,
    fit_gamma_gamma_on,
    spend_data_from_pairs,
    spend_pairs,
)
from crmkit.schema import MODEL_NAMES

__all__ = [
    "MODEL_NAMES",
    "FittedModels",
    "GammaGammaModel",
    "TransactionModel",
    "Triples",
    "compress",
    "compress_counts",
    "excluded_buyers",
    "fit_gamma_gamma",
    "fit_gamma_gamma_on",
    "fit_transaction_model",
    "fit_transaction_model_on",
    "spend_data_from_pairs",
    "spend_pairs",
]


@dataclass(frozen=True)
class _Family:
    """One model's maths: its likelihood problem and predictions per unique triple."""

    problem: Problem
    p_alive: Callable[[dict, Triples], np.ndarray]
    #: E[purchases in the next t | x, T, alive at T], broadcasting over (x, T, t): the conditional expectation
    #: is this times P(alive) in all three models, so it is evaluated on the few unique (x, T) pairs.
    alive_expectation: Callable[[dict, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    expected_new: Callable[[dict, np.ndarray], np.ndarray]


_FAMILIES = {
    "bgnbd": _Family(
        bgnbd.problem(False),
        partial(bgnbd.p_alive, modified=False),
        partial(bgnbd.alive_expectation, modified=False),
        partial(bgnbd.expected_purchases_new, modified=False),
    ),
    "mbgnbd": _Family(
        bgnbd.problem(True),
        partial(bgnbd.p_alive, modified=True),
        partial(bgnbd.alive_expectation, modified=True),
        partial(bgnbd.expected_purchases_new, modified=True),
    ),
    "pareto": _Family(pareto.PROBLEM, pareto.p_alive, pareto.alive_expectation, pareto.expected_purchases_new),
}


def _family(name: str) -> _Family:
    if name not in _FAMILIES:
        raise OptionError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return _FAMILIES[name]


def _horizon(t) -> float:
    value = float(t)
    if not np.isfinite(value) or value < 0:
        raise OptionError(f"the prediction horizon must be a number >= 0, got {t!r}")
    return value


@dataclass(frozen=True)
class TransactionModel:
    """A fitted BG/NBD, MBG/NBD or Pareto/NBD model; parameters in the data's time unit."""

    name: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    converged: bool = True
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def expected_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Conditional expected repeat purchases in the next ``t`` time units, per customer."""
        data = compress(frequency, recency, T)
        return self.expected_purchases_on(t, data)[data.inverse]

    def expected_purchases_on(self, t: float, data: Triples) -> np.ndarray:
        """:meth:`expected_purchases` per unique triple of already compressed customers."""
        return self.weighted_purchases_on([t], [1.0], data)

    def weighted_purchases_on(self, times, weights, data: Triples) -> np.ndarray:
        """Σ_k weights[k] · E[purchases in the next times[k]] per unique triple, with P(alive) computed once
        (a discounted sum over many months costs about one prediction)."""
        return self.alive_weighted_purchases_on(times, weights, data) * self.p_alive_on(data)

    def alive_weighted_purchases_on(self, times, weights, data: Triples) -> np.ndarray:
        """:meth:`weighted_purchases_on` for a customer known to be still active at T: what they buy if they
        stay. It depends on x and T only, so it is evaluated on the unique (x, T) pairs; finite and at least 0."""
        family = _family(self.name)
        times = np.array([_horizon(t) for t in times])
        x, age, pair = data.x_T_pairs
        expectation = family.alive_expectation(self.params, x[:, None], age[:, None], times[None, :])
        # A row-wise sum, not a matrix product: each pair's sum is then the same however many pairs there are.
        per_pair = (expectation * np.asarray(weights, dtype=np.float64)).sum(axis=1)
        return per_pair[pair]

    @property
    def informs_one_time_buyers(self) -> bool:
        """Whether P(alive) tells one-time buyers apart: not under BG/NBD, which gives every one of them 1."""
        return self.name != "bgnbd"

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still active at T."""
        data = compress(frequency, recency, T)
        return self.p_alive_on(data)[data.inverse]

    def p_alive_on(self, data: Triples) -> np.ndarray:
        """:meth:`p_alive` per unique triple of already compressed customers."""
        return _family(self.name).p_alive(self.params, data)

    def expected_purchases_new(self, t) -> np.ndarray:
        """Unconditional E[X(t)]: expected repeat purchases within ``t`` of a new customer's first purchase."""
        times = np.asarray(t, dtype=np.float64)
        if not (np.isfinite(times).all() and (times >= 0).all()):
            raise OptionError("prediction times must be numbers >= 0")
        return _family(self.name).expected_new(self.params, times)

    def to_dict(self) -> dict:
        return {
            "model": self.name,
            "params": dict(self.params),
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "converged": self.converged,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TransactionModel:
        """Rebuild a model saved with :meth:`to_dict` (extra keys are ignored)."""
        name = data.get("model")
        if name not in _FAMILIES:
            raise BadValueError(f"the saved model {name!r} is not one of {', '.join(MODEL_NAMES)}")
        names = _FAMILIES[name].problem.names
        params = data.get("params") or {}
        missing = [p for p in names if p not in params]
        if missing:
            raise BadValueError(f"the saved {name} model lacks parameter(s) {', '.join(missing)}")
        values = {p: float(params[p]) for p in names}
        if not all(np.isfinite(v) and v > 0 for v in values.values()):
            raise BadValueError(f"the saved {name} model has a parameter that is not a positive number: {values}")
        return cls(
            str(name),
            values,
            float(data.get("log_likelihood", np.nan)),
            int(data.get("n_customers", 0)),
            bool(data.get("converged", True)),
            tuple(data.get("notes", ())),
            tuple(data.get("warnings", ())),
        )


def fit_transaction_model(name: str, frequency, recency, T, *, penalizer: float = 0.0) -> TransactionModel:
    """Fit ``name`` (one of :data:`MODEL_NAMES`) by maximum likelihood on the customers' (x, t_x, T)."""
    _family(name)
    return fit_transaction_model_on(name, compress(frequency, recency, T), penalizer=penalizer)


def fit_transaction_model_on(name: str, data: Triples, *, penalizer: float = 0.0) -> TransactionModel:
    """:func:`fit_transaction_model` on already compressed customers."""
    family = _family(name)
    if data.n_customers == 0:
        raise BadValueError("no customers to fit the purchase model on")
    if not (data.x > 0).any():
        raise BadValueError(
            "no customer has a repeat purchase, so the purchase model cannot be fitted",
            hint="use more history: an earlier first date or a later as_of",
        )
    outcome = maximise(family.problem, data, penalizer=penalizer)
    params = {p: float(v) for p, v in zip(family.problem.names, np.exp(outcome.log_params))}
    notes = list(outcome.notes)
    if name == "bgnbd" and (data.x == 0).any():
        notes.append("BG/NBD gives every one-time buyer P(alive) = 1; use mbgnbd for churn scores")
    return TransactionModel(
        name, params, outcome.log_likelihood, data.n_customers, outcome.converged, tuple(notes), outcome.warnings
    )


@dataclass(frozen=True)
class FittedModels:
    """A purchase model and a spend model fitted earlier (``--model-out``), and the time unit of their
    parameters: scoring with them skips the fits, so a monthly batch can use the quarter's model."""

    transactions: TransactionModel
    spend: GammaGammaModel
    time_unit: str
