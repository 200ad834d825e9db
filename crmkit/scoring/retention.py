"""Retention per period: who was active, new, returning, won back and lost; churn, retention and repeat-purchase
rates; revenue by kind of customer and net revenue retention; cohorts by first-purchase period; and what a few
points more retention would earn.

Definitions (the README and the workbook's Definitions sheet say the same):

- a customer is *active* in a period with at least one purchase in it; returns (negative amounts) are not
  purchases, and a purchase day is a day with a purchase;
- *new*: first purchase in the data in this period; *returning*: active in this period and the previous one;
  *reactivated* (won back): active now, not in the previous period, but before it; *lost*: active in the
  previous period and not in this one;
- churn rate = lost / active in the previous period; retention rate = 1 − churn rate (both missing when nobody
  was active in the previous period);
- repeat-purchase rate = share of the period's active customers with at least two purchase days in it;
- revenue is net (purchases − returns); ``revenue_new``, ``revenue_returning`` and ``revenue_reactivated`` are
  the period's net revenue from each kind of active customer, and ``revenue`` also counts returns made by
  customers who bought nothing in the period; net revenue retention = this period's net revenue from the
  customers active in the previous period / their net revenue in the previous period.

Everything runs on integer codes: a period code per row, customer codes, distinct (customer, day) pairs from
one sort, then one bincount pass per period over that period's rows. No per-customer Python loop, and money
is summed in whole steps, so the figures do not depend on row order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import AMOUNT, CUSTOMER_ID, DAYS_PER_YEAR, ORDER_DATE, PERIOD_MONTHS, PERIODS
from crmkit.scoring.kernels import MONEY_STEPS, align, customer_codes, distinct_sorted, money_steps, pair_keys
from crmkit.scoring.rollup import NO_GROUP
from crmkit.scoring.summary import day_numbers, row_margin

#: Columns of the period table, in order (a group column comes first with ``--group-by``).
PERIOD_COLUMNS = (
    "period",
    "complete",
    "active",
    "new",
    "returning",
    "reactivated",
    "lost",
    "churn_rate",
    "retention_rate",
    "repeat_purchase_rate",
    "revenue",
    "revenue_new",
    "revenue_returning",
    "revenue_reactivated",
    "net_revenue_retention",
)
COUNT_COLUMNS = ("active", "new", "returning", "reactivated", "lost", "repeat_buyers")
MONEY_COLUMNS = ("revenue", "revenue_new", "revenue_returning", "revenue_reactivated", "revenue_kept", "revenue_before")


@dataclass(frozen=True)
class RetentionTables:
    """The period table (overall and per group) and the cohort matrices of one retention run.

    ``cohort_customers`` and ``cohort_revenue`` have one row per cohort (``cohort``: the first-purchase period,
    ``customers``: its size, ``revenue``: its net revenue in that first period) and one column per number of
    periods since (0, 1, 2, …): active customers and net revenue of the cohort then; missing where that period
    is after the as-of date.
    """

    period: str
    periods: pd.DataFrame
    groups: pd.DataFrame | None
    cohort_customers: pd.DataFrame
    cohort_revenue: pd.DataFrame

    def latest_complete(self) -> pd.Series | None:
        """The last period that ended on or before the as-of date and has a previous period, else None."""
        done = self.periods.loc[self.periods["complete"] & self.periods["churn_rate"].notna()]
        return None if done.empty else done.iloc[-1]


def check_period(period: str) -> None:
    """Refuse a period that is not a month, quarter or year."""
    if period not in PERIOD_MONTHS:
        raise OptionError(f"unknown period {period!r}; choose one of {', '.join(PERIODS)}")


def period_label(code: int, period: str) -> str:
    """``2024-03``, ``2024-Q1`` or ``2024`` for a period code (periods since January 1970)."""
    if period == "month":
        return f"{1970 + code // 12:04d}-{code % 12 + 1:02d}"
    if period == "quarter":
        return f"{1970 + code // 4:04d}-Q{code % 4 + 1}"
    return f"{1970 + code:04d}"


def period_codes(days: np.ndarray, period: str) -> np.ndarray:
    """The period (counted from January 1970) of each day number, through a lookup over the distinct days."""
    check_period(period)
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(days.min())
    calendar = np.arange(first, int(days.max()) + 1).astype("datetime64[D]").astype("datetime64[M]")
    months = calendar.astype(np.int64)
    return (months // PERIOD_MONTHS[period])[days - first]


def period_end(code: int, period: str) -> int:
    """Day number of the last day of a period."""
    months = (code + 1) * PERIOD_MONTHS[period]
    return int(np.datetime64(months, "M").astype("datetime64[D]").astype(np.int64)) - 1


def retention(
    tx: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    period: str = "month",
    groups: pd.DataFrame | None = None,
    latest_only: bool = False,
) -> RetentionTables:
    """Retention per period of *customer_id, order_date, amount* up to ``as_of`` (see the module docstring).

    Periods run from the first transaction's to the as-of date's, empty ones included; the last one is
    ``complete`` only when the as-of date is its last day. ``groups`` (*customer_id* and one column: each
    customer's group, e.g. their salesperson) adds a period table per group; customers it lacks, or with an
    empty value, are in the group ``"(none)"``. ``latest_only`` computes just the last two periods (what the
    segment summary shows) and no cohorts.
    """
    check_period(period)
    stamps = tx[ORDER_DATE].to_numpy(dtype="datetime64[ns]")
    upto = stamps[stamps < np.datetime64(int(day_numbers(pd.Timestamp(as_of))[0]) + 1, "D")]
    if not len(upto):
        raise OptionError(
            f"no transactions on or before the as-of date {pd.Timestamp(as_of):%Y-%m-%d}; choose a later as_of"
        )
    first_day = int(upto.min().astype("datetime64[D]").astype(np.int64))
    tally = retention_tally(tx, as_of=as_of, period=period, first_day=first_day, groups=groups, latest_only=latest_only)
    return retention_tables(tally, None if groups is None else str(groups.columns[1]))


@dataclass(frozen=True)
class RetentionTally:
    """Per-period, per-group counts and money in whole steps (``(periods, groups)`` arrays), and the cohort
    matrices (cohort × period: active customers, money in steps), of the customers of one frame.

    They are sums over customers: the tallies of parts of the customers (each customer in one part, every part
    counted from the same first day) add up to the tally of all of them, exactly.
    """

    period: str
    first_day: int
    as_of_day: int
    #: The first period counted (the last two with ``latest_only``).
    start: int
    group_names: tuple[str, ...]
    counts: dict[str, np.ndarray]
    cohort_active: np.ndarray
    cohort_steps: np.ndarray

    def __add__(self, other: RetentionTally) -> RetentionTally:
        if (self.period, self.first_day, self.as_of_day, self.start, self.group_names) != (
            other.period,
            other.first_day,
            other.as_of_day,
            other.start,
            other.group_names,
        ):
            raise ValueError("retention tallies of different periods or groups do not add up")
        return replace(
            self,
            counts={name: values + other.counts[name] for name, values in self.counts.items()},
            cohort_active=self.cohort_active + other.cohort_active,
            cohort_steps=self.cohort_steps + other.cohort_steps,
        )


def retention_tally(
    tx: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    period: str,
    first_day: int,
    groups: pd.DataFrame | None = None,
    latest_only: bool = False,
) -> RetentionTally:
    """The tally of :func:`retention` with periods counted from ``first_day`` (the day number of the first
    transaction on or before the as-of date among all the customers, when ``tx`` holds only some of them)."""
    check_period(period)
    as_of_day = int(day_numbers(pd.Timestamp(as_of))[0])
    # Rows are picked by comparing timestamps: only the rows counted period by period need day numbers, which
    # for the segment summary (the last periods alone) are a small part of them.
    stamps = tx[ORDER_DATE].to_numpy(dtype="datetime64[ns]")
    keep = stamps < np.datetime64(as_of_day + 1, "D")
    every_row = bool(keep.all())
    # The period of every calendar day from the first transaction to the as-of date, counted from the first.
    calendar = period_codes(np.arange(first_day, as_of_day + 1), period)
    first_code = int(calendar[0])
    n_periods = int(calendar[-1]) - first_code + 1
    slot_of_day = (calendar - first_code).astype(np.int16 if n_periods < np.iinfo(np.int16).max else np.int32)

    start = max(n_periods - 2, 0) if latest_only else 0
    warm = max(start - 1, 0)  # the period before the first one reported: who was active then, and their money
    codes, ids = customer_codes(tx[CUSTOMER_ID])
    n = len(ids)
    group_codes, group_names = _group_codes(groups, ids, codes)
    amount = tx[AMOUNT].to_numpy(dtype=np.float64)
    seen = np.zeros(n, dtype=bool)  # customers who bought before ``warm``
    counted = keep
    if warm:
        warm_start = np.datetime64(first_day + int(np.searchsorted(slot_of_day, warm)), "D")
        counted = keep & (stamps >= warm_start)
        seen[codes[keep & ~counted & (amount >= 0)]] = True
        every_row = False
    if not every_row:
        rows = np.flatnonzero(counted)
        codes, amount, stamps = codes[rows], amount[rows], stamps[rows]
    day = stamps.astype("datetime64[D]").view(np.int64) - first_day
    tally = _tally(
        _Rows(codes, slot_of_day[day], day, amount >= 0, np.round(amount * MONEY_STEPS)),
        slot_of_day,
        seen,
        group_codes,
        len(group_names),
        start,
        cohorts=not latest_only,
    )
    return RetentionTally(
        period,
        first_day,
        as_of_day,
        start,
        tuple(group_names),
        tally.counts,
        tally.cohort_active,
        tally.cohort_steps,
    )


def retention_tables(tally: RetentionTally, group_column: str | None = None) -> RetentionTables:
    """The period table (overall, and per group under ``group_column`` when the tally has groups) and the
    cohort matrices of a tally."""
    period, as_of_day = tally.period, tally.as_of_day
    first_code = int(period_codes(np.array([tally.first_day]), period)[0])
    n_periods = int(period_codes(np.array([as_of_day]), period)[0]) - first_code + 1
    labels = [period_label(first_code + p, period) for p in range(n_periods)]
    complete = np.array([period_end(first_code + p, period) <= as_of_day for p in range(n_periods)])
    shown = slice(tally.start, n_periods)
    per_group = {name: tally.counts[name][shown] for name in tally.counts}
    overall = _period_frame(labels[shown], complete[shown], {k: v.sum(axis=1) for k, v in per_group.items()})
    by_group = None
    if group_column is not None:
        frames = [
            _period_frame(labels[shown], complete[shown], {k: v[:, g] for k, v in per_group.items()}).assign(
                **{group_column: name}
            )
            for g, name in enumerate(tally.group_names)
        ]
        by_group = pd.concat(frames, ignore_index=True)[[group_column, *PERIOD_COLUMNS]]
    cohorts = tally.cohort_active.size > 0
    cohort_customers, cohort_revenue = _cohort_frames(tally, labels) if cohorts else (pd.DataFrame(), pd.DataFrame())
    return RetentionTables(period, overall, by_group, cohort_customers, cohort_revenue)


#: Kinds of active customer in a period (0: not active in it).
NEW, RETURNING, REACTIVATED = 1, 2, 3
#: The last active period of a customer never seen.
NEVER = np.iinfo(np.int32).min


@dataclass(frozen=True)
class _Rows:
    """The transactions counted: customer code, period slot, day (since the first transaction), whether the row
    is a purchase, and its amount in money steps."""

    codes: np.ndarray
    slot: np.ndarray
    day: np.ndarray
    buys: np.ndarray
    steps: np.ndarray


@dataclass(frozen=True)
class _Tally:
    """Per-period, per-group counts and money in steps (``(periods, groups)`` arrays), and the cohort
    matrices (cohort × period: active customers, money in steps)."""

    counts: dict[str, np.ndarray]
    cohort_active: np.ndarray
    cohort_steps: np.ndarray


def _tally(
    rows: _Rows,
    slot_of_day: np.ndarray,
    seen: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    start: int,
    *,
    cohorts: bool,
) -> _Tally:
    """Count every period from ``start`` on, from the rows of the period before it on (``seen``: customers who
    bought earlier; ``slot_of_day``: the period of each day since the first transaction).

    Each period touches only its own rows and active customers: who is active comes from the distinct
    (customer, day) pairs, sorted once; what kind of customer each one is from the last period they were
    active in; the money of each kind from the period's rows. Tables indexed by customer are kept small (int8,
    bool, int16), since every row reads them in random order.
    """
    n, n_periods = len(group), int(slot_of_day[-1]) + 1
    warm = max(start - 1, 0)
    codes, slot, day, buys, steps = rows.codes, rows.slot, rows.day, rows.buys, rows.steps
    # Seen before ``warm`` (and so not in the period before it): won back if they buy again.
    last = np.where(seen, np.int32(warm - 2), np.int32(NEVER))

    # Distinct (customer, day) purchase pairs, by customer then day: a customer's first pair is their first
    # purchase, and per period the pairs' customers are runs of equal codes.
    buy_days = day[buys]
    day0 = int(buy_days.min()) if len(buy_days) else 0
    span = int(buy_days.max()) - day0 + 1 if len(buy_days) else 1
    pairs = distinct_sorted(pair_keys(codes[buys], buy_days - day0, span))
    pair_codes = (pairs // span).astype(np.int32)
    pair_slot = slot_of_day[pairs % span + day0]
    del pairs
    first_slot = np.full(n if cohorts else 0, -1, dtype=slot_of_day.dtype)  # each customer's cohort
    if cohorts:
        firsts = _run_starts(pair_codes)
        first_slot[pair_codes[firsts]] = pair_slot[firsts]
    pair_order, pair_bounds = _by_slot(pair_slot, n_periods)
    row_order, row_bounds = _by_slot(slot, n_periods)
    pair_codes, codes, steps = pair_codes[pair_order], codes[row_order], steps[row_order]
    row_group = group[codes] if n_groups > 1 else np.zeros(len(codes), dtype=np.int8)
    row_cohort = first_slot[codes] if cohorts else None

    counts = {name: np.zeros((n_periods, n_groups)) for name in (*COUNT_COLUMNS, *MONEY_COLUMNS)}
    shape = (n_periods, n_periods) if cohorts else (0, 0)
    cohort_active, cohort_steps = np.zeros(shape, dtype=np.int64), np.zeros(shape)
    kind_of = np.zeros(n, dtype=np.int8)  # the kind of each customer active in the current period, else 0
    was_active = np.zeros(n, dtype=bool)  # active in the previous period
    previous = np.zeros(0, dtype=np.int64)
    before = np.zeros(n_groups)
    for p in range(warm, n_periods):
        in_period = pair_codes[pair_bounds[p] : pair_bounds[p + 1]]
        edges = _run_starts(in_period)
        active = in_period[edges]
        purchase_days = np.diff(np.append(edges, len(in_period)))
        last_active = last[active]
        kind = np.where(last_active == NEVER, NEW, np.where(last_active == p - 1, RETURNING, REACTIVATED))
        kind_of[previous] = 0
        kind_of[active] = kind
        span_of_p = slice(row_bounds[p], row_bounds[p + 1])
        row_codes, money, where = codes[span_of_p], steps[span_of_p], row_group[span_of_p]
        by_kind = np.bincount(kind * n_groups + group[active], minlength=4 * n_groups).reshape(4, n_groups)
        row_kind = kind_of[row_codes].astype(np.intp)
        if n_groups > 1:
            row_kind = row_kind * n_groups + where
        money_by_kind = np.bincount(row_kind, weights=money, minlength=4 * n_groups).reshape(4, n_groups)
        if p >= start:
            kept = was_active[row_codes]
            counts["active"][p] = by_kind[1:].sum(axis=0)
            counts["lost"][p] = np.bincount(group[previous], minlength=n_groups) - by_kind[RETURNING]
            counts["repeat_buyers"][p] = np.bincount(group[active[purchase_days >= 2]], minlength=n_groups)
            counts["revenue"][p] = money_by_kind.sum(axis=0)
            for kind_code, name in ((NEW, "new"), (RETURNING, "returning"), (REACTIVATED, "reactivated")):
                counts[name][p] = by_kind[kind_code]
                counts[f"revenue_{name}"][p] = money_by_kind[kind_code]
            counts["revenue_kept"][p] = np.bincount(where[kept], weights=money[kept], minlength=n_groups)
            counts["revenue_before"][p] = before
        if row_cohort is not None:
            cohort_active[:, p] = np.bincount(first_slot[active], minlength=n_periods)
            member = row_cohort[span_of_p]
            member_rows = (member >= 0) & (member <= p)  # a return before the first purchase is in no cohort
            cohort_steps[:, p] = np.bincount(member[member_rows], weights=money[member_rows], minlength=n_periods)
        before = money_by_kind[1:].sum(axis=0)
        was_active[previous] = False
        was_active[active] = True
        last[active] = p
        previous = active
    return _Tally(counts, cohort_active, cohort_steps)


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values starts (a customer's first pair among pairs sorted by customer)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))


def _by_slot(slot: np.ndarray, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable order of the items by period slot (a radix sort on 16-bit slots), and each slot's bounds."""
    order = np.argsort(slot, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(slot, minlength=n_periods))))
    return order, bounds


