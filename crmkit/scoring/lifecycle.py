"""Lifecycle stages: acquisition, growth, maturity, decline, termination (潜在获取期 → 终止期).

Every customer gets exactly one stage from a fixed precedence of rules
(:data:`STAGE_PRECEDENCE`); every threshold is a field of :class:`LifecycleRules`,
which the ``[lifecycle]`` table of crmkit.toml can override. The rules work on
days and dates (``days_since_last``, first/last purchase), never on the model's
time unit, so a stage does not change with ``--time-unit``.

Each customer is measured against their own rhythm, the *usual gap*: the mean
number of days between their purchase days. One-time buyers have no gap of
their own and are measured against the population's typical gap (see
:func:`assign_stages`); whether they have left is judged by the purchase
model's P(alive) where it tells them apart, else by how long the customers who
did come back took to make their second purchase (:func:`return_gaps`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import AMOUNT, CUSTOMER_ID, ORDER_DATE, STAGES, vocabulary_column
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.kernels import (
    align,
    customer_codes,
    distinct_sorted,
    id_column,
    id_dtype,
    money_sums,
    pair_keys,
)
from crmkit.scoring.summary import day_numbers, days_between
from crmkit.settings import config_hint, with_config

#: Which rule wins when several match: the first stage in this tuple whose rule holds.
STAGE_PRECEDENCE = ("termination", "decline", "acquisition", "growth", "maturity")
#: Columns of :func:`activity_windows`.
ACTIVITY_COLUMNS = (CUSTOMER_ID, "recent_revenue", "previous_revenue", "recent_days", "previous_days")
_HINT = config_hint("lifecycle")


@dataclass(frozen=True)
class LifecycleRules:
    """Every threshold of the stage rules, in one place.

    - ``window_days``: length of the recent window (the last N days up to the
      as-of day) and of the previous window just before it;
    - ``growth_ratio`` / ``decline_ratio``: recent ÷ previous window revenue or
      purchase days at or above / at or below which the customer is growing / declining;
    - ``min_purchases_for_trend``: purchase days needed across both windows before
      a rise or fall counts (one purchase is no trend);
    - ``overdue_factor``: silent for more than this × the usual gap → decline;
    - ``termination_factor``: silent for more than this × the usual gap → termination;
    - ``termination_p_alive``: model P(alive) below this, once past the usual gap → termination
      (0 switches the model rule off);
    - ``one_time_p_alive``: a one-time buyer past their first expected cycle is in termination when
      the model's P(alive) is below this (0.5: more likely gone than not);
    - ``one_time_gap_quantile``: without an informative model, a one-time buyer is in termination once
      silent longer than this share of returning customers took to come back (0.9: 90% did sooner);
    - ``new_customer_cycle_days``: usual gap of one-time buyers; ``None`` = the median
      usual gap of repeat buyers (``window_days`` when nobody has bought twice).
    """

    window_days: float = 90.0
    growth_ratio: float = 1.25
    decline_ratio: float = 0.75
    min_purchases_for_trend: int = 2
    overdue_factor: float = 1.5
    termination_factor: float = 4.0
    termination_p_alive: float = 0.2
    one_time_p_alive: float = 0.5
    one_time_gap_quantile: float = 0.9
    new_customer_cycle_days: float | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None and item.name == "new_customer_cycle_days":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise OptionError(f"[lifecycle] {item.name} must be a number, got {value!r}", hint=_HINT)
        checks = (
            (self.window_days > 0, f"window_days must be more than 0, got {self.window_days:g}"),
            (
                0 <= self.decline_ratio < 1 < self.growth_ratio,
                f"the ratios need 0 <= decline_ratio < 1 < growth_ratio, got {self.decline_ratio:g} and "
                f"{self.growth_ratio:g}",
            ),
            (
                float(self.min_purchases_for_trend).is_integer() and self.min_purchases_for_trend >= 1,
                f"min_purchases_for_trend must be a whole number of at least 1, got {self.min_purchases_for_trend:g}",
            ),
            (
                1 <= self.overdue_factor < self.termination_factor,
                f"the factors need 1 <= overdue_factor < termination_factor, got {self.overdue_factor:g} and "
                f"{self.termination_factor:g}",
            ),
            (
                0 <= self.termination_p_alive <= 1,
                f"termination_p_alive must be between 0 and 1, got {self.termination_p_alive:g}",
            ),
            (
                0 <= self.one_time_p_alive <= 1,
                f"one_time_p_alive must be between 0 and 1, got {self.one_time_p_alive:g}",
            ),
            (
                0 < self.one_time_gap_quantile <= 1,
                f"one_time_gap_quantile must be more than 0 and at most 1, got {self.one_time_gap_quantile:g}",
            ),
            (
                self.new_customer_cycle_days is None or self.new_customer_cycle_days > 0,
                f"new_customer_cycle_days must be more than 0, got {self.new_customer_cycle_days}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise OptionError(f"[lifecycle] {message}", hint=_HINT)


DEFAULT_RULES = LifecycleRules()


def rules_from_config(config: Mapping[str, object]) -> LifecycleRules:
    """The default rules with the ``[lifecycle]`` table's values on top; unknown keys and bad values raise."""
    rules = with_config(DEFAULT_RULES, config, "lifecycle")
    return replace(rules, min_purchases_for_trend=int(rules.min_purchases_for_trend))  # checked whole above


