"""Customer value: model-based CLV on the per-customer summary, and Kotler's customer delivered value.

CLV over a horizon is the discounted expected margin, summed month by month:

    CLV = margin × E[spend] × Σ_k (E[purchases in step k]) × (1 + annual rate)^(−t_k / 1 year)

where the steps are months of 365.25/12 days converted to the data's time unit
(the last step is cut at the horizon), t_k is the end of step k, and E[spend]
comes from the Gamma-Gamma model. No "30 days = 1 month" anywhere.

The purchase models factor E[purchases] = P(alive) × E[purchases | alive], so CLV
collapses as a customer goes quiet. The *value if they stay* keeps the second
factor alone, discounted the same way:

    value_if_active = margin × E[spend] × Σ_k (E[purchases in step k | alive at T]) × discount factor

which is what a customer who has not left will bring, and so what is lost if they
have: value at risk = value_if_active × churn risk (:mod:`crmkit.scoring.churn`).
Without a purchase model the customer's own run rate stands in for it
(:func:`run_rate_value`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, MissingColumnsError, OptionError
from crmkit.models import (
    FittedModels,
    GammaGammaModel,
    TransactionModel,
    Triples,
    compress,
    fit_gamma_gamma,
    fit_transaction_model_on,
)
from crmkit.schema import COST_COMPONENTS, CUSTOMER_ID, DAYS_PER_YEAR, VALUE_COMPONENTS
from crmkit.scoring.kernels import MONEY_STEPS
from crmkit.scoring.summary import days_between, unit_days

#: Length of one discounting step (a month) in days.
STEP_DAYS = DAYS_PER_YEAR / 12
HORIZON_UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": STEP_DAYS, "y": DAYS_PER_YEAR}
SUMMARY_INPUTS = (CUSTOMER_ID, "frequency", "recency", "T", "monetary", "total_revenue")
VALUE_OUTPUT_COLUMNS = (
    CUSTOMER_ID,
    "expected_purchases",
    "p_alive",
    "expected_spend",
    "clv",
    "value_if_active",
    "historic_value",
)
DELIVERED_COLUMNS = ("total_customer_value", "total_customer_cost", "delivered_value", "delivered_value_ratio")
PER_CUSTOMER_MARGIN = "per customer (total_margin / total_revenue)"


def parse_horizon(text: str, time_unit: str) -> float:
    """A horizon such as ``12m``, ``52w``, ``365d`` or ``1y`` as a number of ``time_unit``s.

    A month is 365.25/12 days and a year 365.25 days.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*", str(text).lower())
    if not match or float(match.group(1)) <= 0:
        raise OptionError(
            f"cannot read the horizon {text!r}; write a positive number and a unit, like 12m, 52w, 365d or 1y"
        )
    return float(match.group(1)) * HORIZON_UNIT_DAYS[match.group(2)] / unit_days(time_unit)


def _check_margin(margin) -> np.ndarray | float:
    values = np.asarray(margin, dtype=np.float64)
    if not np.isfinite(values).all():
        raise OptionError("the margin must be a finite number (a share of revenue, e.g. 0.3)")
    return float(values) if values.ndim == 0 else values


def _check_clv_settings(horizon: float, time_unit_days: float, discount_rate: float) -> None:
    if not (np.isfinite(horizon) and horizon > 0):
        raise OptionError(f"the CLV horizon must be a positive number of time units, got {horizon}")
    if not (np.isfinite(time_unit_days) and time_unit_days > 0):
        raise OptionError(f"the time unit must be a positive number of days, got {time_unit_days}")
    if not (np.isfinite(discount_rate) and discount_rate >= 0):
        raise OptionError(f"the discount rate must be a number >= 0 (0.10 for 10% a year), got {discount_rate}")