def _group_codes(groups: pd.DataFrame | None, ids: pd.Index, codes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each customer's group code (in the order of the sorted group names, ``(none)`` last) and the names of the
    groups of the customers with rows (``codes``: each row's customer; ids of dropped rows name no group)."""
    if groups is None:
        return np.zeros(len(ids), dtype=np.int64), ["all"]
    used = np.bincount(codes, minlength=len(ids)) > 0
    values = groups.iloc[:, 1].astype("str")
    values = values.where(values.notna() & (values.str.strip() != ""))
    where = align(groups[CUSTOMER_ID], pd.Series(pd.Categorical(ids, categories=ids)))
    per_customer = pd.Series(np.where(where >= 0, values.to_numpy(dtype=object)[where], None), dtype="str")
    named = per_customer[used]
    names = sorted(named.dropna().unique())
    if named.isna().any() or not names:
        names.append(NO_GROUP)
    codes = pd.Categorical(per_customer.fillna(NO_GROUP), categories=names).codes.astype(np.int64)
    return np.maximum(codes, 0), names  # a customer without rows is counted nowhere


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.divide(top, bottom, out=np.full(len(top), np.nan), where=bottom > 0)


def _period_frame(labels: list[str], complete: np.ndarray, counts: dict[str, np.ndarray]) -> pd.DataFrame:
    """The period table from per-period counts and money steps."""
    before = counts["returning"] + counts["lost"]  # active in the previous period
    churn = _ratio(counts["lost"], before)
    money = {name: counts[name] / MONEY_STEPS for name in MONEY_COLUMNS}
    frame = pd.DataFrame(
        {
            "period": pd.Series(labels, dtype="str"),
            "complete": complete.astype(bool),
            **{name: counts[name].astype(np.int64) for name in COUNT_COLUMNS if name != "repeat_buyers"},
            "churn_rate": churn,
            "retention_rate": 1.0 - churn,
            "repeat_purchase_rate": _ratio(counts["repeat_buyers"], counts["active"]),
            **{name: money[name] for name in ("revenue", "revenue_new", "revenue_returning", "revenue_reactivated")},
            "net_revenue_retention": np.divide(
                money["revenue_kept"],
                money["revenue_before"],
                out=np.full(len(labels), np.nan),
                where=money["revenue_before"] > 0,
            ),
        }
    )
    return frame[list(PERIOD_COLUMNS)]


def _cohort_frames(tally: RetentionTally, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort matrices laid out by periods since the first purchase (missing after the as-of date)."""
    n_periods = len(labels)
    cohorts = np.flatnonzero(np.diag(tally.cohort_active) > 0)
    since = np.arange(n_periods)
    cells = cohorts[:, None] + since[None, :]
    inside = cells < n_periods
    cells = np.minimum(cells, n_periods - 1)
    active = np.where(inside, tally.cohort_active[cohorts[:, None], cells], np.nan)
    money = np.where(inside, tally.cohort_steps[cohorts[:, None], cells] / MONEY_STEPS, np.nan)
    head = pd.DataFrame(
        {
            "cohort": pd.Series([labels[c] for c in cohorts], dtype="str"),
            "customers": tally.cohort_active[cohorts, cohorts].astype(np.int64),
            "revenue": tally.cohort_steps[cohorts, cohorts] / MONEY_STEPS,
        }
    )
    width = int(inside.sum(axis=1).max()) if len(cohorts) else 0
    customers = pd.concat([head, pd.DataFrame(active[:, :width], columns=list(range(width)))], axis=1)
    revenue = pd.concat([head, pd.DataFrame(money[:, :width], columns=list(range(width)))], axis=1)
    return customers, revenue


# --- what if retention were higher ------------------------------------------------------------
def margin_rate(tx: pd.DataFrame, *, as_of: pd.Timestamp) -> float | None:
    """Total margin / total net revenue up to the as-of date, from a margin or cost column; None without one
    (or without positive revenue)."""
    return margin_share(margin_sums(tx, as_of=as_of))


def margin_sums(tx: pd.DataFrame, *, as_of: pd.Timestamp) -> tuple[int, int] | None:
    """Margin and net revenue up to the as-of date in whole money steps (exact: sums of parts of the rows add up
    to the sum of all, in any row order); None without a margin or cost column."""
    margin = row_margin(tx)
    if margin is None:
        return None
    upto = (day_numbers(tx[ORDER_DATE]) <= day_numbers(pd.Timestamp(as_of))[0]).astype(bool)
    codes = np.zeros(int(upto.sum()), dtype=np.intp)
    margin_steps = money_steps(codes, margin[upto], 1)[0]
    revenue_steps = money_steps(codes, tx[AMOUNT].to_numpy(dtype=np.float64)[upto], 1)[0]
    return int(margin_steps), int(revenue_steps)


def margin_share(sums: tuple[int, int] | None) -> float | None:
    """Margin / net revenue from :func:`margin_sums`; None without a margin or without positive revenue."""
    if sums is None or sums[1] <= 0:
        return None
    return sums[0] / sums[1]


#: Where the what-if's margin comes from: the margin option, a cost or margin column, or none (revenue).
MARGIN_BASES = ("given", "data", "revenue")
#: Period t's discount exponent, in years: t/12 for months, t/4 for quarters, t for years.
YEARS_OF_T = {"month": "t/12", "quarter": "t/4", "year": "t"}


@dataclass(frozen=True)
class WhatIf:
    """Profit over the horizon from today's active customers, at the observed retention and at retention raised
    by ``points`` percentage points (the formula is :meth:`formula`).

    ``retention`` is pooled over the last ``periods`` complete periods (returning customers / customers active
    in the period before), and ``profit_per_customer`` is a returning customer's net revenue per period over
    the same periods × ``margin``. Customers who leave are taken not to come back, and new customers are not
    counted: the figure is what today's customers are worth, not the business's whole profit.
    """

    points: float
    periods: int
    period: str
    window: str
    active: int
    retention: float
    retention_raised: float
    profit_per_customer: float
    margin: float
    margin_basis: str
    discount_rate: float
    profit: float
    profit_raised: float

    @property
    def increase(self) -> float | None:
        """profit_raised / profit − 1; None when there is no profit to raise."""
        return self.profit_raised / self.profit - 1.0 if self.profit > 0 else None

    def formula(self) -> str:
        """The formula behind ``profit`` and ``profit_raised``, in words and symbols."""
        return (
            f"profit = active customers × profit per retained customer per {self.period} × "
            f"Σ_(t=1..{self.periods}) r^t × (1 + {self.discount_rate:g})^(−{YEARS_OF_T[self.period]}), "
            "r = retention per period"
        )


def what_if(
    periods: pd.DataFrame,
    *,
    period: str,
    points: float,
    horizon_days: float,
    margin: float,
    margin_basis: str,
    discount_rate: float,
) -> WhatIf | None:
    """The what-if on a period table (see :class:`WhatIf`) over the horizon in whole periods (at least one);
    None without a complete period that follows an active one."""
    if not (math.isfinite(points) and 0 <= points <= 100):
        raise OptionError(f"what_if must be between 0 and 100 percentage points, got {points:g}")
    check_period(period)
    length_days = PERIOD_MONTHS[period] * DAYS_PER_YEAR / 12
    horizon = max(1, round(horizon_days / length_days))
    usable = periods.loc[periods["complete"] & periods["churn_rate"].notna()]
    if usable.empty:
        return None
    window = usable.tail(horizon)
    returning = int(window["returning"].sum())
    observed = returning / int((window["returning"] + window["lost"]).sum())
    per_customer = margin * float(window["revenue_returning"].sum()) / returning if returning else 0.0
    raised = min(observed + points / 100.0, 1.0)
    discount = (1.0 + discount_rate) ** (-length_days / DAYS_PER_YEAR)
    steps = np.arange(1, horizon + 1)
    active = int(usable["active"].iloc[-1])

    def profit(rate: float) -> float:
        return float(active * per_customer * np.sum((rate * discount) ** steps))

    return WhatIf(
        points=float(points),
        periods=horizon,
        period=period,
        window=" – ".join(dict.fromkeys((str(window["period"].iloc[0]), str(window["period"].iloc[-1])))),
        active=active,
        retention=observed,
        retention_raised=raised,
        profit_per_customer=per_customer,
        margin=float(margin),
        margin_basis=margin_basis,
        discount_rate=float(discount_rate),
        profit=profit(observed),
        profit_raised=profit(raised),
    )
