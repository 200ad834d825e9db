"""One library function per analysis: canonical frames in, result objects out.

The CLI calls ingest, then one of these, then the output layer. Nothing here
reads or writes files or prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from crmkit.errors import BadValueError, OptionError
from crmkit.models import MODEL_NAMES
from crmkit.schema import (
    CHANNEL,
    CHURN_BANDS,
    COST_COMPONENTS,
    CUSTOMER_ID,
    ORDER_DATE,
    REGION,
    SALESPERSON,
    STAGES,
    TIERS,
    VALUE_COMPONENTS,
)
from crmkit.scoring import churn, lifecycle
from crmkit.scoring.compare import Comparison
from crmkit.scoring.rfm import (
    CLASSIC_SEGMENTS,
    CN8_SEGMENTS,
    rfm_scores,
    rfm_segments,
    score_thresholds,
)
from crmkit.scoring.summary import (
    customer_summary,
    default_as_of,
    latest_values,
    rows_after,
    unit_days,
)
from crmkit.scoring.tiers import TierRule, assign_tiers, pareto_figures
from crmkit.scoring.value import (
    DELIVERED_COLUMNS,
    ValueFit,
    delivered_value,
    score_value,
)

TIER_BY = ("revenue", "profit", "clv")
#: Attributes carried from transactions to customers (the latest value wins) when the master file lacks them.
CARRIED_ATTRIBUTES = (SALESPERSON, REGION, CHANNEL)


@dataclass(frozen=True)
class SegmentOptions:
    """Everything that shapes a per-customer scoring run."""

    as_of: pd.Timestamp | None = None
    time_unit: str = "day"
    rfm_scheme: str = "classic"
    tier_by: str = "revenue"
    tier_rule: TierRule = field(default_factory=TierRule)
    model: str | None = "mbgnbd"
    horizon: str = "12m"
    margin: float | None = None
    discount_rate: float = 0.10
    penalizer: float = 0.0
    #: False: when the data cannot support the value model (no repeat buyers yet), score everything else
    #: and say so in the warnings instead of stopping. `crmkit value` sets True: the model is its purpose.
    model_required: bool = False
    lifecycle_rules: Mapping[str, float] = field(default_factory=dict)
    churn_bands: Mapping[str, float] = field(default_factory=dict)
    #: Weights of the delivered-value components (``[delivered_value]`` in crmkit.toml; default 1 each).
    delivered_weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentResult:
    """The per-customer table, the JSON-ready summary and the tables behind ``--explain``."""

    customers: pd.DataFrame
    summary: dict
    rfm_thresholds: pd.DataFrame
    value_fit: ValueFit | None
    #: Columns that came only from the customer master file (name, phone, …): exported on request only.
    attributes: tuple[str, ...] = ()


def segment(
    tx: pd.DataFrame, *, customers: pd.DataFrame | None = None, options: SegmentOptions = SegmentOptions()
) -> SegmentResult:
    """Score every customer: summary, RFM, value model, tiers, lifecycle stage and churn risk."""
    if options.tier_by not in TIER_BY:
        raise OptionError(f"unknown --tier-by {options.tier_by!r}; choose one of {', '.join(TIER_BY)}")
    unit_days(options.time_unit)
    as_of = default_as_of(tx) if options.as_of is None else pd.Timestamp(options.as_of).normalize()
    rules = lifecycle.rules_from_config(options.lifecycle_rules)
    bands = churn.bands_from_config(options.churn_bands)
    # The model fit needs only the summary: it runs on the second core while this one scores RFM and tiers,
    # with one BLAS thread meanwhile (BLAS's own threads would ask for the core already busy here).
    # The passes over all transactions (summary, activity windows) run alone: beside anything else their
    # temporaries would raise the peak memory by half a gigabyte at 10M rows.
    with ThreadPoolExecutor(max_workers=1) as background, threadpool_limits(limits=1, user_api="blas"):
        summary = customer_summary(tx, as_of=as_of, time_unit=options.time_unit)
        if summary.empty:
            raise OptionError(f"no purchases on or before the as-of date {as_of:%Y-%m-%d}; choose a later --as-of")
        activity = lifecycle.activity_windows(tx, as_of=as_of, window_days=rules.window_days)
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
                penalizer=options.penalizer,
            )
        scores = rfm_scores(summary)
        table = _attach(summary, scores)
        table["segment"] = rfm_segments(summary, scores, scheme=options.rfm_scheme).array
        if options.tier_by != "clv":  # tiers by revenue or profit need not wait for the model
            table, pareto = _with_tiers(table, options)

        value_fit, warnings = None, []
        if value_job is not None:
            try:
                values, value_fit = value_job.result()
                table = _attach(table, values)
            except BadValueError as error:
                if options.model_required or options.tier_by == "clv":
                    raise
                warnings.append(
                    f"value model skipped: {error.message}; churn risk comes from each "
                    "customer's own rhythm and there is no CLV"
                )
        if options.tier_by == "clv":
            table, pareto = _with_tiers(table, options)
        table = _with_attributes(table, tx, customers, as_of, options.delivered_weights)

    table = _attach(table, lifecycle.assign_stages(table, activity, rules=rules))
    table = _attach(table, churn.score_churn(table, bands=bands))
    table = table.sort_values(CUSTOMER_ID, ignore_index=True)

    result_summary = {
        "data": {
            "customers": int((table["tier"] != "prospect").sum()),
            "prospects": int((table["tier"] == "prospect").sum()),
            "first_date": _date(tx[ORDER_DATE].min()),
            "last_date": _date(tx[ORDER_DATE].max()),
            "as_of": _date(as_of),
            "rows_after_as_of": rows_after(tx, as_of),
            "time_unit": options.time_unit,
        },
        "tiers": tier_table(table),
        "pareto": pareto,
        "segments": _count_by(table, "segment", _segment_order(options.rfm_scheme)),
        "lifecycle": _count_by(table, "lifecycle_stage", STAGES, key="stage"),
        "churn": churn_table(table),
    }
    if warnings:
        result_summary["warnings"] = warnings
    if value_fit is not None:
        result_summary["model"] = {
            "model": value_fit.model.name,
            "time_unit": options.time_unit,
            "as_of": _date(as_of),
            **value_fit.to_dict(),
        }
    return SegmentResult(
        table, result_summary, score_thresholds(summary, scores), value_fit, master_attributes(customers)
    )


def _attach(table: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
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


def tier_table(table: pd.DataFrame) -> list[dict]:
    """Customers, revenue and shares per tier, in canonical tier order (prospects last)."""
    total_customers = len(table)
    total_revenue = float(table["total_revenue"].fillna(0).sum())
    rows = []
    for tier in TIERS:
        members = table.loc[table["tier"] == tier, "total_revenue"].fillna(0)
        if tier == "prospect" and members.empty:
            continue
        revenue = float(members.sum())
        rows.append(
            {
                "tier": tier,
                "customers": len(members),
                "customer_share": len(members) / total_customers if total_customers else 0.0,
                "revenue": revenue,
                "revenue_share": revenue / total_revenue if total_revenue else 0.0,
                "average_value": revenue / len(members) if len(members) else 0.0,
            }
        )
    return rows


def churn_table(table: pd.DataFrame) -> list[dict]:
    """Customers and value at risk per churn band (buyers only)."""
    return [
        {
            "band": band,
            "customers": int((table["churn_band"] == band).sum()),
            "value_at_risk": float(table.loc[table["churn_band"] == band, "value_at_risk"].sum()),
        }
        for band in CHURN_BANDS
    ]


def _count_by(table: pd.DataFrame, column: str, order: tuple[str, ...], *, key: str | None = None) -> list[dict]:
    """Customers and revenue per value of ``column``, in the given order, skipping empty groups."""
    grouped = table.groupby(column, observed=True)["total_revenue"].agg(["size", "sum"])
    return [
        {key or column: name, "customers": int(grouped.at[name, "size"]), "revenue": float(grouped.at[name, "sum"])}
        for name in order
        if name in grouped.index
    ]


def _segment_order(scheme: str) -> tuple[str, ...]:
    return CLASSIC_SEGMENTS if scheme == "classic" else CN8_SEGMENTS


def _with_tiers(table: pd.DataFrame, options: SegmentOptions) -> tuple[pd.DataFrame, dict]:
    """The table with ``value_rank`` and ``tier`` by the chosen value, placed after ``segment`` whenever they
    are computed (so the columns come in one order whatever ``--tier-by``), and the Pareto figures."""
    values = _tier_values(table, options.tier_by)
    tiers = assign_tiers(values, table[CUSTOMER_ID], options.tier_rule)
    table = table.copy(deep=False)
    after_segment = table.columns.get_loc("segment") + 1
    for offset, column in enumerate(tiers.columns):
        table.insert(after_segment + offset, column, tiers[column].array)
    return table, pareto_figures(values, rank=tiers["value_rank"].to_numpy())


def _tier_values(table: pd.DataFrame, tier_by: str) -> pd.Series:
    """The value that ranks customers into tiers."""
    if tier_by == "revenue":
        return table["total_revenue"]
    if tier_by == "profit":
        if "total_margin" not in table.columns:
            raise OptionError(
                "--tier-by profit needs a cost or margin column in the transactions",
                hint="map one with --col cost=<header> or --col margin=<header>, or use --tier-by revenue",
            )
        return table["total_margin"]
    if "clv" not in table.columns:
        raise OptionError("--tier-by clv needs the value model; drop --no-model")
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


def _date(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


VALUE_COLUMNS = (
    CUSTOMER_ID,
    "tier",
    "frequency",
    "recency",
    "T",
    "monetary",
    "expected_purchases",
    "p_alive",
    "expected_spend",
    "clv",
    "historic_value",
    *DELIVERED_COLUMNS,
)


def value_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The per-customer columns `crmkit value --out` writes."""
    return table[[c for c in VALUE_COLUMNS if c in table.columns]]


