"""One scoring run: canonical frames in, a typed result out.

The pipeline decides what is analysed — the per-customer table, the summary, the at-risk list, the roll-up,
what may be shared — and hands it to the output layer, which only renders. Nothing here reads or writes files
or prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from crmkit.errors import BadValueError, OptionError
from crmkit.ingest.columns import canonical_name
from crmkit.ingest.report import CustomerData, IngestReport, TransactionData
from crmkit.models import MODEL_NAMES
from crmkit.pipeline.baskets import basket_result
from crmkit.pipeline.figures import Figures
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.results import (
    BasketResult,
    Cohort,
    ComparisonReport,
    DataSummary,
    DeliveredRow,
    DeliveredSummary,
    ModelSummary,
    ParetoFigures,
    RetentionPeriod,
    RetentionReport,
    RetentionSummary,
    ScoreResult,
    Summary,
    ValueReport,
)
from crmkit.schema import (
    ACTIONS,
    CHANNEL,
    COST_COMPONENTS,
    CUSTOMER_ID,
    ORDER_DATE,
    REGION,
    SALESPERSON,
    STAGES,
    TIERS,
    VALUE_COMPONENTS,
)
from crmkit.scoring import churn, lifecycle, retention
from crmkit.scoring.actions import next_actions
from crmkit.scoring.compare import Comparison, compare_snapshots
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.rfm import (
    CLASSIC_SEGMENTS,
    CN8_SEGMENTS,
    rfm_scores,
    rfm_segments,
    score_thresholds,
)
from crmkit.scoring.rollup import rollup
from crmkit.scoring.summary import (
    customer_summary,
    default_as_of,
    latest_values,
    rows_after,
)
from crmkit.scoring.tiers import TierRule, assign_tiers, pareto_figures
from crmkit.scoring.value import (
    DELIVERED_COLUMNS,
    VALUE_OUTPUT_COLUMNS,
    ValueFit,
    delivered_value,
    parse_horizon,
    run_rate_value,
    score_value,
)

#: Attributes carried from transactions to customers (the latest value wins) when the master file lacks them.
CARRIED_ATTRIBUTES = (SALESPERSON, REGION, CHANNEL)


def score(
    tx: TransactionData | pd.DataFrame,
    *,
    customers: CustomerData | pd.DataFrame | None = None,
    options: ScoreOptions | None = None,
) -> ScoreResult:
    """Score every customer: summary, RFM, value model, tiers, lifecycle stage and churn risk.

    ``tx`` is what :func:`crmkit.read_transactions` returns (its drop report feeds the summary), or a
    canonical transaction frame (*customer_id, order_date, amount*, optional *order_id, cost, margin,
    salesperson, region, channel*). ``customers`` is the customer master, likewise. Everything returned has
    gone through ``options.sharing``: attributes only on request, ids pseudonymised when a key is set.
    """
    options = options or ScoreOptions()
    data = tx if isinstance(tx, TransactionData) else None
    frame = tx.frame if isinstance(tx, TransactionData) else tx
    master = customers.frame if isinstance(customers, CustomerData) else customers
    as_of = default_as_of(frame) if options.as_of is None else pd.Timestamp(options.as_of).normalize()
    table, rfm_thresholds, pareto, fit, warnings, tier_by = _scored(frame, master, as_of, options)

    sharing = options.sharing
    shared = sharing.customers(table, master_attributes(master))
    # Grouping by a master-file attribute works whether or not the attribute itself may be exported.
    groups = rollup(table, canonical_name(options.group_by)) if options.group_by else None
    figures = Figures.of(table)
    basket, basket_notes = _baskets(frame, table, as_of, options, data, master)
    summary = Summary(
        data=_data_summary(
            data,
            frame,
            as_of,
            options.time_unit,
            customers=figures.customers - figures.prospects,
            prospects=figures.prospects,
        ),
        tiers=figures.tier_rows(),
        pareto=ParetoFigures.from_dict(pareto),
        segments=figures.counts("segments", segment_order(options.rfm_scheme)),
        lifecycle=figures.counts("stages", STAGES),
        churn=figures.band_rows(),
        model=ModelSummary(fit, date_text(as_of)) if fit is not None else None,
        warnings=(
            *(read_warnings(data.report) if data is not None else ()),
            *as_of_warning(frame[ORDER_DATE].max(), as_of),
            *warnings,
            *basket_notes,
        ),
        groups=groups,
        tier_by=tier_by,
        actions=figures.counts("actions", ACTIONS),
        delivered=delivered_summary(table),
        retention=latest_retention(frame, as_of, options.retention_period),
        basket=basket.summary if basket is not None else None,
    )
    return ScoreResult(
        customers=shared,
        summary=summary,
        rfm_thresholds=rfm_thresholds,
        at_risk=churn.at_risk(shared, min_tier=options.at_risk_min_tier, columns=churn.LIST_COLUMNS),
        lost_key_accounts=churn.lost_key_accounts(
            shared, min_tier=options.at_risk_min_tier, columns=churn.LIST_COLUMNS
        ),
        data_quality=data_quality(sharing.transactions(data).report) if data is not None else _NO_QUALITY,
        action_rules=options.actions,
        basket=basket,
    )


def market_baskets(
    tx: TransactionData | pd.DataFrame,
    *,
    customers: CustomerData | pd.DataFrame | None = None,
    options: ScoreOptions | None = None,
) -> ScoreResult:
    """The run behind ``crmkit basket``: :func:`score` with the baskets required (no item column is an error)
    and the value model skipped unless the tiers rank by CLV (tiers, the call list's order, need no more)."""
    options = options or ScoreOptions()
    model = options.model if options.tier_by == "clv" else None
    return score(tx, customers=customers, options=replace(options, model=model, basket_required=True))


def _baskets(
    tx: pd.DataFrame,
    table: pd.DataFrame,
    as_of: pd.Timestamp,
    options: ScoreOptions,
    data: TransactionData | None,
    customers: pd.DataFrame | None,
) -> tuple[BasketResult | None, list[str]]:
    """The market-basket part of a run and its notes; a refused mining skips it (with a note) unless required."""
    sources = [f.path for f in data.report.files] if data is not None else []
    try:
        basket = basket_result(tx, table, as_of, options, sources=sources, attributes=master_attributes(customers))
    except (OptionError, BadValueError) as error:
        if options.basket_required:
            raise
        return None, [f"cross-selling skipped: {error.message}"]
    if basket is None:
        return None, []
    skipped = basket.summary.lines_without_item
    notes = (
        [f"{skipped:,} line(s) without a {basket.summary.item_level} are left out of the baskets"] if skipped else []
    )
    return basket, notes


def _scored(
    tx: pd.DataFrame, customers: pd.DataFrame | None, as_of: pd.Timestamp, options: ScoreOptions
) -> tuple[pd.DataFrame, pd.DataFrame, dict, ValueFit | None, list[str], str]:
    """The per-customer table, the RFM thresholds, the Pareto figures, the value fit, warnings and what ranked
    the tiers."""
    # The model fit needs only the summary: it runs on the second core while this one scores RFM and tiers,
    # with one BLAS thread meanwhile (BLAS's own threads would ask for the core already busy here).
    # The passes over all transactions (summary, activity windows) run alone: beside anything else their
    # temporaries would raise the peak memory by half a gigabyte at 10M rows.
    with ThreadPoolExecutor(max_workers=1) as background, threadpool_limits(limits=1, user_api="blas"):
        summary = customer_summary(tx, as_of=as_of, time_unit=options.time_unit)
        if summary.empty:
            raise OptionError(f"no purchases on or before the as-of date {as_of:%Y-%m-%d}; choose a later as_of")
        activity = lifecycle.activity_windows(tx, as_of=as_of, window_days=options.lifecycle.window_days)
        value_job = None
        if options.model is not None:
            value_job = background.submit(
                score_value,
                summary,
                model=options.model,
                horizon=options.horizon,
                time_unit=options.time_unit,
                margin=options.margin,
                discount_rate=options.discount_rate,
                fitted=options.fitted,
            )
        # Key accounts are the customers who bring profit: tiers by profit whenever there is a cost or margin.
        tier_by = options.tier_by or ("profit" if "total_margin" in summary.columns else "revenue")
        scores = rfm_scores(summary)
        table = attach(summary, scores)
        table["segment"] = rfm_segments(summary, scores, scheme=options.rfm_scheme).array
        if tier_by != "clv":  # tiers by revenue or profit need not wait for the model
            table, pareto = _with_tiers(table, options.tiers, tier_by)

        value_fit, warnings = None, []
        if value_job is not None:
            try:
                values, value_fit = value_job.result()
                table = attach(table, values)
            except BadValueError as error:
                if options.model_required or tier_by == "clv":
                    raise
                warnings.append(
                    f"value model skipped: {error.message}; churn risk comes from each "
                    "customer's own rhythm and there is no CLV"
                )
        if tier_by == "clv":
            table, pareto = _with_tiers(table, options.tiers, tier_by)
        table = _with_attributes(table, tx, customers, as_of, options.delivered_weights)

    # One-time buyers are judged by P(alive) where it tells them apart, else by how long returning customers
    # took to come back (a pass over the transactions, run alone like the others).
    informative = value_fit is not None and value_fit.model.informs_one_time_buyers
    gaps = None if informative else lifecycle.return_gaps(tx, as_of=as_of)
    table = judge(table, activity, options, informative=informative, return_gaps=gaps)
    table = table.sort_values(CUSTOMER_ID, ignore_index=True)
    return table, score_thresholds(summary, scores), pareto, value_fit, warnings, tier_by


def judge(
    table: pd.DataFrame,
    activity: pd.DataFrame,
    options: ScoreOptions,
    *,
    informative: bool,
    return_gaps: np.ndarray | Histogram | None,
    rules: lifecycle.LifecycleRules | None = None,
) -> pd.DataFrame:
    """The table with each customer's lifecycle stage, value if they stay (their own run rate without a
    purchase model), churn risk and next action: steps of one customer at a time, given the population's
    figures — ``return_gaps`` (the first-to-second purchase gaps of returning customers, needed unless P(alive)
    is ``informative`` for one-time buyers) and ``rules`` (default ``options.lifecycle``; the usual gap of
    one-time buyers is the repeat buyers' median unless the rules set it)."""
    stages = lifecycle.assign_stages(
        _judged(table, informative), activity, rules=rules or options.lifecycle, first_return_gaps=return_gaps
    )
    table = attach(table, stages)
    if "value_if_active" not in table.columns:  # no purchase model: the customer's own run rate stands in
        table["value_if_active"] = run_rate_value(
            table, horizon=options.horizon, margin=options.margin, discount_rate=options.discount_rate
        )
    table = attach(table, churn.score_churn(_judged(table, informative), bands=options.churn))
    table["next_action"] = next_actions(table, options.actions)
    return table


def _judged(table: pd.DataFrame, informative: bool) -> pd.DataFrame:
    """The table as the stage and churn rules see it: P(alive) only where it tells customers apart. BG/NBD
    gives every one-time buyer P(alive) = 1, so for them the rules fall back to what the data show."""
    if informative or "p_alive" not in table.columns:
        return table
    return table.assign(p_alive=table["p_alive"].where(table["frequency"] != 0))


def _data_summary(
    data: TransactionData | None,
    tx: pd.DataFrame,
    as_of: pd.Timestamp,
    time_unit: str,
    *,
    customers: int,
    prospects: int,
) -> DataSummary:
    read = read_summary(data.report) if data is not None else _frame_read(tx)
    return DataSummary(
        rows_read=read["rows_read"],
        rows_used=read["rows_used"],
        rows_dropped=read["rows_dropped"],
        dropped_by_reason=read["dropped_by_reason"],
        customers=customers,
        prospects=prospects,
        first_date=date_text(tx[ORDER_DATE].min()),
        last_date=date_text(tx[ORDER_DATE].max()),
        as_of=date_text(as_of),
        rows_after_as_of=rows_after(tx, as_of),
        time_unit=time_unit,
        skipped_files=tuple(read["skipped_files"]),
    )


def read_summary(report: IngestReport) -> dict[str, Any]:
    """What was read: row counts, drops per reason and the files a folder held that were not read."""
    return {
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "rows_dropped": report.rows_dropped,
        "dropped_by_reason": dict(report.drop_counts),
        "skipped_files": [{"path": str(s.path), "reason": s.reason} for s in report.skipped],
    }


def _frame_read(tx: pd.DataFrame) -> dict[str, Any]:
    return {"rows_read": len(tx), "rows_used": len(tx), "rows_dropped": 0, "dropped_by_reason": {}, "skipped_files": []}


#: More dropped rows than this share of those read is worth a warning: the mapping or the file may be wrong.
DROPPED_WARNING_SHARE: Final = 0.10


def read_warnings(report: IngestReport) -> list[str]:
    """Ingest's warnings, and :func:`dropped_warning`."""
    return [*report.warnings, *dropped_warning(report)]


def dropped_warning(report: IngestReport) -> list[str]:
    """A warning when more than a tenth of the rows were dropped (a wrong column, a wrong date order …)."""
    if not report.rows_read or report.rows_dropped <= DROPPED_WARNING_SHARE * report.rows_read:
        return []
    reason, count = max(report.drop_counts.items(), key=lambda item: item[1])
    return [
        f"{report.rows_dropped:,} of {report.rows_read:,} rows ({report.rows_dropped / report.rows_read:.0%}) "
        f"were dropped, {count:,} of them for {reason}; check the column mapping with `crmkit inspect`"
    ]


def as_of_warning(last: Any, as_of: pd.Timestamp) -> list[str]:
    """A warning when the as-of date is after the last transaction (``last``): everyone looks silent since."""
    if pd.isna(last) or as_of <= pd.Timestamp(last).normalize():
        return []
    return [
        f"the as-of date {date_text(as_of)} is after the last transaction ({date_text(last)}): every customer has been "
        "silent since, so recency, lifecycle stages and churn risk look worse than they are"
    ]


_NO_QUALITY = pd.DataFrame(columns=["item", "detail", "value"])


#: How orders were counted, as the report says it.
ORDERS_BY: Final[dict[str, str]] = {
    "order id": "distinct order ids",
    "customer and day": "no order-id column: one order per customer and day",
}


def revenue_text(mapping: dict, basis: str | None) -> str:
    """What counts as revenue: the amount column (and what it holds) minus the refund column."""
    text = mapping.get("amount", "") + (f" ({basis})" if basis else "")
    return text + (f" − {mapping['refund']}" if "refund" in mapping else "")


# --- retention --------------------------------------------------------------------------------
def latest_retention(tx: pd.DataFrame, as_of: pd.Timestamp, period: str) -> RetentionSummary | None:
    """Retention in the latest period that ended by the as-of date (the segment summary's figures)."""
    return retention_summary(retention.retention(tx, as_of=as_of, period=period, latest_only=True))


def retention_summary(tables: retention.RetentionTables) -> RetentionSummary | None:
    """The summary's retention figures from the period table of the last two periods."""
    latest = tables.latest_complete()
    if latest is None:
        return None
    last = tables.periods.iloc[-1]
    partial = None if bool(last["complete"]) else str(last["period"])
    return RetentionSummary(tables.period, RetentionPeriod.from_row(latest), partial)


def retention_report(
    tx: TransactionData | pd.DataFrame,
    *,
    customers: CustomerData | pd.DataFrame | None = None,
    options: ScoreOptions | None = None,
) -> RetentionReport:
    """Retention per ``options.retention_period``: the period table, the cohorts, the what-if (``options.what_if``
    points over ``options.horizon``, at ``options.margin`` or the data's own margin, discounted at
    ``options.discount_rate``) and, with ``options.group_by``, the period table per group (each customer in the
    group of their master-file value, else of their latest transaction)."""
    options = options or ScoreOptions()
    data = tx if isinstance(tx, TransactionData) else None
    frame = tx.frame if isinstance(tx, TransactionData) else tx
    master = customers.frame if isinstance(customers, CustomerData) else customers
    as_of = default_as_of(frame) if options.as_of is None else pd.Timestamp(options.as_of).normalize()
    groups = customer_groups(frame, master, options.group_by, as_of) if options.group_by else None
    tables = retention.retention(frame, as_of=as_of, period=options.retention_period, groups=groups)
    return report_of_tables(
        tables,
        data=_data_summary(
            data, frame, as_of, options.time_unit, customers=int(tables.periods["new"].sum()), prospects=0
        ),
        options=options,
        data_margin=retention.margin_rate(frame, as_of=as_of) if options.margin is None else None,
    )


def report_of_tables(
    tables: retention.RetentionTables, *, data: DataSummary, options: ScoreOptions, data_margin: float | None
) -> RetentionReport:
    """The retention report of period tables, whichever engine counted them: the cohorts, and the what-if at
    ``options.margin``, else the data's own margin (``data_margin``), else revenue itself."""
    margin, basis = (options.margin, "given") if options.margin is not None else (data_margin, "data")
    if margin is None:
        margin, basis = 1.0, "revenue"
    cohorts, curve = _cohorts(tables)
    scenario = retention.what_if(
        tables.periods,
        period=options.retention_period,
        points=float(options.what_if),
        horizon_days=parse_horizon(options.horizon, "day"),
        margin=margin,
        margin_basis=basis,
        discount_rate=options.discount_rate,
    )
    return RetentionReport(
        data=data,
        period=options.retention_period,
        periods=tuple(RetentionPeriod.from_row(row) for row in tables.periods.to_dict(orient="records")),
        cohorts=cohorts,
        what_if=scenario,
        curve=curve,
        warnings=_retention_warnings(scenario, options.retention_period),
        groups=tables.groups,
    )


def customer_groups(tx: pd.DataFrame, customers: pd.DataFrame | None, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each customer's value of ``column`` (a header the analyst knows, such as 销售员): from the master file
    where it has one, else from the customer's latest transaction up to the as-of date."""
    name = canonical_name(column)
    candidates = [c for c in tx.columns if c in CARRIED_ATTRIBUTES]
    master_columns = [c for c in customers.columns if c != CUSTOMER_ID] if customers is not None else []
    if name not in candidates and name not in master_columns:
        raise OptionError(
            f"cannot group by {column!r}; choose one of {', '.join(dict.fromkeys([*candidates, *master_columns]))}",
            hint="group by a column of the transactions (salesperson, region, channel) or of the --customers file",
        )
    sources = [
        *([customers[[CUSTOMER_ID, name]]] if customers is not None and name in master_columns else []),
        *([latest_values(tx, [name], as_of=as_of)] if name in candidates else []),
    ]
    if len(sources) == 1:
        return sources[0]
    master, latest = sources
    both = latest.astype({CUSTOMER_ID: "str"}).merge(
        master.astype({CUSTOMER_ID: "str"}), on=CUSTOMER_ID, how="outer", suffixes=("", "_master")
    )
    both[name] = both[f"{name}_master"].where(both[f"{name}_master"].notna(), both[name])
    return both[[CUSTOMER_ID, name]]


def _cohorts(tables: retention.RetentionTables) -> tuple[tuple[Cohort, ...], Cohort | None]:
    """The cohort matrices as shares (of the cohort's customers, and of its first period's revenue), and all
    cohorts pooled: at k periods since, the sums over the cohorts observed that long."""
    customers, revenue = tables.cohort_customers, tables.cohort_revenue
    if customers.empty:
        return (), None
    since = [c for c in customers.columns if isinstance(c, int)]
    active, money = customers[since].to_numpy(dtype=np.float64), revenue[since].to_numpy(dtype=np.float64)
    observed = ~np.isnan(active)
    sizes, bases = customers["customers"].to_numpy(dtype=np.float64), revenue["revenue"].to_numpy(dtype=np.float64)
    rows = [
        _cohort(str(label), int(size), float(base), active_row, money_row)
        for label, size, base, active_row, money_row in zip(customers["cohort"], sizes, bases, active, money)
    ]
    pooled = _cohort(
        "all",
        int(sizes.sum()),
        float(bases.sum()),
        np.nansum(active, axis=0) / (observed * sizes[:, None]).sum(axis=0),
        np.nansum(money, axis=0),
        bases=(observed * bases[:, None]).sum(axis=0),
    )
    return tuple(rows), pooled


def _cohort(
    label: str, size: int, base: float, active: np.ndarray, money: np.ndarray, *, bases: np.ndarray | None = None
) -> Cohort:
    """One cohort row: active counts (or shares, for the pooled row) and revenue, as shares, up to the as-of date."""
    seen = ~np.isnan(active)
    shares = active[seen] / size if bases is None else active[seen]
    bottom = np.full(seen.sum(), base) if bases is None else bases[seen]
    revenue = np.divide(money[seen], bottom, out=np.full(seen.sum(), np.nan), where=bottom > 0)
    return Cohort(
        cohort=label,
        customers=size,
        revenue=base,
        retained=tuple(float(v) for v in shares),
        revenue_retained=tuple(None if np.isnan(v) else float(v) for v in revenue),
    )


def _retention_warnings(scenario: retention.WhatIf | None, period: str) -> tuple[str, ...]:
    """What the report cannot say (a period still running is flagged by its ``complete`` field instead)."""
    if scenario is None:
        return (f"no what-if: it needs a complete {period} that follows one with active customers",)
    return ()


def data_quality(report: IngestReport) -> pd.DataFrame:
    """What was read, dropped and why, as (item, detail, value) rows. ``item`` is a label key (rows_read,
    rows_used, rows_dropped, dropped, excluded_orders, file, orders_counted, revenue_basis, note); ``detail``
    the reason, status or file it is about."""
    rows: list[tuple[str, str | None, object]] = [
        ("rows_read", None, report.rows_read),
        ("rows_used", None, report.rows_used),
        ("rows_dropped", None, report.rows_dropped),
    ]
    rows += [("dropped", reason, n) for reason, n in report.drop_counts.items()]
    rows += [("excluded_orders", status, n) for status, n in report.excluded_orders.items()]
    rows += [
        ("file", f"{f.path} ({f.format}" + (f", {f.dialect.encoding})" if f.dialect.encoding else ")"), f.rows)
        for f in report.files
    ]
    rows += [("orders_counted", f.path, ORDERS_BY[f.dialect.orders_by]) for f in report.files]
    rows += [("revenue_basis", f.path, revenue_text(f.mapping, f.dialect.amount_basis)) for f in report.files]
    rows += [("note", None, warning) for warning in report.warnings]
    return pd.DataFrame(rows, columns=["item", "detail", "value"]).astype({"value": "str"})


def attach(table: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Add a scorer's columns to the table. Scorers keep the table's row order; when the ids match row for
    row (compared on categorical codes, so cheap) the columns are attached by position, else joined on id."""
    if _same_ids(table[CUSTOMER_ID], scored[CUSTOMER_ID]):
        table = table.copy(deep=False)  # new columns only: no copy of the existing ones
        for column in scored.columns.drop(CUSTOMER_ID):
            table[column] = scored[column].array
        return table
    return table.merge(scored, on=CUSTOMER_ID, how="left")


def _same_ids(ids: pd.Series, other: pd.Series) -> bool:
    """The same ids in the same order; on codes alone when both share one categorical dtype."""
    if len(ids) != len(other):
        return False
    if (
        isinstance(ids.dtype, pd.CategoricalDtype)
        and isinstance(other.dtype, pd.CategoricalDtype)
        and ids.cat.categories is other.cat.categories
    ):
        return bool(np.array_equal(ids.cat.codes.to_numpy(), other.cat.codes.to_numpy()))
    return ids.reset_index(drop=True).equals(other.reset_index(drop=True))


#: The averages of the delivered-value summary: each component, the two totals and delivered value.
DELIVERED_AVERAGES = (*VALUE_COMPONENTS, *COST_COMPONENTS, *DELIVERED_COLUMNS[:3])


def delivered_summary(table: pd.DataFrame) -> DeliveredSummary | None:
    """Average delivered-value components by tier and by stage, over customers whose components are all known
    (None when the customer master had no components)."""
    if "delivered_value" not in table.columns:
        return None
    known = table.loc[table["delivered_value"].notna()]

    def rows(column: str, order: tuple[str, ...]) -> tuple[DeliveredRow, ...]:
        values = known[list(DELIVERED_AVERAGES)].apply(pd.to_numeric, errors="coerce")
        grouped = values.groupby(known[column], observed=True)
        means, sizes = grouped.mean(), grouped.size()
        return tuple(
            DeliveredRow(name, int(sizes[name]), {c: float(means.at[name, c]) for c in DELIVERED_AVERAGES})
            for name in order
            if name in means.index
        )

    return DeliveredSummary(rows("tier", TIERS), rows("lifecycle_stage", STAGES))


def segment_order(scheme: str) -> tuple[str, ...]:
    """The RFM segments of ``scheme``, in the order summaries list them."""
    return CLASSIC_SEGMENTS if scheme == "classic" else CN8_SEGMENTS


def _with_tiers(table: pd.DataFrame, rule: TierRule, tier_by: str) -> tuple[pd.DataFrame, dict]:
    """The table with ``value_rank`` and ``tier`` by the chosen value, placed after ``segment`` whenever they
    are computed (so the columns come in one order whatever ``--tier-by``), and the Pareto figures."""
    values = tier_values(table, tier_by)
    tiers = assign_tiers(values, table[CUSTOMER_ID], rule)
    return insert_tiers(table, tiers), pareto_figures(values, rank=tiers["value_rank"].to_numpy())


def insert_tiers(table: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """The table with ``value_rank`` and ``tier`` (row for row) placed after ``segment``."""
    table = table.copy(deep=False)
    after_segment = list(table.columns).index("segment") + 1
    for offset, column in enumerate(tiers.columns):
        table.insert(after_segment + offset, column, tiers[column].array)
    return table


def tier_values(table: pd.DataFrame, tier_by: str) -> pd.Series:
    """The value that ranks customers into tiers."""
    if tier_by == "revenue":
        return table["total_revenue"]
    if tier_by == "profit":
        if "total_margin" not in table.columns:
            raise OptionError(
                "tier_by='profit' needs a cost or margin column in the transactions",
                hint="map one with columns={'cost': '<header>'} or columns={'margin': '<header>'}, or use "
                "tier_by='revenue'",
            )
        return table["total_margin"]
    if "clv" not in table.columns:
        raise OptionError("tier_by='clv' needs the value model; do not set model=None")
    return table["clv"]


def _with_attributes(
    table: pd.DataFrame,
    tx: pd.DataFrame,
    customers: pd.DataFrame | None,
    as_of: pd.Timestamp,
    delivered_weights: Mapping[str, float],
) -> pd.DataFrame:
    """Add master-file attributes and prospects; fill salesperson/region/channel from the latest transaction."""
    carried = [c for c in CARRIED_ATTRIBUTES if c in tx.columns]
    if carried:
        table = table.merge(latest_values(tx, carried, as_of=as_of), on=CUSTOMER_ID, how="left")
    if customers is None:
        return table
    master = customers.drop(
        columns=[
            c for c in table.columns if c in customers.columns and c != CUSTOMER_ID and c not in CARRIED_ATTRIBUTES
        ]
    )
    overlap = [c for c in CARRIED_ATTRIBUTES if c in master.columns and c in table.columns]
    counts = [c for c in table.columns if pd.api.types.is_integer_dtype(table[c].dtype)]
    table = table.merge(master, on=CUSTOMER_ID, how="outer", suffixes=("", "_master"))
    # Prospects have no counts or scores: keep integer columns integer, with missing values.
    table = table.astype({c: "Int64" for c in counts})
    for column in overlap:
        table[column] = table[f"{column}_master"].where(table[f"{column}_master"].notna(), table[column])
        table = table.drop(columns=f"{column}_master")
    table["tier"] = table["tier"].fillna("prospect")
    if any(c in customers.columns for c in (*VALUE_COMPONENTS, *COST_COMPONENTS)):
        table = table.merge(delivered_value(customers, weights=delivered_weights), on=CUSTOMER_ID, how="left")
    return table


def master_attributes(customers: pd.DataFrame | None) -> tuple[str, ...]:
    """Master-file columns that are about the person, not scores: everything but the id, the sales
    assignment (salesperson, region, channel, also in transactions) and delivered-value components."""
    if customers is None:
        return ()
    kept = {CUSTOMER_ID, *CARRIED_ATTRIBUTES, *VALUE_COMPONENTS, *COST_COMPONENTS}
    return tuple(c for c in customers.columns if c not in kept)


def date_text(value: Any) -> str | None:
    """A date as YYYY-MM-DD (None when missing)."""
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


VALUE_COLUMNS = (
    CUSTOMER_ID,
    "tier",
    "frequency",
    "recency",
    "T",
    "monetary",
    *VALUE_OUTPUT_COLUMNS[1:],
    *DELIVERED_COLUMNS,
)


def value_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The per-customer columns `crmkit value --out` writes."""
    return table[[c for c in VALUE_COLUMNS if c in table.columns]]


def value_report(result: ScoreResult) -> ValueReport:
    """The value summary: the fit, value by tier, and what delivered value needs if absent."""
    table = result.customers
    by_tier = (
        result.value_by_tier if result.value_by_tier is not None else Figures.of(table, values=True).value_by_tier()
    )
    missing = None if "delivered_value" in table.columns else (*VALUE_COMPONENTS, *COST_COMPONENTS)
    return ValueReport(result.summary.data, result.summary.model, by_tier, missing, result.summary.warnings)


def backtest_models(name: str) -> tuple[str, ...]:
    """``all`` or one model name, checked."""
    if name == "all":
        return MODEL_NAMES
    if name not in MODEL_NAMES:
        raise OptionError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)} or all")
    return (name,)


def compare(old: ScoreResult, new: ScoreResult, *, sources: tuple[str, str] = ("old", "new")) -> ComparisonReport:
    """How customers moved between two scored snapshots, and a warning when the newer one does not reach back as
    far as the older (two exports that each hold only their own month, say): tiers and stages then describe
    each file's own period, not the customer's history, and "absent" means "did not buy in that file"."""
    before, after = old.summary.data, new.summary.data
    warnings = []
    if before.first_date and after.first_date and after.first_date > before.first_date:
        old_name, new_name = sources
        overlap = (
            "do not overlap" if before.last_date and after.first_date > before.last_date else "overlap only in part"
        )
        warnings.append(
            f"{new_name} starts on {after.first_date}, later than {old_name} ({before.first_date}), and the two "
            f"{overlap}: each file holds only its own period, not the whole history, so tiers, stages and "
            "'absent' describe each period's purchases, not the customers' history. Compare exports of the whole "
            "history, or put both files in one folder and compare it at two dates: "
            f"crmkit compare FOLDER --as-of {before.last_date} --as-of {after.last_date}"
        )
    return ComparisonReport(compare_snapshots(old.customers, new.customers), tuple(warnings), (before, after))


def comparison_sheets(comparison: Comparison) -> dict[str, pd.DataFrame]:
    """The sheets of `crmkit compare --out`: both migration matrices and each list."""
    return {
        "tier_migration": comparison.tier_migration.rename_axis("from").reset_index(),
        "stage_migration": comparison.stage_migration.rename_axis("from").reset_index(),
        "fell": comparison.fell,
        "rose": comparison.rose,
    }
