"""The Dask engine: the pandas engine's scores, computed partition by partition on a cluster.

1. Each input piece (:mod:`crmkit.ingest.pieces`) is read, checked and added up per customer, day, order and
   sign on a worker (:func:`crmkit.scoring.summary.daily_rows`), so one giant customer stays a few thousand rows.
2. The rows are moved into partitions by ranges of customer id (``set_index`` with boundaries from samples of
   every piece): each customer's rows in one partition, partitions in id order.
3. Per partition, the pandas engine's per-customer steps (summary, activity windows, latest attributes).
4. The global steps from histograms and sums that the partitions send up, never their customers: RFM score
   cut-offs, cn8 means, model fits on counted unique (frequency, recency, T) rows and (frequency, spend) pairs,
   the median usual gap, the overall margin share.
5. Per partition, RFM scores, segments and value predictions; then tier ranks from the histogram of the tier
   value, ties broken by customer id with the counts of equal values in earlier partitions (a chain of small
   tasks), lifecycle stages and churn. Each partition's customers are written by its worker as one file of
   the Parquet dataset; only counts, totals and the top customers come back.

Money is summed in whole steps, so every figure is independent of partitioning and row order; per-customer
columns equal the pandas engine's bit for bit (sums of CLV and value at risk in the summary are added per
partition: within 1e-12 relative).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, OptionError
from crmkit.ingest.pieces import PIECE_SHIFT, Piece, PieceReport, canonical_piece, merge_reports
from crmkit.ingest.report import IngestReport, TransactionData
from crmkit.ingest.transactions import EXAMPLES_PER_REASON, strict_error
from crmkit.models import (
    FittedModels,
    compress,
    compress_counts,
    excluded_buyers,
    fit_gamma_gamma_on,
    fit_transaction_model_on,
    spend_data_from_pairs,
    spend_pairs,
)
from crmkit.output.dataset import DatasetWriter, PartWriter
from crmkit.pipeline.figures import Figures
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.results import DataSummary, ModelSummary, ParetoFigures, ScoreResult, Summary
from crmkit.pipeline.run import (
    CARRIED_ATTRIBUTES,
    attach,
    data_quality,
    date_text,
    insert_tiers,
    segment_order,
    tier_values,
)
from crmkit.schema import (
    AMOUNT,
    COST,
    CUSTOMER_ID,
    MARGIN,
    OPTIONAL_TRANSACTION_COLUMNS,
    ORDER_DATE,
    ORDER_ID,
    REASON_REPEAT,
    STAGES,
)
from crmkit.scoring import churn, lifecycle
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.kernels import customer_codes
from crmkit.scoring.rfm import (
    RFM_INPUTS,
    SegmentMeans,
    histogram_cuts,
    rfm_scores,
    rfm_segments,
    score_input,
    score_thresholds,
)
from crmkit.scoring.summary import ROW_KEY, ROWS, customer_summary, daily_rows, day_numbers, latest_values
from crmkit.scoring.tiers import pareto_from_histogram, tiers_from_ranks
from crmkit.scoring.value import ValueFit, margin_steps, overall_margin_share, parse_horizon, score_value

#: Customer-day rows per customer partition when the number of partitions is not given.
ROWS_PER_PARTITION = 1_000_000
#: Sample of customer ids each piece sends for the partition boundaries.
ID_SAMPLE = 256
#: Parts merged by one task in a tree reduction.
FAN_IN = 8


# --- 1. pieces ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """The columns every piece's rows have, whatever columns its own file has.

    Without an order id, pieces send customer-day rows. With one, the pandas engine counts a line repeated
    in another file (every field equal) once, which needs every field of every line: pieces then send their
    distinct lines, and the lines are added up per customer and day once they are gathered by customer.
    """

    fields: tuple[str, ...]
    carried: tuple[str, ...]
    order_id: bool
    margin_from: str | None  # MARGIN, COST or None, as the pandas engine picks over all files

    @classmethod
    def of(cls, pieces: Sequence[Piece]) -> Layout:
        mapped = {c for piece in pieces for c in piece.mapping}
        margin_from = MARGIN if MARGIN in mapped else COST if COST in mapped else None
        fields = tuple(c for c in (CUSTOMER_ID, ORDER_DATE, AMOUNT, *OPTIONAL_TRANSACTION_COLUMNS) if c in mapped)
        return cls(fields, tuple(c for c in CARRIED_ATTRIBUTES if c in mapped), ORDER_ID in mapped, margin_from)

    @property
    def daily_columns(self) -> list[str]:
        """The columns :func:`daily_rows` needs."""
        columns = [CUSTOMER_ID, ORDER_DATE, AMOUNT, *([ORDER_ID] if self.order_id else []), *self.carried]
        return columns + ([self.margin_from] if self.margin_from is not None else [])

    def daily(self, tx: pd.DataFrame, row_key: np.ndarray) -> pd.DataFrame:
        """Customer-day rows of canonical transactions."""
        return daily_rows(tx.reindex(columns=self.daily_columns), row_key, self.carried)


def _as_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The ``columns`` that hold text (categorical or not) as plain text: the same dtype in every piece."""
    for column in columns:
        values = frame[column] if column in frame.columns else None
        if (
            values is not None
            and not pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_datetime64_any_dtype(values)
        ):
            frame[column] = values.astype("str")
    return frame


