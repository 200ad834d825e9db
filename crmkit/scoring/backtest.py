"""Calibration/holdout backtest: fit on the past, predict the holdout, compare with what happened.

Transforms transactions into a typed report (:class:`BacktestReport`, one :class:`ModelBacktest` per model,
``to_json()`` for ``--format json``): aggregate predicted
vs actual repeat purchases, per-customer errors, the by-frequency table of the
papers (calibration frequency 0, 1, …, 7+), the AUC of P(alive) for "buys again
in the holdout", and CLV against actual holdout spend.

A model whose P(alive) cannot tell one-time buyers apart (BG/NBD gives every one
of them 1) carries ``p_alive_ties``: how many calibration customers are one-time
buyers sharing that P(alive) of 1, which is why its AUC is low.

The holdout covers the days after ``calibration_end`` up to and including
``holdout_end``; only customers with a purchase in the calibration period are
scored, so customers first seen in the holdout are left out. Holdout purchases
are counted as the calibration summary counts them: distinct buying days, with
returns (negative amounts) never an occasion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, OptionError
from crmkit.models import compress, fit_gamma_gamma, fit_transaction_model_on
from crmkit.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE
from crmkit.scoring.kernels import (
    customer_codes,
    distinct_sorted,
    money_sums,
    pair_keys,
)
from crmkit.scoring.rfm import average_ranks
from crmkit.scoring.summary import customer_summary, day_numbers, unit_days
from crmkit.scoring.value import clv

#: Calibration frequencies from this one up share the last row ("7+") of the by-frequency table.
FREQUENCY_CAP = 7
#: Share of customers, highest predicted CLV first, whose actual holdout revenue is reported.
TOP_SHARE = 0.2
_LATER_CALIBRATION_END = "choose a later calibration_end so that more customers have bought twice"


@dataclass(frozen=True)
class FrequencyRow:
    """The calibration customers with one frequency (the last row: :data:`FREQUENCY_CAP` or more repeat
    purchases) and their mean holdout purchases, actual and predicted."""

    frequency: str
    customers: int
    actual: float
    predicted: float


@dataclass(frozen=True)
class ModelBacktest:
    """How one model's holdout predictions compare with what happened."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    warnings: list[str]
    actual_purchases: float  # repeat purchases of all calibration customers in the holdout
    predicted_purchases: float
    mae: float  # per customer, of holdout purchases
    rmse: float
    correlation: float | None
    p_alive_auc: float | None  # P(alive) as a score for "buys again in the holdout"
    p_alive_ties: int | None  # one-time buyers who all get P(alive) = 1 (BG/NBD), which lowers the AUC
    by_frequency: list[FrequencyRow]
    clv_correlation: float | None  # CLV against actual holdout spend
    top20_capture: float | None  # share of holdout spend bought by the top 20% by CLV

    def to_json(self) -> dict[str, Any]:
        """The model's entry of ``crmkit backtest --format json``."""
        return {
            "model": self.model,
            "params": self.params,
            "log_likelihood": self.log_likelihood,
            "converged": self.converged,
            "warnings": self.warnings,
            "aggregate": {"actual": self.actual_purchases, "predicted": self.predicted_purchases},
            "per_customer": {"mae": self.mae, "rmse": self.rmse, "correlation": self.correlation},
            "p_alive_auc": self.p_alive_auc,
            "p_alive_ties": self.p_alive_ties,
            "by_frequency": [vars(row) for row in self.by_frequency],
            "clv": {"correlation": self.clv_correlation, "top20_capture": self.top20_capture},
        }