def value_report(result: SegmentResult) -> dict:
    """JSON-ready value summary: the fit, value by tier, and what delivered value needs if absent."""
    table = result.customers
    by_tier = []
    for tier in TIERS:
        members = table.loc[table["tier"] == tier]
        if members.empty:
            continue
        by_tier.append(
            {
                "tier": tier,
                "customers": len(members),
                "historic_value": float(members["historic_value"].sum()),
                "clv": float(members["clv"].sum()),
                "expected_purchases": float(members["expected_purchases"].sum()),
            }
        )
    report = {"data": result.summary["data"], "model": result.summary["model"], "value_by_tier": by_tier}
    if "delivered_value" not in table.columns:
        report["delivered_value_note"] = (
            "customer delivered value needs these columns in the --customers file: "
            + ", ".join((*VALUE_COMPONENTS, *COST_COMPONENTS))
        )
    return report


def backtest_models(name: str) -> tuple[str, ...]:
    """``all`` or one model name, checked."""
    if name == "all":
        return MODEL_NAMES
    if name not in MODEL_NAMES:
        raise OptionError(f"unknown --model {name!r}; choose one of {', '.join(MODEL_NAMES)} or all")
    return (name,)


def comparison_sheets(comparison: Comparison) -> dict[str, pd.DataFrame]:
    """The sheets of `crmkit compare --out`: both migration matrices and each list."""
    return {
        "tier_migration": comparison.tier_migration.rename_axis("from").reset_index(),
        "stage_migration": comparison.stage_migration.rename_axis("from").reset_index(),
        "fell": comparison.fell,
        "rose": comparison.rose,
    }