def repeated_lines(lines: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """Lines (in input order) of an order that repeat an earlier line with every field equal."""
    has_order = lines[ORDER_ID].notna().to_numpy()
    return has_order & lines.duplicated(subset=list(fields), keep="first").to_numpy()


@dataclass(frozen=True)
class PieceStats:
    """What a piece tells the client besides its report: dates seen, rows per day, a sample of its ids."""

    first: Any
    last: Any
    days: np.ndarray
    rows_per_day: np.ndarray
    ids: np.ndarray
    id_weight: float
    rows: int


def prepare_piece(
    piece: Piece, layout: Layout, date_order: str | None, storage_options: Mapping[str, Any]
) -> tuple[pd.DataFrame, PieceReport, PieceStats, tuple[np.ndarray, pd.Index]]:
    """Read and check one piece, and add its transactions up per customer, day, order and sign. Also returns
    each row's id code among the piece's ids in sorted order, which places the rows in id ranges later."""
    frame, report = canonical_piece(piece, date_order=date_order, storage_options=storage_options)
    row_key = (np.int64(piece.index) << PIECE_SHIFT) | frame["source_row"].to_numpy(dtype=np.int64)
    if layout.order_id:
        lines = frame.reindex(columns=list(layout.fields))
        repeated = repeated_lines(lines, layout.fields)
        if repeated.any():
            report.drop_counts[REASON_REPEAT] = int(repeated.sum())
            report.examples += _repeat_examples(lines.loc[repeated, ORDER_ID], row_key[repeated])
        daily = lines.loc[~repeated].reset_index(drop=True).assign(**{ROWS: 1, ROW_KEY: row_key[~repeated]})
    else:
        daily = layout.daily(frame, row_key)
    codes, categories = customer_codes(daily[CUSTOMER_ID])
    ids, weight = _id_sample(codes, categories)
    daily = _as_text(daily, layout.fields)
    days = day_numbers(daily[ORDER_DATE]) if len(daily) else np.empty(0, dtype=np.int64)
    day_values, day_codes = np.unique(days, return_inverse=True)
    stats = PieceStats(
        frame[ORDER_DATE].min() if len(frame) else None,
        frame[ORDER_DATE].max() if len(frame) else None,
        day_values,
        np.bincount(day_codes, weights=daily[ROWS].to_numpy(), minlength=len(day_values)).astype(np.int64),
        ids,
        weight,
        len(daily),
    )
    return daily, report, stats, (codes, categories)


def _id_sample(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, float]:
    """Evenly spaced ids of the rows in id order (sorted on integer codes), and rows per sampled id."""
    if not len(codes):
        return np.empty(0, dtype=object), 0.0
    ordered = np.sort(codes)
    picked = ordered[np.linspace(0, len(ordered) - 1, min(ID_SAMPLE, len(ordered))).astype(np.int64)]
    return categories.take(picked).to_numpy(dtype=object), len(ordered) / len(picked)


def in_ranges(prepared: tuple, bounds: list[str]) -> pd.DataFrame:
    """A piece's rows with the number of the id range each belongs to (``_range``): range i holds the ids from
    bounds[i] up to, not including, bounds[i + 1] (the last one its end too), found on the sorted codes."""
    daily, (codes, categories) = prepared[0], prepared[3]
    starts = np.searchsorted(categories.to_numpy(dtype=object), np.array(bounds[1:-1], dtype=object), side="left")
    return daily.assign(**{RANGE: np.searchsorted(starts, codes, side="right").astype(np.int64)})


#: The column that moves rows into their id range.
RANGE = "_range"


def divisions(stats: Sequence[PieceStats], partitions: int) -> list[str]:
    """Customer-id boundaries of ``partitions`` ranges holding about as many customer-day rows each."""
    ids = np.concatenate([s.ids for s in stats]) if stats else np.empty(0, dtype=object)
    if not len(ids):
        raise BadValueError(
            "no usable rows in the input files", hint="check the column mapping with `crmkit inspect FILE`"
        )
    weights = np.concatenate([np.full(len(s.ids), s.id_weight) for s in stats])
    order = np.argsort(ids, kind="stable")
    ids, weights = ids[order], np.cumsum(weights[order])
    cuts = [
        ids[min(np.searchsorted(weights, weights[-1] * k / partitions), len(ids) - 1)] for k in range(1, partitions)
    ]
    return sorted({ids[0], *cuts, ids[-1]}) if len(set(ids)) > 1 else [ids[0], ids[0]]


# --- 3. per-customer steps ---------------------------------------------------------------------
@dataclass(frozen=True)
class Repeats:
    """Lines a partition found repeated across pieces: how many, how many after the as-of day, examples."""

    count: int = 0
    after_as_of: int = 0
    examples: tuple[dict[str, Any], ...] = ()


#: A partition's customers: summary, activity windows, latest attributes, lines found repeated.
CustomerParts = tuple[pd.DataFrame, pd.DataFrame, "pd.DataFrame | None", Repeats]


def customer_step(part: pd.DataFrame, as_of: pd.Timestamp, options: ScoreOptions, layout: Layout) -> CustomerParts:
    """One partition's customer summary, activity windows and latest attributes (rows in input order)."""
    tx = part.reset_index(drop=True)
    codes, ids = pd.factorize(tx[CUSTOMER_ID], sort=True)  # once for every step below
    tx[CUSTOMER_ID] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(ids, dtype="str")))
    repeats = Repeats()
    if layout.order_id:  # lines: drop those repeated from other pieces, then add up per customer and day
        tx = tx.sort_values(ROW_KEY, kind="stable", ignore_index=True)  # "repeated" means after the first
        repeated = repeated_lines(tx, layout.fields)
        if repeated.any():
            keys = tx[ROW_KEY].to_numpy()[repeated]
            after = int((day_numbers(tx.loc[repeated, ORDER_DATE]) > day_numbers(as_of)[0]).sum())
            repeats = Repeats(int(repeated.sum()), after, tuple(_repeat_examples(tx.loc[repeated, ORDER_ID], keys)))
            tx = tx.loc[~repeated].reset_index(drop=True)
        tx = layout.daily(tx, tx[ROW_KEY].to_numpy())
    summary = customer_summary(tx, as_of=as_of, time_unit=options.time_unit)
    activity = lifecycle.activity_windows(tx, as_of=as_of, window_days=options.lifecycle.window_days)
    order = tx[ROW_KEY].to_numpy()
    latest = latest_values(tx, list(layout.carried), as_of=as_of, order=order) if layout.carried else None
    return summary, activity, latest, repeats