def discount_steps(horizon: float, time_unit_days: float, discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The month ends up to ``horizon`` (in time units) and the weight of E[purchases by each end] in the
    discounted sum: Σ_k (E[Y(end_k)] − E[Y(end_k−1)]) · factor_k = Σ_k E[Y(end_k)] · (factor_k − factor_k+1)."""
    _check_clv_settings(horizon, time_unit_days, discount_rate)
    step = STEP_DAYS / time_unit_days
    ends = np.minimum(step * np.arange(1, max(1, math.ceil(horizon / step - 1e-9)) + 1), horizon)
    factors = (1.0 + discount_rate) ** (-ends * time_unit_days / DAYS_PER_YEAR)
    return ends, factors - np.append(factors[1:], 0.0)


def discounted_purchases(
    model: TransactionModel,
    data: Triples,
    *,
    horizon: float,
    time_unit_days: float,
    discount_rate: float,
    given_alive: bool = False,
) -> np.ndarray:
    """Σ_k E[purchases in month k] × discount factor at the month's end, per unique triple; with
    ``given_alive`` for a customer still active at T (the value-if-they-stay purchases)."""
    ends, weights = discount_steps(horizon, time_unit_days, discount_rate)
    if given_alive:
        return model.alive_weighted_purchases_on(ends, weights, data)
    return model.weighted_purchases_on(ends, weights, data)


def clv(
    model: TransactionModel,
    gg: GammaGammaModel,
    frequency,
    recency,
    T,
    monetary,
    *,
    horizon: float,
    time_unit_days: float,
    margin=1.0,
    discount_rate: float = 0.10,
) -> np.ndarray:
    """Discounted expected margin over ``horizon`` time units per customer (see the module docstring).

    ``margin`` is a share of revenue, a scalar or one value per customer;
    ``discount_rate`` is annual.
    """
    margin = _check_margin(margin)
    data = compress(frequency, recency, T)
    purchases = discounted_purchases(
        model, data, horizon=horizon, time_unit_days=time_unit_days, discount_rate=discount_rate
    )
    spend = gg.expected_spend(np.asarray(frequency, dtype=np.float64), np.asarray(monetary, dtype=np.float64))
    return margin * spend * purchases[data.inverse]


@dataclass(frozen=True)
class ValueFit:
    """The fitted purchase and spend models behind a value scoring, with the settings used."""

    model: TransactionModel
    spend: GammaGammaModel
    time_unit: str
    horizon: str
    horizon_units: float
    discount_rate: float
    margin: float | None  # None: per customer from total_margin / total_revenue
    prospects: int = 0

    @property
    def notes(self) -> list[str]:
        """What the fits did along the way (retries, excluded customers), the spend model's marked as such."""
        return [*self.model.notes, *(f"Gamma-Gamma: {note}" for note in self.spend.notes)]

    @property
    def warnings(self) -> list[str]:
        """What may make the values less trustworthy, the spend model's marked as such."""
        return [*self.model.warnings, *(f"Gamma-Gamma: {warning}" for warning in self.spend.warnings)]

    def to_dict(self) -> dict:
        """JSON-ready: the purchase model's dict plus time unit, Gamma-Gamma, CLV settings, notes and warnings."""
        return {
            **self.model.to_dict(),
            "time_unit": self.time_unit,
            "gamma_gamma": self.spend.to_dict(),
            "spend_frequency_correlation": self.spend.correlation,
            "horizon": self.horizon,
            "horizon_units": self.horizon_units,
            "discount_rate": self.discount_rate,
            "margin": PER_CUSTOMER_MARGIN if self.margin is None else self.margin,
            "prospects_without_model_values": self.prospects,
            "notes": self.notes,
            "warnings": self.warnings,
        }


def margin_steps(summary: pd.DataFrame) -> tuple[int, int]:
    """Margin and revenue of the customers with positive revenue, in whole money steps (exact, so the sums of
    parts of the customers add up to the sum of all)."""
    revenue = summary["total_revenue"].to_numpy(dtype=np.float64)
    positive = revenue > 0
    margin = summary["total_margin"].to_numpy(dtype=np.float64)[positive]
    return int(np.round(margin * MONEY_STEPS).astype(np.int64).sum()), int(
        np.round(revenue[positive] * MONEY_STEPS).astype(np.int64).sum()
    )


def overall_margin_share(steps: tuple[int, int]) -> float:
    """Margin ÷ revenue over the customers with positive revenue (1 when there are none)."""
    margin, revenue = steps
    return margin / revenue if revenue else 1.0


def _margin_share(summary: pd.DataFrame, overall: float | None = None) -> np.ndarray:
    """total_margin / total_revenue per customer, clipped to [−1, 1]; ``overall`` (default: the share over
    ``summary``, see :func:`overall_margin_share`) where revenue <= 0."""
    revenue = summary["total_revenue"].to_numpy(dtype=np.float64)
    margin = summary["total_margin"].to_numpy(dtype=np.float64)
    positive = revenue > 0
    if overall is None:
        overall = overall_margin_share(margin_steps(summary))
    share = np.divide(margin, revenue, out=np.full_like(revenue, overall), where=positive)
    return np.clip(np.nan_to_num(share, nan=overall), -1.0, 1.0)


def score_value(
    summary: pd.DataFrame,
    *,
    model: str = "mbgnbd",
    horizon: str = "12m",
    time_unit: str = "day",
    margin: float | None = None,
    discount_rate: float = 0.10,
    penalizer: float = 0.0,
    fitted: FittedModels | None = None,
    overall_margin: float | None = None,
) -> tuple[pd.DataFrame, ValueFit]:
    """Fit the purchase and spend models on a customer summary and score every customer's value.

    Transforms *customer_id, frequency, recency, T, monetary, total_revenue*
    (optional *total_margin*; recency and T already in ``time_unit``) into a new
    frame of :data:`VALUE_OUTPUT_COLUMNS`, in the summary's row order.
    ``expected_purchases`` covers the horizon; ``clv`` is discounted margin and
    ``value_if_active`` the same for a customer still active (CLV / P(alive)).
    The margin is ``margin`` (a share of revenue) when given, else
    total_margin/total_revenue per customer when the summary has total_margin,
    else 1 (revenue CLV); ``historic_value`` follows it (total_margin, or
    total_revenue × margin). Prospects (no purchase: frequency missing) get
    missing model columns. With ``fitted`` models nothing is fitted: they score the customers as they are.
    ``overall_margin`` is the margin share of customers without positive revenue (default: over ``summary``).
    """
    missing = [c for c in SUMMARY_INPUTS if c not in summary.columns]
    if missing:
        raise MissingColumnsError(f"the customer summary lacks column(s) {', '.join(missing)}")
    units = parse_horizon(horizon, time_unit)
    _check_clv_settings(units, unit_days(time_unit), discount_rate)
    if margin is not None and not 0 < _check_margin(margin) <= 1:
        raise OptionError(f"margin is a share of revenue between 0 and 1 (e.g. 0.3), got {margin}")
    buyers = summary["frequency"].notna().to_numpy()
    f, r, age, m = (
        _select(summary[c].to_numpy(dtype=np.float64), buyers) for c in ("frequency", "recency", "T", "monetary")
    )
    data = compress(f, r, age)
    if fitted is None:
        transactions = fit_transaction_model_on(model, data, penalizer=penalizer)
        spend = fit_gamma_gamma(f, m, penalizer=penalizer)
    elif fitted.time_unit != time_unit:
        raise OptionError(
            f"the fitted model's parameters are in {fitted.time_unit}s, but time_unit is {time_unit!r}",
            hint=f"score with time_unit={fitted.time_unit!r}, or fit the model again in {time_unit}s",
        )
    else:
        transactions, spend = fitted.transactions, fitted.spend

    share: float | np.ndarray = 1.0
    if margin is not None:
        share = float(margin)
    elif "total_margin" in summary.columns:
        share = _margin_share(summary.loc[buyers], overall_margin)
    historic = historic_values(summary, margin)
    expected_spend = spend.expected_spend(f, m)
    p_alive = transactions.p_alive_on(data)
    if_active = discounted_purchases(
        transactions,
        data,
        horizon=units,
        time_unit_days=unit_days(time_unit),
        discount_rate=discount_rate,
        given_alive=True,
    )
    value_if_active = share * expected_spend * if_active[data.inverse]
    out = pd.DataFrame(
        {
            CUSTOMER_ID: summary[CUSTOMER_ID].array,
            "expected_purchases": _spread(transactions.expected_purchases_on(units, data)[data.inverse], buyers),
            "p_alive": _spread(p_alive[data.inverse], buyers),
            "expected_spend": _spread(expected_spend, buyers),
            "clv": _spread(value_if_active * p_alive[data.inverse], buyers),
            "value_if_active": _spread(value_if_active, buyers),
            "historic_value": historic,
        },
        copy=False,
    )
    fit = ValueFit(
        transactions,
        spend,
        time_unit,
        str(horizon),
        units,
        float(discount_rate),
        None if isinstance(share, np.ndarray) else share,
        int((~buyers).sum()),
    )
    return out, fit


def historic_values(summary: pd.DataFrame, margin: float | None = None) -> np.ndarray:
    """Value each customer has brought so far: total revenue × ``margin`` when given, else total_margin when
    the summary has it (a cost or margin column), else total revenue."""
    revenue = summary["total_revenue"].to_numpy(dtype=np.float64)
    if margin is not None:
        return revenue * float(margin)
    if "total_margin" in summary.columns:
        return summary["total_margin"].to_numpy(dtype=np.float64)
    return revenue


def run_rate_value(
    table: pd.DataFrame,
    *,
    horizon: str = "12m",
    margin: float | None = None,
    discount_rate: float = 0.10,
) -> np.ndarray:
    """Value if they stay without a purchase model: each customer's historic value per day since their first
    purchase, carried over the horizon and discounted month by month like CLV.

    Needs *first_purchase, last_purchase, days_since_last, total_revenue* (optional *total_margin*). The days
    since the first purchase count at least the horizon, so a customer who first bought last month is worth
    what they have bought so far, not twelve times it. Like the models' value-if-active, which also divides
    by the customer's whole age, it assumes the customer keeps their pace so far. Prospects get NaN.
    """
    days = parse_horizon(horizon, "day")
    ends, weights = discount_steps(days, 1.0, discount_rate)
    discounted_days = float(ends @ weights)  # Σ_k (days by end_k) · weight_k: a constant daily rate, discounted
    span = days_between(table["first_purchase"], table["last_purchase"])
    age = span + table["days_since_last"].to_numpy(dtype=np.float64)
    return historic_values(table, margin) / np.maximum(age, days) * discounted_days


def _select(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The selected rows' values; the array itself when every row is selected (no copy)."""
    return values if rows.all() else values[rows]


def _spread(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Values of the selected rows as a full column, missing elsewhere; the values themselves when every row
    is selected."""
    if rows.all():
        return values
    column = np.full(len(rows), np.nan)
    column[rows] = values
    return column


def missing_delivered_components(columns) -> list[str]:
    """Kotler value and cost component columns absent from ``columns`` (all are needed for delivered value)."""
    present = set(columns)
    return [c for c in (*VALUE_COMPONENTS, *COST_COMPONENTS) if c not in present]


def _component(customers: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(customers[column], errors="coerce")
    bad = values.isna() & customers[column].notna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise BadValueError(
            f"column {column!r} has a value that is not a number in row {row}: {customers[column].iloc[row]!r}",
            hint="component scores must be numbers",
        )
    return values.to_numpy(dtype=np.float64)


def delivered_value(customers: pd.DataFrame, *, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Kotler's customer delivered value from the component columns of a customer master file.

    Transforms *customer_id* plus :data:`~crmkit.schema.VALUE_COMPONENTS` and
    :data:`~crmkit.schema.COST_COMPONENTS` into *customer_id,
    total_customer_value* (weighted sum of value components),
    *total_customer_cost*, *delivered_value* (value − cost) and
    *delivered_value_ratio* (value / cost, missing when cost is 0). ``weights``
    maps component names to weights (default 1 each). A missing component cell
    makes the customer's totals missing.
    """
    missing = missing_delivered_components(customers.columns)
    if CUSTOMER_ID not in customers.columns:
        missing.insert(0, CUSTOMER_ID)
    if missing:
        raise MissingColumnsError(
            f"customer delivered value needs column(s) {', '.join(missing)} in the customer file",
            hint="add the component columns: " + ", ".join((*VALUE_COMPONENTS, *COST_COMPONENTS)),
        )
    weights = dict(weights or {})
    unknown = sorted(set(weights) - {*VALUE_COMPONENTS, *COST_COMPONENTS})
    if unknown:
        raise OptionError(
            f"unknown delivered-value weight(s) {', '.join(unknown)}; components are "
            + ", ".join((*VALUE_COMPONENTS, *COST_COMPONENTS))
        )
    value = sum(weights.get(c, 1.0) * _component(customers, c) for c in VALUE_COMPONENTS)
    cost = sum(weights.get(c, 1.0) * _component(customers, c) for c in COST_COMPONENTS)
    ratio = np.divide(value, cost, out=np.full_like(value, np.nan), where=cost != 0)
    return pd.DataFrame(
        {
            CUSTOMER_ID: customers[CUSTOMER_ID].to_numpy(),
            "total_customer_value": value,
            "total_customer_cost": cost,
            "delivered_value": value - cost,
            "delivered_value_ratio": ratio,
        }
    )
