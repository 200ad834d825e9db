"""One scoring run: canonical frames in, a typed result out.

The pipeline decides what is analysed — the per-customer table, the summary, the at-risk list, the roll-up,
what may be shared — and hands it to the output layer, which only renders. Nothing here reads or writes files
or prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, OptionError
from crmkit.ingest.columns import canonical_name
from crmkit.ingest.report import CustomerData, IngestReport, TransactionData
from crmkit.models import MODEL_NAMES
from crmkit.pipeline.figures import Figures
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.results import (
    DataSummary,
    ModelSummary,
    ParetoFigures,
    ScoreResult,
    Summary,
    ValueReport,
)
from crmkit.schema import (
    CHANNEL,
    COST_COMPONENTS,
    CUSTOMER_ID,
    ORDER_DATE,
    REGION,
    SALESPERSON,
    STAGES,
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
from crmkit.scoring.rollup import rollup
from crmkit.scoring.summary import (
    customer_summary,
    default_as_of,
    latest_values,
    rows_after,
)
from crmkit.scoring.tiers import assign_tiers, pareto_figures
from crmkit.scoring.value import (
    DELIVERED_COLUMNS,
    ValueFit,
    delivered_value,
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
    table, rfm_thresholds, pareto, fit, warnings = _scored(frame, master, as_of, options)

    sharing = options.sharing
    shared = sharing.customers(table, master_attributes(master))
    groups = rollup(shared, canonical_name(options.group_by)) if options.group_by else None
    figures = Figures.of(table)
    summary = Summary(
        data=_data_summary(data, frame, table, as_of, options.time_unit),
        tiers=figures.tier_rows(),
        pareto=ParetoFigures.from_dict(pareto),
        segments=figures.counts("segments", segment_order(options.rfm_scheme)),
        lifecycle=figures.counts("stages", STAGES),
        churn=figures.band_rows(),
        model=ModelSummary(fit, date_text(as_of)) if fit is not None else None,
        warnings=(*(data.report.warnings if data is not None else ()), *warnings),
        groups=groups,
    )
    return ScoreResult(
        customers=shared,
        summary=summary,
        rfm_thresholds=rfm_thresholds,
        at_risk=churn.at_risk(shared, min_tier=options.at_risk_min_tier, columns=None),
        data_quality=data_quality(sharing.transactions(data).report) if data is not None else _NO_QUALITY,
    )


def _scored(
    tx: pd.DataFrame, customers: pd.DataFrame | None, as_of: pd.Timestamp, options: ScoreOptions
) -> tuple[pd.DataFrame, pd.DataFrame, dict, ValueFit | None, list[str]]:
    """The per-customer table, the RFM thresholds, the Pareto figures, the value fit and warnings."""
    # The model fit needs only the summary: it runs on the second core while this one scores RFM and tiers.
    # The passes over all transactions (summary, activity windows) run alone: beside anything else their
    # temporaries would raise the peak memory by half a gigabyte at 10M rows.
    with ThreadPoolExecutor(max_workers=1) as background:
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
        scores = rfm_scores(summary)
        table = attach(summary, scores)
        table["segment"] = rfm_segments(summary, scores, scheme=options.rfm_scheme).array
        if options.tier_by != "clv":  # tiers by revenue or profit need not wait for the model
            table, pareto = _with_tiers(table, options)

        value_fit, warnings = None, []
        if value_job is not None:
            try:
                values, value_fit = value_job.result()
                table = attach(table, values)
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

    table = attach(table, lifecycle.assign_stages(table, activity, rules=options.lifecycle))
    table = attach(table, churn.score_churn(table, bands=options.churn))
    table = table.sort_values(CUSTOMER_ID, ignore_index=True)
    return table, score_thresholds(summary, scores), pareto, value_fit, warnings


def _data_summary(
    data: TransactionData | None, tx: pd.DataFrame, table: pd.DataFrame, as_of: pd.Timestamp, time_unit: str
) -> DataSummary:
    report = data.report if data is not None else None
    prospects = int((table["tier"] == "prospect").sum())
    return DataSummary(
        rows_read=report.rows_read if report else len(tx),
        rows_used=report.rows_used if report else len(tx),
        rows_dropped=report.rows_dropped if report else 0,
        dropped_by_reason=dict(report.drop_counts) if report else {},
        customers=len(table) - prospects,
        prospects=prospects,
        first_date=date_text(tx[ORDER_DATE].min()),
        last_date=date_text(tx[ORDER_DATE].max()),
        as_of=date_text(as_of),
        rows_after_as_of=rows_after(tx, as_of),
        time_unit=time_unit,
    )


_NO_QUALITY = pd.DataFrame(columns=["item", "detail", "value"])


def data_quality(report: IngestReport) -> pd.DataFrame:
    """What was read, dropped and why, as (item, detail, value) rows. ``item`` is a label key (rows_read,
    rows_used, rows_dropped, dropped, file, note); ``detail`` the reason or file it is about."""
    rows: list[tuple[str, str | None, object]] = [
        ("rows_read", None, report.rows_read),
        ("rows_used", None, report.rows_used),
        ("rows_dropped", None, report.rows_dropped),
    ]
    rows += [("dropped", reason, n) for reason, n in report.drop_counts.items()]
    rows += [
        ("file", f"{f.path} ({f.format}" + (f", {f.encoding})" if f.encoding else ")"), f.rows) for f in report.files
    ]
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


def segment_order(scheme: str) -> tuple[str, ...]:
    return CLASSIC_SEGMENTS if scheme == "classic" else CN8_SEGMENTS


def _with_tiers(table: pd.DataFrame, options: ScoreOptions) -> tuple[pd.DataFrame, dict]:
    """The table with ``value_rank`` and ``tier`` by the chosen value, placed after ``segment`` whenever they
    are computed (so the columns come in one order whatever ``--tier-by``), and the Pareto figures."""
    values = tier_values(table, options.tier_by)
    tiers = assign_tiers(values, table[CUSTOMER_ID], options.tiers)
    return insert_tiers(table, tiers), pareto_figures(values, rank=tiers["value_rank"].to_numpy())


def insert_tiers(table: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """The table with ``value_rank`` and ``tier`` (row for row) placed after ``segment``."""
    table = table.copy(deep=False)
    after_segment = table.columns.get_loc("segment") + 1
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


def date_text(value: object) -> str | None:
    """A date as YYYY-MM-DD (None when missing)."""
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


def value_report(result: ScoreResult) -> ValueReport:
    """The value summary: the fit, value by tier, and what delivered value needs if absent."""
    table = result.customers
    by_tier = (
        result.value_by_tier if result.value_by_tier is not None else Figures.of(table, values=True).value_by_tier()
    )
    missing = None if "delivered_value" in table.columns else (*VALUE_COMPONENTS, *COST_COMPONENTS)
    return ValueReport(result.summary.data, result.summary.model, by_tier, missing)


def backtest_models(name: str) -> tuple[str, ...]:
    """``all`` or one model name, checked."""
    if name == "all":
        return MODEL_NAMES
    if name not in MODEL_NAMES:
        raise OptionError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)} or all")
    return (name,)


def comparison_sheets(comparison: Comparison) -> dict[str, pd.DataFrame]:
    """The sheets of `crmkit compare --out`: both migration matrices and each list."""
    return {
        "tier_migration": comparison.tier_migration.rename_axis("from").reset_index(),
        "stage_migration": comparison.stage_migration.rename_axis("from").reset_index(),
        "fell": comparison.fell,
        "rose": comparison.rose,
    }