def _repeat_examples(order_ids: pd.Series, row_keys: np.ndarray) -> list[dict[str, Any]]:
    """The first repeated lines as drop-report examples (rows within their piece; ``piece`` says which)."""
    first = np.argsort(row_keys, kind="stable")[:EXAMPLES_PER_REASON]
    return [
        {
            "piece": int(row_keys[i] >> PIECE_SHIFT),
            "row": int(row_keys[i] & ((1 << PIECE_SHIFT) - 1)),
            "column": ORDER_ID,
            "value": str(order_ids.iloc[i]),
            "reason": REASON_REPEAT,
        }
        for i in first
    ]


@dataclass
class Statistics:
    """What the global steps need of a part of the customers; parts merge into the whole."""

    customers: int
    inputs: dict[str, Histogram]
    means: SegmentMeans
    gaps: Histogram
    triples: pd.DataFrame | None
    spend: pd.DataFrame | None
    excluded: int
    margin: tuple[int, int] | None
    repeats: Repeats

    @classmethod
    def of(cls, summary: pd.DataFrame, with_model: bool, repeats: Repeats) -> Statistics:
        frequency = summary["frequency"].to_numpy(dtype=np.float64)
        triples = spend = None
        excluded = 0
        if with_model:
            data = compress(frequency, summary["recency"], summary["T"])
            triples = pd.DataFrame({"x": data.x, "t_x": data.t_x, "T": data.T, "weight": data.weight})
            monetary = summary["monetary"].to_numpy(dtype=np.float64)
            x, total, weight = spend_pairs(frequency, monetary)
            spend = pd.DataFrame({"x": x, "total": total, "weight": weight})
            excluded = excluded_buyers(frequency, monetary)
        gaps = lifecycle.own_gaps(summary)
        return cls(
            len(summary),
            {score: Histogram.of(score_input(summary, score)) for score in RFM_INPUTS},
            SegmentMeans.of(summary),
            Histogram.of(gaps[frequency >= 1]),
            triples,
            spend,
            excluded,
            margin_steps(summary) if "total_margin" in summary.columns else None,
            repeats,
        )

    @classmethod
    def merge(cls, parts: Sequence[Statistics]) -> Statistics:
        first = parts[0]
        return cls(
            sum(p.customers for p in parts),
            {score: Histogram.merge(p.inputs[score] for p in parts) for score in first.inputs},
            sum((p.means for p in parts[1:]), first.means),
            Histogram.merge(p.gaps for p in parts),
            _add_counts([p.triples for p in parts], ["x", "t_x", "T"]),
            _add_counts([p.spend for p in parts], ["x", "total"]),
            sum(p.excluded for p in parts),
            None if first.margin is None else (sum(p.margin[0] for p in parts), sum(p.margin[1] for p in parts)),  # type: ignore[index]
            Repeats(
                sum(p.repeats.count for p in parts),
                sum(p.repeats.after_as_of for p in parts),
                tuple(
                    sorted((e for p in parts for e in p.repeats.examples), key=lambda e: (e["piece"], e["row"]))[
                        :EXAMPLES_PER_REASON
                    ]
                ),
            ),
        )


