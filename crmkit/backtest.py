"""Calibration/holdout backtest: fit on the past, predict the holdout, compare with what happened.

Transforms transactions into a JSON-ready report per model: aggregate predicted
vs actual repeat purchases, per-customer errors, the by-frequency table of the
papers (calibration frequency 0, 1, …, 7+), the AUC of P(alive) for "buys again
in the holdout", and CLV against actual holdout spend.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from crmkit.errors import OptionError
from crmkit.features import customer_summary, day_numbers, unit_days
from crmkit.models import fit_gamma_gamma, fit_transaction_model
from crmkit.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE
from crmkit.value import clv

FREQUENCY_CAP = 7


def holdout_actuals(tx: pd.DataFrame, calibration: pd.DataFrame, *, calibration_end: pd.Timestamp,
                    holdout_end: pd.Timestamp) -> pd.DataFrame:
    """Repeat purchase occasions (distinct buying days) and net spend in the holdout, per calibration customer."""
    day = day_numbers(tx[ORDER_DATE])
    start, end = day_numbers(calibration_end)[0], day_numbers(holdout_end)[0]
    holdout = tx.loc[(day > start) & (day <= end), [CUSTOMER_ID, AMOUNT]].assign(_day=day[(day > start) & (day <= end)])
    occasions = (holdout.loc[holdout[AMOUNT] >= 0].drop_duplicates([CUSTOMER_ID, "_day"])
                 .groupby(CUSTOMER_ID, observed=True).size())
    spend = holdout.groupby(CUSTOMER_ID, observed=True)[AMOUNT].sum()
    ids = calibration[CUSTOMER_ID]
    return pd.DataFrame({
        CUSTOMER_ID: ids.to_numpy(),
        "actual_purchases": occasions.reindex(ids).fillna(0).to_numpy(),
        "actual_spend": spend.reindex(ids).fillna(0).to_numpy(),
    })


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney U with tied scores averaged); None without both classes."""
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def by_frequency(frequency: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """Mean actual vs predicted holdout purchases per calibration frequency (0 … 7+)."""
    bucket = np.minimum(frequency, FREQUENCY_CAP).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "actual": actual, "predicted": predicted})
    grouped = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"))
    return [{"frequency": f"{b}+" if b == FREQUENCY_CAP else str(b), "customers": int(row.customers),
             "actual": float(row.actual), "predicted": float(row.predicted)}
            for b, row in grouped.iterrows()]


def backtest(tx: pd.DataFrame, *, calibration_end: pd.Timestamp, holdout_end: pd.Timestamp | None = None,
             models: Sequence[str] = ("mbgnbd",), time_unit: str = "week") -> dict:
    """Fit each model on transactions up to ``calibration_end`` and score its holdout predictions."""
    calibration_end = pd.Timestamp(calibration_end).normalize()
    last = pd.Timestamp(tx[ORDER_DATE].max()).normalize()
    holdout_end = last if holdout_end is None else pd.Timestamp(holdout_end).normalize()
    if not tx[ORDER_DATE].min() <= calibration_end < holdout_end:
        raise OptionError(
            f"--calibration-end {calibration_end:%Y-%m-%d} must fall inside the data "
            f"({tx[ORDER_DATE].min():%Y-%m-%d} – {last:%Y-%m-%d}) and before --holdout-end {holdout_end:%Y-%m-%d}"
        )
    unit = unit_days(time_unit)
    calibration = customer_summary(tx, as_of=calibration_end, time_unit=time_unit)
    actuals = holdout_actuals(tx, calibration, calibration_end=calibration_end, holdout_end=holdout_end)
    horizon = (holdout_end - calibration_end).days / unit
    f, r, T = (calibration[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    m = calibration["monetary"].to_numpy(dtype=float)
    actual, spend = actuals["actual_purchases"].to_numpy(), actuals["actual_spend"].to_numpy()
    gamma_gamma = fit_gamma_gamma(f, m)
    reports = []
    for name in models:
        model = fit_transaction_model(name, f, r, T)
        predicted = model.expected_purchases(horizon, f, r, T)
        value = clv(model, gamma_gamma, f, r, T, m, horizon=horizon, time_unit_days=unit, margin=1.0,
                    discount_rate=0.0)
        reports.append({
            "model": name,
            "params": model.params,
            "log_likelihood": model.log_likelihood,
            "converged": model.converged,
            "aggregate": {"actual": float(actual.sum()), "predicted": float(predicted.sum())},
            "per_customer": {
                "mae": float(np.mean(np.abs(predicted - actual))),
                "rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))),
                "correlation": _correlation(predicted, actual),
            },
            "p_alive_auc": auc(model.p_alive(f, r, T), actual > 0),
            "by_frequency": by_frequency(f, actual, predicted),
            "clv": {"correlation": _correlation(value, spend), "top20_capture": _top_share(value, spend)},
        })
    return {
        "calibration_end": calibration_end.strftime("%Y-%m-%d"),
        "holdout_end": holdout_end.strftime("%Y-%m-%d"),
        "time_unit": time_unit,
        "holdout_length": horizon,
        "customers": int(len(calibration)),
        "models": reports,
    }


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _top_share(predicted: np.ndarray, actual_spend: np.ndarray) -> float | None:
    """Share of actual holdout revenue bought by the top 20% of customers by predicted value."""
    total = actual_spend.clip(min=0).sum()
    if total <= 0:
        return None
    k = int(np.ceil(0.2 * len(predicted)))
    top = np.argsort(-predicted, kind="stable")[:k]
    return float(actual_spend[top].clip(min=0).sum() / total)