@dataclass(frozen=True)
class BacktestReport:
    """The calibration and holdout periods and one :class:`ModelBacktest` per model, in the order asked."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    time_unit: str
    holdout_length: float  # in time units
    customers: int  # with a purchase in the calibration period
    models: list[ModelBacktest]

    def to_json(self) -> dict[str, Any]:
        """What ``crmkit backtest --format json`` prints besides the data section."""
        return {
            "calibration_end": self.calibration_end.strftime("%Y-%m-%d"),
            "holdout_end": self.holdout_end.strftime("%Y-%m-%d"),
            "time_unit": self.time_unit,
            "holdout_length": self.holdout_length,
            "customers": self.customers,
            "models": [m.to_json() for m in self.models],
        }


def holdout_actuals(
    tx: pd.DataFrame, calibration: pd.DataFrame, *, calibration_end: pd.Timestamp, holdout_end: pd.Timestamp
) -> pd.DataFrame:
    """Repeat purchase occasions and net spend in the holdout, for each customer of the calibration summary.

    Transforms *customer_id, order_date, amount* into *customer_id,
    actual_purchases, actual_spend* in the row order of ``calibration``.
    Occasions are distinct days with a non-negative amount in
    (``calibration_end``, ``holdout_end``]; spend is the net amount on those
    days, returns included. Ids are matched as text, so any id dtype works.
    """
    day = day_numbers(tx[ORDER_DATE])
    start, end = int(day_numbers(calibration_end)[0]), int(day_numbers(holdout_end)[0])
    codes, ids = customer_codes(tx[CUSTOMER_ID])
    amount = tx[AMOUNT].to_numpy(dtype=np.float64)
    in_holdout = (day > start) & (day <= end)
    buy = in_holdout & (amount >= 0)
    span = end - start
    occasion_keys = distinct_sorted(pair_keys(codes[buy], day[buy] - start - 1, span))
    occasions = np.bincount(occasion_keys // span, minlength=len(ids))
    spend = money_sums(codes[in_holdout], amount[in_holdout], len(ids))
    row = ids.get_indexer(pd.Index(calibration[CUSTOMER_ID].astype("str")))
    return pd.DataFrame(
        {
            CUSTOMER_ID: calibration[CUSTOMER_ID].array,
            "actual_purchases": occasions[row].astype(np.float64),
            "actual_spend": spend[row],
        }
    )


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney U, a tied pair counting one half); None without both classes."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def by_frequency(frequency: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> list[FrequencyRow]:
    """Mean actual vs predicted holdout purchases per calibration frequency (0 … 6, then 7+).

    Rows run in frequency order; a frequency without customers has no row.
    """
    bucket = np.minimum(np.asarray(frequency), FREQUENCY_CAP).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "actual": actual, "predicted": predicted})
    grouped = frame.groupby("bucket").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    return [
        FrequencyRow(
            f"{b}+" if b == FREQUENCY_CAP else str(b), int(row.customers), float(row.actual), float(row.predicted)
        )
        for b, row in grouped.iterrows()
    ]


def top_share(predicted: np.ndarray, actual_spend: np.ndarray, *, share: float = TOP_SHARE) -> float | None:
    """Share of actual holdout revenue bought by the top ``share`` of customers by predicted value.

    The top group is ⌈share·n⌉ customers (ties kept in row order); net returns
    count as no revenue. None when the holdout has no revenue.
    """
    spend = np.asarray(actual_spend, dtype=np.float64).clip(min=0)
    total = spend.sum()
    if total <= 0:
        return None
    k = int(np.ceil(share * len(spend)))
    top = np.argsort(-np.asarray(predicted, dtype=np.float64), kind="stable")[:k]
    return float(spend[top].sum() / total)


def backtest(
    tx: pd.DataFrame,
    *,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp | None = None,
    models: Sequence[str] = ("mbgnbd",),
    time_unit: str = "week",
) -> BacktestReport:
    """Fit each model on transactions up to ``calibration_end`` and score its predictions for the holdout.

    ``holdout_end`` defaults to the day of the last transaction. CLV is
    undiscounted revenue over the holdout (margin 1), so it compares with the
    actual holdout spend.
    """
    calibration_end, holdout_end = _check_period(tx, calibration_end, holdout_end)
    unit = unit_days(time_unit)
    calibration = customer_summary(tx, as_of=calibration_end, time_unit=time_unit)
    f, r, T = (calibration[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    m = calibration["monetary"].to_numpy(dtype=np.float64)
    if not (f > 0).any():
        raise BadValueError(
            f"no customer has a repeat purchase by calibration_end {calibration_end:%Y-%m-%d}, "
            "so the purchase models cannot be fitted",
            hint=_LATER_CALIBRATION_END,
        )
    actuals = holdout_actuals(tx, calibration, calibration_end=calibration_end, holdout_end=holdout_end)
    actual = actuals["actual_purchases"].to_numpy()
    spend = actuals["actual_spend"].to_numpy()
    horizon = (holdout_end - calibration_end).days / unit
    try:
        gamma_gamma = fit_gamma_gamma(f, m)
    except BadValueError as error:
        raise BadValueError(
            f"{error.message} by calibration_end {calibration_end:%Y-%m-%d}", hint=_LATER_CALIBRATION_END
        ) from None
    data = compress(f, r, T)  # the unique (x, t_x, T) rows, shared by every model's fit and predictions
    one_time = int((f == 0).sum())
    reports: list[ModelBacktest] = []
    for name in models:
        model = fit_transaction_model_on(name, data)
        predicted = model.expected_purchases_on(horizon, data)[data.inverse]
        value = clv(model, gamma_gamma, f, r, T, m, horizon=horizon, time_unit_days=unit, margin=1.0, discount_rate=0.0)
        reports.append(
            ModelBacktest(
                model=name,
                params=model.params,
                log_likelihood=model.log_likelihood,
                converged=model.converged,
                warnings=[*model.warnings, *(f"Gamma-Gamma: {w}" for w in gamma_gamma.warnings)],
                actual_purchases=float(actual.sum()),
                predicted_purchases=float(predicted.sum()),
                mae=float(np.mean(np.abs(predicted - actual))),
                rmse=float(np.sqrt(np.mean((predicted - actual) ** 2))),
                correlation=_correlation(predicted, actual),
                p_alive_auc=auc(model.p_alive_on(data)[data.inverse], actual > 0),
                p_alive_ties=None if model.informs_one_time_buyers or not one_time else one_time,
                by_frequency=by_frequency(f, actual, predicted),
                clv_correlation=_correlation(value, spend),
                top20_capture=top_share(value, spend),
            )
        )
    return BacktestReport(calibration_end, holdout_end, time_unit, horizon, len(calibration), reports)


def _check_period(tx: pd.DataFrame, calibration_end, holdout_end) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The calibration and holdout ends as days, checked against each other and the data's first and last day."""
    if tx.empty:
        raise BadValueError("there are no transactions to backtest")
    first = pd.Timestamp(tx[ORDER_DATE].min()).normalize()
    last = pd.Timestamp(tx[ORDER_DATE].max()).normalize()
    calibration_end = pd.Timestamp(calibration_end).normalize()
    span = f"the data run from {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    if calibration_end < first:
        raise OptionError(
            f"calibration_end {calibration_end:%Y-%m-%d} is before the first transaction; {span}",
            hint="choose a calibration_end inside the data, leaving time for a holdout after it",
        )
    if holdout_end is None:
        if calibration_end >= last:
            raise OptionError(
                f"calibration_end {calibration_end:%Y-%m-%d} leaves no holdout; {span}",
                hint="choose a calibration_end before the last transaction date",
            )
        return calibration_end, last
    holdout_end = pd.Timestamp(holdout_end).normalize()
    if holdout_end <= calibration_end:
        raise OptionError(
            f"holdout_end {holdout_end:%Y-%m-%d} must be after calibration_end {calibration_end:%Y-%m-%d}",
            hint="the holdout is the period after the calibration",
        )
    if holdout_end > last:
        raise OptionError(
            f"holdout_end {holdout_end:%Y-%m-%d} is after the last transaction; {span}",
            hint="leave out holdout_end to end the holdout at the last transaction",
        )
    return calibration_end, holdout_end


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation; None when it is undefined (fewer than two values, or one side constant)."""
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