def _add_counts(frames: list[pd.DataFrame | None], keys: list[str]) -> pd.DataFrame | None:
    """Counted unique rows of several parts as counted unique rows of all, in ascending order of the keys."""
    present = [f for f in frames if f is not None]
    if not present:
        return None
    return pd.concat(present).groupby(keys, sort=True, as_index=False)["weight"].sum()


@dataclass(frozen=True)
class Globals:
    """The global steps' results every partition scores with."""

    n: int
    cuts: dict[str, list]
    means: SegmentMeans
    fitted: FittedModels | None
    overall_margin: float | None
    rules: lifecycle.LifecycleRules


def value_step(parts: CustomerParts, g: Globals, options: ScoreOptions) -> pd.DataFrame:
    """RFM scores, segment and value predictions of one partition, as the pandas engine attaches them."""
    summary = parts[0]
    scores = rfm_scores(summary, cuts=g.cuts)
    table = attach(summary, scores)
    table["segment"] = rfm_segments(summary, scores, scheme=options.rfm_scheme, means=g.means).array
    if g.fitted is not None and len(summary):
        values, _ = score_value(
            summary,
            model=g.fitted.transactions.name,
            horizon=options.horizon,
            time_unit=options.time_unit,
            margin=options.margin,
            discount_rate=options.discount_rate,
            fitted=g.fitted,
            overall_margin=g.overall_margin,
        )
        table = attach(table, values)
    return table


def tier_histogram(table: pd.DataFrame, tier_by: str) -> Histogram:
    return Histogram.of(tier_values(table, tier_by).to_numpy(dtype=np.float64))


def counts_before(previous: np.ndarray | None, part: Histogram, tiers: Histogram) -> np.ndarray:
    """Customers holding each distinct tier value (of ``tiers``) in the partitions up to this one."""
    out = np.zeros(len(tiers.values), dtype=np.int64) if previous is None else previous.copy()
    np.add.at(out, np.searchsorted(tiers.values, part.values), part.counts)
    return out


@dataclass
class PartResult:
    """What a partition sends back after scoring: figures, RFM ranges and its top customers."""

    figures: Figures
    thresholds: pd.DataFrame
    top_rank: pd.DataFrame
    top_clv: pd.DataFrame
    at_risk: pd.DataFrame
    at_risk_total: int