def activity_windows(tx: pd.DataFrame, *, as_of: pd.Timestamp, window_days: float) -> pd.DataFrame:
    """Revenue and purchase days per customer in the recent window and the window before it.

    The recent window is the ``window_days`` days ending on the as-of day; the
    previous window is the same length just before it. Revenue is net of returns
    (negative amounts); purchase days are distinct days with a non-negative
    amount, as in :func:`crmkit.features.customer_summary`. Returns
    :data:`ACTIVITY_COLUMNS`, one row per customer with a transaction in either
    window, sorted by ``customer_id``; customers not listed had no activity.
    """
    if not window_days > 0:
        raise OptionError(f"[lifecycle] window_days must be more than 0, got {window_days!r}", hint=_HINT)
    age = int(day_numbers(pd.Timestamp(as_of))[0]) - day_numbers(tx[ORDER_DATE])
    in_windows = (age >= 0) & (age < 2 * window_days)
    codes, ids = customer_codes(tx.loc[in_windows, CUSTOMER_ID])
    age = age[in_windows]
    amount = tx.loc[in_windows, AMOUNT].to_numpy(dtype=np.float64)
    recent = age < window_days
    n = len(ids)

    # Distinct (customer, day) purchase keys; age < 2 × window bounds the day offset.
    span = math.ceil(2 * window_days) + 1
    buy = amount >= 0
    day_keys = distinct_sorted(pair_keys(codes[buy], age[buy], span))
    key_code, key_recent = day_keys // span, day_keys % span < window_days
    active = np.bincount(codes, minlength=n) > 0  # a categorical id column lists every category
    return (
        pd.DataFrame(
            {
                CUSTOMER_ID: id_column(np.arange(n), id_dtype(tx[CUSTOMER_ID], ids)),
                "recent_revenue": money_sums(codes[recent], amount[recent], n),
                "previous_revenue": money_sums(codes[~recent], amount[~recent], n),
                "recent_days": np.bincount(key_code[key_recent], minlength=n),
                "previous_days": np.bincount(key_code[~key_recent], minlength=n),
            },
            copy=False,
        )
        .loc[active]
        .reset_index(drop=True)
    )


def return_gaps(tx: pd.DataFrame, *, as_of: pd.Timestamp) -> np.ndarray:
    """Days from the first to the second purchase day of every customer who came back by the as-of day, sorted.

    Purchase days are days with a non-negative amount, as in the customer summary. Two scatter passes over
    the transactions (no sort of them): the first purchase day per customer, then the first day after it.
    """
    day = day_numbers(tx[ORDER_DATE])
    buys = (day <= int(day_numbers(pd.Timestamp(as_of))[0])) & (tx[AMOUNT].to_numpy(dtype=np.float64) >= 0)
    codes, ids = customer_codes(tx.loc[buys, CUSTOMER_ID])
    day = day[buys]
    never = np.iinfo(np.int64).max
    first = np.full(len(ids), never)
    np.minimum.at(first, codes, day)
    later = day > first[codes]
    second = np.full(len(ids), never)
    np.minimum.at(second, codes[later], day[later])
    came_back = second < never
    return np.sort(second[came_back] - first[came_back]).astype(np.float64)