def final_step(
    table: pd.DataFrame,
    parts: CustomerParts,
    before: np.ndarray | None,
    tiers: Histogram,
    g: Globals,
    options: ScoreOptions,
    write: PartWriter | None,
    number: int,
    top: int,
) -> PartResult:
    """Tiers, attributes, lifecycle stage and churn of one partition; its customers written; figures back."""
    _, activity, latest, _ = parts
    values = tier_values(table, options.tier_by)
    v = values.to_numpy(dtype=np.float64)
    at = np.searchsorted(tiers.values, v)
    at_or_below = np.cumsum(tiers.counts)
    greater = tiers.n - at_or_below[at]
    within = pd.Series(v).groupby(v, sort=False).cumcount().to_numpy()  # the partition is in id order
    rank = greater + (0 if before is None else before[at]) + within + 1
    clipped = tiers.clipped()
    table = insert_tiers(table, tiers_from_ranks(values, rank, options.tiers, clipped))
    if latest is not None:  # every buyer has a latest transaction: attached row for row when the ids agree
        table = attach(table, latest)
    table = attach(table, lifecycle.assign_stages(table, activity, rules=g.rules))
    table = attach(table, churn.score_churn(table, bands=options.churn))
    shared = options.sharing.customers(table, ())
    shared = shared.assign(**{CUSTOMER_ID: shared[CUSTOMER_ID].astype("str")})
    if write is not None and len(shared):
        write(shared, number)
    keep = churn.worth_saving(shared, min_tier=options.at_risk_min_tier).to_numpy()
    return PartResult(
        Figures.of(table, values=True),
        score_thresholds(table, table),
        shared.nsmallest(top, "value_rank"),
        _largest(shared, "clv", top).sort_values(["clv", CUSTOMER_ID], ascending=[False, True]).head(top)
        if "clv" in shared.columns
        else shared.iloc[:0],
        churn.at_risk(
            _largest(shared.loc[keep], "value_at_risk", top), min_tier=options.at_risk_min_tier, columns=None
        ).head(top),
        int(keep.sum()),
    )


def _largest(frame: pd.DataFrame, column: str, top: int) -> pd.DataFrame:
    """The rows whose ``column`` is among the ``top`` largest values, ties at the last one included (so a
    sort of them by value and id picks the same first rows as a sort of all)."""
    values = frame[column].to_numpy(dtype=np.float64)
    present = values[~np.isnan(values)]
    if len(present) <= top or top <= 0:
        return frame
    threshold = np.partition(present, len(present) - top)[len(present) - top]
    return frame.loc[values >= threshold]


# --- the run ------------------------------------------------------------------------------------
def check_supported(options: ScoreOptions) -> None:
    """Refuse, before a cluster starts, what the Dask engine does not do yet."""
    if options.group_by is not None:
        raise OptionError("group_by is not available with the dask engine yet", hint="use --engine pandas")


def score_pieces(
    pieces: Sequence[Piece],
    options: ScoreOptions,
    *,
    client: Any,
    date_order: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    dataset: DatasetWriter | None = None,
    partitions: int | None = None,
    top: int = 10,
    strict: bool = False,
) -> tuple[ScoreResult, IngestReport]:
    """Score the customers of ``pieces`` on the cluster of ``client``; the per-customer table goes to
    ``dataset`` (written by the workers), the summary and the top ``top`` customers come back, with the
    ingest report as it may be shown (ids pseudonymised as ``options.sharing`` says)."""
    import dask
    import dask.dataframe as dd

    check_supported(options)
    storage = dict(storage_options or {})
    layout = Layout.of(pieces)
    delayed = dask.delayed
    with client.as_current():
        prepared = client.persist([delayed(prepare_piece, pure=True)(p, layout, date_order, storage) for p in pieces])
        reports, stats = client.compute(
            ([delayed(_second)(p) for p in prepared], [delayed(_third)(p) for p in prepared]), sync=True
        )
        report = merge_reports(reports)
        if strict and any(reason != REASON_REPEAT for reason in report.drop_counts):
            raise strict_error(report)
        if report.rows_used == 0:
            raise BadValueError(
                f"no usable rows in {', '.join(f.path for f in report.files)}",
                hint="check the column mapping with `crmkit inspect FILE`",
            )
        dated = [s for s in stats if s.first is not None]
        first, last = min(s.first for s in dated), max(s.last for s in dated)
        as_of = pd.Timestamp(last).normalize() if options.as_of is None else pd.Timestamp(options.as_of).normalize()
        rows = sum(s.rows for s in stats)
        n_parts = partitions or max(math.ceil(rows / ROWS_PER_PARTITION), len(client.scheduler_info()["workers"]))
        bounds = divisions(stats, n_parts)
        ranged = [delayed(in_ranges)(p, bounds) for p in prepared]
        meta = client.compute(delayed(_empty)(ranged[0]), sync=True)
        daily = dd.from_delayed(ranged, meta=meta, verify_meta=False)
        # The shuffle on customer id: every row to the partition of its id range (an integer, cheap to sort),
        # as tasks (at 10M rows on 2 cores twice as fast as the peer-to-peer shuffle; lost tasks are rerun).
        ranges = len(bounds) - 1
        by_customer = daily.set_index(RANGE, divisions=[*range(ranges), ranges - 1], shuffle_method="tasks")
        customers = client.persist(
            [delayed(customer_step)(part, as_of, options, layout) for part in by_customer.to_delayed()]
        )
        del prepared, ranged, daily, by_customer

        with_model = options.model is not None
        statistics = client.compute(
            _tree(
                [delayed(_statistics)(c, with_model and options.fitted is None) for c in customers], Statistics.merge
            ),
            sync=True,
        )
        report = merge_reports(_with_repeats(reports, statistics.repeats))
        if statistics.customers == 0:
            raise OptionError(f"no purchases on or before the as-of date {as_of:%Y-%m-%d}; choose a later as_of")
        globals_, fit, warnings = _globals(statistics, options)
        valued = client.persist([delayed(value_step)(c, globals_, options) for c in customers])
        histograms = client.persist([delayed(tier_histogram)(v, options.tier_by) for v in valued])
        tiers = client.compute(_tree(histograms, Histogram.merge), sync=True)
        [tiers_future, globals_future] = client.scatter([tiers, globals_], broadcast=True)
        before: list[Any] = [None]
        for histogram in histograms[:-1]:
            before.append(delayed(counts_before)(before[-1], histogram, tiers_future))
        writer = dataset.part_writer() if dataset is not None else None
        results = client.compute(
            [
                delayed(final_step)(
                    v,
                    c,
                    b,
                    tiers_future,
                    globals_future,
                    options,
                    writer,
                    number,
                    top,
                )
                for number, (v, c, b) in enumerate(zip(valued, customers, before))
            ],
            sync=True,
        )
    if dataset is not None:
        dataset.commit()
    figures = Figures.merge(r.figures for r in results)
    if fit is not None:
        fit = replace(fit, prospects=0)
    sharing = options.sharing
    summary = Summary(
        data=DataSummary(
            rows_read=report.rows_read,
            rows_used=report.rows_used,
            rows_dropped=report.rows_dropped,
            dropped_by_reason=dict(report.drop_counts),
            customers=figures.customers,
            prospects=0,
            first_date=date_text(first),
            last_date=date_text(last),
            as_of=date_text(as_of),
            rows_after_as_of=int(sum(s.rows_per_day[s.days > day_numbers(as_of)[0]].sum() for s in stats))
            - statistics.repeats.after_as_of,
            time_unit=options.time_unit,
        ),
        tiers=figures.tier_rows(),
        pareto=ParetoFigures.from_dict(pareto_from_histogram(tiers.clipped())),
        segments=figures.counts("segments", segment_order(options.rfm_scheme)),
        lifecycle=figures.counts("stages", STAGES),
        churn=figures.band_rows(),
        model=ModelSummary(fit, date_text(as_of)) if fit is not None else None,
        warnings=(*report.warnings, *warnings),
    )
    tops = pd.concat([frame for r in results for frame in (r.top_rank, r.top_clv)], ignore_index=True)
    shown = tops.drop_duplicates(CUSTOMER_ID).sort_values(CUSTOMER_ID, ignore_index=True)
    risky = pd.concat([r.at_risk for r in results], ignore_index=True)
    shown_report = sharing.transactions(TransactionData(pd.DataFrame(), pd.DataFrame(), report)).report
    result = ScoreResult(
        customers=shown,
        summary=summary,
        rfm_thresholds=_merge_thresholds([r.thresholds for r in results]),
        at_risk=churn.at_risk(risky, columns=None).head(top),
        data_quality=data_quality(shown_report),
        dataset=dataset.name if dataset is not None else None,
        at_risk_total=sum(r.at_risk_total for r in results),
        value_by_tier=figures.value_by_tier() if fit is not None else (),
    )
    return result, shown_report