def assign_stages(
    table: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    rules: LifecycleRules = DEFAULT_RULES,
    first_return_gaps: np.ndarray | Histogram | None = None,
) -> pd.DataFrame:
    """Give every row of the customer table exactly one lifecycle stage.

    Needs *customer_id, first_purchase, last_purchase, frequency, days_since_last*
    (optional *p_alive*) and the output of :func:`activity_windows`;
    ``first_return_gaps`` is :func:`return_gaps` (or its histogram, when the table holds
    a part of the customers), used for one-time buyers without P(alive). Returns
    *customer_id, lifecycle_stage, usual_gap_days, days_overdue* in the table's row order. Prospects (no purchase: ``days_since_last`` missing)
    are acquisition with missing gap and overdue days.

    - ``usual_gap_days``: (last − first purchase day) / frequency for repeat
      buyers; for one-time buyers ``rules.new_customer_cycle_days``, by default
      the median usual gap of the repeat buyers in the table;
    - ``days_overdue`` = max(0, days_since_last − usual_gap_days).

    Stages, first match wins (:data:`STAGE_PRECEDENCE`; :func:`explain_rules`
    prints them with their numbers):

    1. termination: repeat buyers silent for more than ``termination_factor`` ×
       the usual gap, or with P(alive) below ``termination_p_alive`` while past it;
       one-time buyers past their first cycle with P(alive) below
       ``one_time_p_alive`` — without P(alive) for them (no model, or BG/NBD, which
       gives them all 1), silent longer than the ``one_time_gap_quantile`` of
       ``first_return_gaps`` (with no returning customers at all: the repeat
       buyers' rule). A customer who bought within their usual gap is never in
       termination;
    2. decline: silent for more than ``overdue_factor`` × the usual gap, or
       recent ÷ previous window revenue or purchase days at most ``decline_ratio``;
    3. acquisition: prospects, and one-time buyers still inside their first
       expected cycle (overdue ones are already caught by 2);
    4. growth: recent ÷ previous window revenue or purchase days at least ``growth_ratio``;
    5. maturity: everyone else — buying steadily at their own rhythm.

    A rise or fall (2, 4) counts only with at least ``min_purchases_for_trend``
    purchase days across both windows.
    """
    days_since = table["days_since_last"].to_numpy(dtype=np.float64)
    frequency = table["frequency"].to_numpy(dtype=np.float64)
    buyer = ~np.isnan(days_since)
    gap = _usual_gaps(table, frequency, rules)

    rows = align(activity[CUSTOMER_ID], table[CUSTOMER_ID])
    active = rows >= 0
    windows = []
    for column in ACTIVITY_COLUMNS[1:]:  # 0 for customers without activity in the windows
        values = np.zeros(len(table))
        values[active] = activity[column].to_numpy(dtype=np.float64)[rows[active]]
        windows.append(values)
    recent_revenue, previous_revenue, recent_days, previous_days = windows
    evidence = recent_days + previous_days >= rules.min_purchases_for_trend
    revenue_ratio = _ratio(recent_revenue, previous_revenue)
    days_ratio = _ratio(recent_days, previous_days)
    growing = evidence & ((revenue_ratio >= rules.growth_ratio) | (days_ratio >= rules.growth_ratio))
    falling = evidence & ((revenue_ratio <= rules.decline_ratio) | (days_ratio <= rules.decline_ratio))

    past_due = days_since > gap
    p_alive = table["p_alive"].to_numpy(dtype=np.float64) if "p_alive" in table.columns else np.full(len(table), np.nan)
    long_gone = (days_since > rules.termination_factor * gap) | ((p_alive < rules.termination_p_alive) & past_due)
    one_time = frequency == 0
    silent_too_long = long_gone  # one-time buyers without P(alive): against the returning customers' gaps
    gaps = first_return_gaps
    if gaps is not None and not isinstance(gaps, Histogram):
        gaps = Histogram.of(gaps)
    if gaps is not None and gaps.n:
        silent_too_long = past_due & (days_since > gaps.quantile(rules.one_time_gap_quantile))
    one_time_gone = np.where(np.isnan(p_alive), silent_too_long, (p_alive < rules.one_time_p_alive) & past_due)
    conditions = {
        "termination": buyer & np.where(one_time, one_time_gone, long_gone),
        "decline": buyer & ((days_since > rules.overdue_factor * gap) | falling),
        "acquisition": ~buyer | (frequency == 0),
        "growth": growing,
    }
    stage = np.full(len(table), STAGES.index(STAGE_PRECEDENCE[-1]), dtype=np.int8)
    for name in reversed(STAGE_PRECEDENCE[:-1]):  # the first match wins: it is written last
        stage[conditions[name]] = STAGES.index(name)
    return pd.DataFrame(
        {
            CUSTOMER_ID: table[CUSTOMER_ID].array,
            "lifecycle_stage": vocabulary_column(stage, STAGES),
            "usual_gap_days": gap,
            "days_overdue": np.maximum(days_since - gap, 0.0),
        },
        index=table.index,
        copy=False,
    )


def _usual_gaps(table: pd.DataFrame, frequency: np.ndarray, rules: LifecycleRules) -> np.ndarray:
    """Each buyer's mean days between purchase days; one-time buyers get the population's cycle."""
    own = own_gaps(table)
    cycle = rules.new_customer_cycle_days
    if cycle is None:
        repeat = frequency >= 1
        cycle = float(np.median(own[repeat])) if repeat.any() else rules.window_days
    return np.where(frequency == 0, cycle, own)


def own_gaps(table: pd.DataFrame) -> np.ndarray:
    """Each customer's mean days between purchase days (NaN without a repeat purchase). The median of the
    repeat buyers' gaps is the usual gap of one-time buyers (set it with ``new_customer_cycle_days`` when
    the table holds only a part of the customers)."""
    span = days_between(table["first_purchase"], table["last_purchase"])
    frequency = table["frequency"].to_numpy(dtype=np.float64)
    return np.divide(span, frequency, out=np.full(len(table), np.nan), where=frequency >= 1)


def _ratio(recent: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """recent ÷ previous; infinite when only the recent window is positive, NaN when neither is."""
    out = np.where(recent > 0, np.inf, np.nan)
    return np.divide(recent, previous, out=out, where=previous > 0)