def _with_repeats(reports: list[PieceReport], repeats: Repeats) -> list[PieceReport]:
    """The piece reports with the lines found repeated across pieces: counted, and the first as examples."""
    reports = [replace(r, drop_counts=dict(r.drop_counts), examples=list(r.examples)) for r in reports]
    by_piece = {r.piece.index: r for r in reports}
    for example in repeats.examples:
        by_piece[example["piece"]].examples.append({k: v for k, v in example.items() if k != "piece"})
    if repeats.count:
        counts = by_piece[repeats.examples[0]["piece"]].drop_counts
        counts[REASON_REPEAT] = counts.get(REASON_REPEAT, 0) + repeats.count
    return reports


def _globals(statistics: Statistics, options: ScoreOptions) -> tuple[Globals, ValueFit | None, list[str]]:
    """The global steps on the client: score cut-offs, means, the value models, the median gap."""
    rules = options.lifecycle
    if rules.new_customer_cycle_days is None:
        gaps = statistics.gaps
        rules = replace(rules, new_customer_cycle_days=gaps.median() if gaps.n else rules.window_days)
    overall = overall_margin_share(statistics.margin) if statistics.margin is not None else None
    fitted, fit, warnings = None, None, []
    if options.model is not None:
        try:
            fitted = options.fitted or _fit(statistics, options.model, options.time_unit)
            units = parse_horizon(options.horizon, options.time_unit)
            margin = options.margin if options.margin is not None else (None if statistics.margin is not None else 1.0)
            fit = ValueFit(
                fitted.transactions,
                fitted.spend,
                options.time_unit,
                str(options.horizon),
                units,
                float(options.discount_rate),
                None if margin is None else float(margin),
            )
        except BadValueError as error:
            if options.model_required or options.tier_by == "clv":
                raise
            fitted = None
            warnings.append(
                f"value model skipped: {error.message}; churn risk comes from each "
                "customer's own rhythm and there is no CLV"
            )
    cuts = {score: histogram_cuts(statistics.inputs[score]) for score in RFM_INPUTS}
    return Globals(statistics.customers, cuts, statistics.means, fitted, overall, rules), fit, warnings


def _fit(statistics: Statistics, model: str, time_unit: str) -> FittedModels:
    triples, spend = statistics.triples, statistics.spend
    assert triples is not None and spend is not None
    transactions = fit_transaction_model_on(
        model, compress_counts(triples["x"], triples["t_x"], triples["T"], triples["weight"])
    )
    pairs = spend_data_from_pairs(
        spend["x"].to_numpy(np.float64), spend["total"].to_numpy(np.float64), spend["weight"].to_numpy(np.float64)
    )
    return FittedModels(transactions, fit_gamma_gamma_on(pairs, statistics.excluded), time_unit)


def _merge_thresholds(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The RFM score ranges of all partitions: smallest minimum, largest maximum, customers added."""
    frame = pd.concat(parts, ignore_index=True)
    order = {score: i for i, score in enumerate(RFM_INPUTS)}
    merged = frame.groupby(["score_name", "input", "score"], sort=False, as_index=False).agg(
        min=("min", "min"), max=("max", "max"), customers=("customers", "sum")
    )
    merged["_order"] = merged["score_name"].map(order)
    return merged.sort_values(["_order", "score"], ignore_index=True).drop(columns="_order")


def _tree(parts: list[Any], merge: Callable[[list[Any]], Any]) -> Any:
    """One delayed result merging ``parts`` FAN_IN at a time (no task holds more than FAN_IN parts)."""
    import dask

    parts = list(parts)
    while len(parts) > 1:
        parts = [dask.delayed(merge)(parts[i : i + FAN_IN]) for i in range(0, len(parts), FAN_IN)]
    return dask.delayed(merge)(parts)


def _statistics(parts: CustomerParts, with_model: bool) -> Statistics:
    return Statistics.of(parts[0], with_model, parts[3])


def _first(prepared: tuple) -> pd.DataFrame:
    return prepared[0]


def _second(prepared: tuple) -> PieceReport:
    return prepared[1]


def _third(prepared: tuple) -> PieceStats:
    return prepared[2]


def _empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:0]
