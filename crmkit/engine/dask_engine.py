"""The Dask engine: the pandas engine's scores, computed partition by partition on a cluster.

1. Each input piece (:mod:`crmkit.ingest.pieces`) is read and checked on a worker by the pandas engine's own
   reader; a file whose pieces do not read as the whole file does is read again whole. Without an order id
   the rows are added up per customer, day and sign (:func:`crmkit.scoring.summary.daily_rows`), so one giant
   customer stays a few thousand rows; with one, the distinct lines travel, since a line repeated in another
   file counts once.
2. The rows are moved into partitions by ranges of customer id (from samples of every piece's ids): each
   customer's rows in one partition, partitions in id order.
3. Per partition, the pandas engine's per-customer steps (summary, activity windows, latest attributes,
   first-return gaps, the retention tally).
4. The global steps from histograms and sums that the partitions send up, never their customers: RFM score
   cut-offs, cn8 means, model fits on counted unique (frequency, recency, T) rows and (frequency, spend) pairs,
   the median usual gap, the quantile of first-return gaps, the overall margin share, retention.
5. Per partition, RFM scores, segments and value predictions; then tier ranks from the histogram of the tier
   value, ties broken by customer id with the counts of equal values in earlier partitions (a chain of small
   tasks), lifecycle stages, churn and next actions. Each partition's customers are written by its worker as
   one file of the Parquet dataset; only counts, totals and the top customers come back.

Money is summed in whole steps and CLV and value at risk exactly, so every figure is independent of
partitioning and row order, and every per-customer column equals the pandas engine's to the last bit.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmkit.errors import BadValueError, OptionError
from crmkit.ingest.columns import canonical_name
from crmkit.ingest.pieces import (
    MergedReport,
    Piece,
    PieceReport,
    Plan,
    ReadSettings,
    merge_reports,
    read_piece,
    whole_files,
)
from crmkit.ingest.report import IngestReport, TransactionData
from crmkit.ingest.transactions import (
    EXAMPLES_PER_REASON,
    NOT_BAD,
    RETURNS_ONLY_EXAMPLES,
    no_rows_error,
    returns_only_note,
    strict_error,
)
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
    as_of_warning,
    attach,
    data_quality,
    date_text,
    insert_tiers,
    judge,
    read_summary,
    read_warnings,
    retention_summary,
    segment_order,
    tier_values,
    value_columns,
)
from crmkit.schema import (
    ACTIONS,
    AMOUNT,
    COST,
    CUSTOMER_ID,
    MARGIN,
    OPTIONAL_TRANSACTION_COLUMNS,
    ORDER_DATE,
    ORDER_ID,
    QUANTITY,
    REASON_REPEAT,
    REFUND,
    REQUIRED_TRANSACTION_COLUMNS,
    SOURCE_ROW,
    STAGES,
)
from crmkit.scoring import churn, lifecycle, retention
from crmkit.scoring.churn import AT_RISK_COLUMNS
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
from crmkit.scoring.rollup import RollupParts
from crmkit.scoring.summary import ROWS, customer_summary, daily_rows, day_numbers, latest_values
from crmkit.scoring.tiers import pareto_from_histogram, tiers_from_ranks
from crmkit.scoring.value import ValueFit, margin_steps, overall_margin_share, parse_horizon, score_value

if TYPE_CHECKING:
    from crmkit.engine.dask_rejects import RejectsFile

#: Customer-day rows per customer partition when the number of partitions is not given (and at least one
#: partition per worker thread).
ROWS_PER_PARTITION = 1_000_000
#: Sample of customer ids each piece sends for the partition boundaries.
ID_SAMPLE = 256
#: Most id ranges split in one step (Dask's task shuffle splits in stages of as many).
SPLIT_RANGES = 32
#: The column that numbers a row's id range in Dask's shuffle.
RANGE = "range"
#: Parts merged by one task in a tree reduction.
FAN_IN = 8
#: A line's key, ``piece index << PIECE_SHIFT | line in the piece``: the order of the lines in the input.
PIECE_SHIFT = 32
ROW_KEY = "row_key"
#: The input file of a row (its position among the inputs).
FILE = "file"
#: Two 64-bit hashes of the text of a line's other columns: with an order id, a line repeats another only when
#: those are equal too. 128 bits: two different lines share both with a chance of about 2**-128.
OTHER_HASHES = ("others_hash_1", "others_hash_2")
_HASH_KEYS = ("crmkit.lines.1st", "crmkit.lines.2nd")
#: Canonical columns ingest keeps (a refund is taken off the amount).
FRAME_COLUMNS = (*REQUIRED_TRANSACTION_COLUMNS, *(c for c in OPTIONAL_TRANSACTION_COLUMNS if c != REFUND))
#: What ``--out`` holds with this engine: every customer (segment, lifecycle), the value columns (value), or
#: the customers worth saving (churn).
WRITTEN = ("customers", "value", "at_risk")


# --- 1. pieces ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """The columns every piece's rows have, whatever columns its own file has.

    Without an order id, pieces send customer-day rows. With one, the pandas engine counts a line repeated
    anywhere in the files (every column equal, those crmkit does not use too) once, which needs every line:
    pieces then send their distinct lines with the hashes of their other columns, and the lines are added
    up per customer and day once they are gathered by customer.
    """

    fields: tuple[str, ...]
    carried: tuple[str, ...]
    order_id: bool
    margin_from: str | None  # MARGIN, COST or None, as the pandas engine picks over all files
    #: The other (unmapped) columns of every file, by name (lines compare them only with an order id).
    others: tuple[str, ...] = ()

    @classmethod
    def of(cls, pieces: Sequence[Piece]) -> Layout:
        files = {piece.file.path: piece.file for piece in pieces}.values()
        mapped = {c for file in files for c in file.mapping}
        margin_from = MARGIN if MARGIN in mapped else COST if COST in mapped else None
        fields = tuple(c for c in FRAME_COLUMNS if c in mapped)
        others: set[str] = set()
        for file in files:
            if file.layout is not None:  # CSV: Arrow's names of the columns
                used = {file.layout.names[file.layout.headers.index(h)] for h in file.mapping.values()}
                others.update(n for n in file.layout.names if n not in used)
            else:
                others.update(h for h in file.headers if h not in file.mapping.values())
        carried = tuple(c for c in CARRIED_ATTRIBUTES if c in mapped)
        order_id = ORDER_ID in mapped
        return cls(fields, carried, order_id, margin_from, tuple(sorted(others)) if order_id else ())

    @property
    def daily_columns(self) -> list[str]:
        """The columns :func:`daily_rows` needs."""
        columns = [CUSTOMER_ID, ORDER_DATE, AMOUNT, *([ORDER_ID] if self.order_id else []), *self.carried]
        return columns + ([self.margin_from] if self.margin_from is not None else [])

    @property
    def line_columns(self) -> list[str]:
        """What two lines are compared on: every field, and their other columns' hashes."""
        return [*self.fields, *(OTHER_HASHES if self.others else ())]

    def daily(self, tx: pd.DataFrame) -> pd.DataFrame:
        """Customer-day rows of canonical transactions."""
        return daily_rows(tx.reindex(columns=self.daily_columns), self.carried)

    def columns(self) -> dict[str, str]:
        """The columns and dtypes of the rows pieces send: the same in every piece (text as Arrow strings, which
        travel between processes as buffers, not one Python object a value)."""
        names = [*([*self.line_columns, ROW_KEY] if self.order_id else self.daily_columns), ROWS, FILE]
        kinds = {ORDER_DATE: "datetime64[ns]", AMOUNT: "float64", ROWS: "int64", FILE: "int64", ROW_KEY: "int64"}
        kinds.update({column: "float64" for column in (QUANTITY, COST, MARGIN)})
        kinds.update({column: "uint64" for column in OTHER_HASHES})
        return {name: kinds.get(name, "str") for name in dict.fromkeys(names)}


def repeated_lines(lines: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Lines (in input order) of an order that repeat an earlier line in every column."""
    has_order = lines[ORDER_ID].notna().to_numpy()
    return has_order & lines.duplicated(subset=list(columns), keep="first").to_numpy()


def other_hashes(text: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Two 64-bit hashes of each line's other columns as text (a column a file lacks counts as "\\x00", as in
    :func:`crmkit.ingest.orders.drop_repeated_lines`)."""
    frame = text.reindex(columns=list(names), fill_value="\x00")
    return {
        name: pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy()
        for name, key in zip(OTHER_HASHES, _HASH_KEYS)
    }


@dataclass(frozen=True)
class Repeats:
    """Repeated lines found: how many, how many after the as-of day, and the first as examples (``piece`` and
    ``row`` in the piece)."""

    count: int = 0
    after_as_of: int = 0
    examples: tuple[dict[str, Any], ...] = ()

    @classmethod
    def merge(cls, parts: Sequence[Repeats]) -> Repeats:
        examples = sorted((e for p in parts for e in p.examples), key=lambda e: (e["piece"], e["row"]))
        return cls(
            sum(p.count for p in parts), sum(p.after_as_of for p in parts), tuple(examples[:EXAMPLES_PER_REASON])
        )


def _repeats(lines: pd.DataFrame, repeated: np.ndarray, as_of: pd.Timestamp | None = None) -> Repeats:
    """The repeated lines among ``lines`` (in input order) as counts and the first examples."""
    if not repeated.any():
        return Repeats()
    keys = lines[ROW_KEY].to_numpy()[repeated]
    order_ids = lines[ORDER_ID].to_numpy()[repeated]
    after = 0 if as_of is None else int((day_numbers(lines.loc[repeated, ORDER_DATE]) > day_numbers(as_of)[0]).sum())
    first = np.argsort(keys, kind="stable")[:EXAMPLES_PER_REASON]
    examples = tuple(
        {
            "piece": int(keys[i] >> PIECE_SHIFT),
            "row": int(keys[i] & ((1 << PIECE_SHIFT) - 1)),
            "column": ORDER_ID,
            "value": str(order_ids[i]),
            "reason": REASON_REPEAT,
        }
        for i in first
    )
    return Repeats(int(repeated.sum()), after, examples)


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


@dataclass
class Prepared:
    """One piece read on a worker: its rows, report, statistics, each row's id code among the piece's sorted ids
    (which places the rows in id ranges), every id the piece holds (dropped rows' too) and its own repeats."""

    rows: pd.DataFrame
    report: PieceReport
    stats: PieceStats
    codes: np.ndarray
    categories: pd.Index
    ids: pd.Index
    repeats: Repeats = field(default_factory=Repeats)
    #: With ``keep_dropped``: the piece's dropped rows and the lines it repeats itself (:mod:`.dask_rejects`).
    dropped: pd.DataFrame | None = None
    repeated: pd.DataFrame | None = None


def prepare_piece(piece: Piece, settings: ReadSettings, layout: Layout, keep_dropped: bool = False) -> Prepared:
    """Read and check one piece, and add its transactions up per customer, day, order and sign (or, with an
    order id, keep its distinct lines); ``keep_dropped`` keeps the rows a rejects file lists."""
    read = read_piece(piece, settings, others=bool(layout.others))
    columns = layout.columns()
    if read.report.check is not None and read.report.check.depends:  # its file is read again whole
        empty = pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})
        stats = PieceStats(None, None, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, object), 0.0, 0)
        return Prepared(empty, read.report, stats, np.empty(0, np.int32), pd.Index([], dtype="str"), read.ids)
    frame = read.frame
    repeats = Repeats()
    repeated_rows = None
    if layout.order_id:
        lines = frame.reindex(columns=list(layout.fields))
        if layout.others:
            assert read.others is not None
            lines = lines.assign(**other_hashes(read.others, layout.others))
        lines[ROW_KEY] = (np.int64(piece.index) << PIECE_SHIFT) | frame[SOURCE_ROW].to_numpy(dtype=np.int64)
        repeated = repeated_lines(lines, layout.line_columns)
        repeats = _repeats(lines, repeated)
        if keep_dropped:
            repeated_rows = lines.loc[repeated, [ROW_KEY, *layout.fields]].reset_index(drop=True)
        rows = lines.loc[~repeated].reset_index(drop=True).assign(**{ROWS: 1})
    else:
        rows = layout.daily(frame)
    rows[FILE] = piece.file.index
    codes, categories = customer_codes(rows[CUSTOMER_ID])
    sample, weight = _id_sample(codes, categories)
    rows = _typed(rows, columns)
    days = day_numbers(rows[ORDER_DATE]) if len(rows) else np.empty(0, dtype=np.int64)
    day_values, day_codes = np.unique(days, return_inverse=True)
    stats = PieceStats(
        frame[ORDER_DATE].min() if len(frame) else None,
        frame[ORDER_DATE].max() if len(frame) else None,
        day_values,
        np.bincount(day_codes, weights=rows[ROWS].to_numpy(), minlength=len(day_values)).astype(np.int64),
        sample,
        weight,
        len(rows),
    )
    dropped = read.dropped if keep_dropped else None
    return Prepared(rows, read.report, stats, codes, categories, read.ids, repeats, dropped, repeated_rows)


def _typed(rows: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """The rows with the columns and dtypes every piece sends (text as Arrow strings, missing as missing)."""
    out = {}
    for name, kind in columns.items():
        values = rows[name] if name in rows.columns else pd.Series(np.nan, index=rows.index)
        out[name] = (
            _decoded(values)
            if isinstance(values.dtype, pd.CategoricalDtype)
            else values.astype(pd.api.types.pandas_dtype(kind))
        )
    return pd.DataFrame(out, index=rows.index)


def _decoded(values: pd.Series) -> pd.Series:
    """A categorical text column as Arrow strings, taken in Arrow (pandas goes through Python objects)."""
    codes = values.cat.codes.to_numpy()
    text = _arrow(values.cat.categories.astype("str")).take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(text, dtype="str"), index=values.index, name=values.name)


def _arrow(text: pd.Index | pd.Series) -> pa.Array:
    """Arrow strings as one array."""
    array = pa.array(text.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def sorted_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of text ids numbered in sorted id order, and the sorted distinct ids: as ``pd.factorize(ids,
    sort=True)``, hashed and sorted in Arrow (a third faster)."""
    encoded = pc.dictionary_encode(_arrow(ids.astype("str")))
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    position = np.empty(len(order), dtype=np.int32)
    position[order] = np.arange(len(order), dtype=np.int32)
    codes = position[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, pd.Index(pd.array(encoded.dictionary.take(order), dtype="str"))


def _id_sample(codes: np.ndarray, categories: pd.Index) -> tuple[np.ndarray, float]:
    """Evenly spaced ids of the rows in id order (sorted on integer codes), and rows per sampled id."""
    if not len(codes):
        return np.empty(0, dtype=object), 0.0
    ordered = np.sort(codes)
    picked = ordered[np.linspace(0, len(ordered) - 1, min(ID_SAMPLE, len(ordered))).astype(np.int64)]
    return categories.take(picked).to_numpy(dtype=object), len(ordered) / len(picked)


def range_numbers(prepared: Prepared, bounds: list[str]) -> np.ndarray:
    """The id range of each of a piece's rows: range i holds the ids from bounds[i] up to, not including,
    bounds[i + 1] (the last one its end too), found on the piece's sorted codes."""
    starts = [bisect.bisect_left(prepared.categories, bound) for bound in bounds[1:-1]]  # a few ids looked at
    return np.searchsorted(starts, prepared.codes, side="right").astype(np.int64)


def split_by_range(prepared: Prepared, bounds: list[str]) -> tuple[pd.DataFrame, ...]:
    """A piece's rows split by id range, each range's rows (in their order) a frame of their own."""
    ranges = range_numbers(prepared, bounds)
    order = np.argsort(ranges, kind="stable")
    edges = np.searchsorted(ranges[order], np.arange(len(bounds)))
    rows = prepared.rows
    return tuple(rows.take(order[edges[i] : edges[i + 1]]) for i in range(len(bounds) - 1))


def in_ranges(prepared: Prepared, bounds: list[str]) -> pd.DataFrame:
    """A piece's rows with the number of their id range, for Dask's shuffle."""
    return prepared.rows.assign(**{RANGE: range_numbers(prepared, bounds)})


def gathered(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One id range's rows from every piece, in piece order."""
    return pd.concat(parts, ignore_index=True)


def divisions(stats: Sequence[PieceStats], partitions: int) -> list[str]:
    """Customer-id boundaries of ``partitions`` ranges holding about as many customer-day rows each."""
    ids = np.concatenate([s.ids for s in stats]) if stats else np.empty(0, dtype=object)
    weights = np.concatenate([np.full(len(s.ids), s.id_weight) for s in stats]) if stats else np.empty(0)
    order = np.argsort(ids, kind="stable")
    ids, weights = ids[order], np.cumsum(weights[order])
    cuts = [
        ids[min(np.searchsorted(weights, weights[-1] * k / partitions), len(ids) - 1)] for k in range(1, partitions)
    ]
    return sorted({ids[0], *cuts, ids[-1]}) if len(set(ids)) > 1 else [ids[0], ids[0]]


# --- 3. per-customer steps ---------------------------------------------------------------------
@dataclass
class PartitionRows:
    """A partition's rows ready for the per-customer steps (ids as sorted categories, lines repeated across
    pieces dropped and the rest added up per customer and day), the customers with only returns (and the first
    input file of their rows), the lines found repeated (kept with ``keep_repeated``) and their count."""

    tx: pd.DataFrame
    returns_only: pd.DataFrame
    repeats: Repeats
    repeated: pd.DataFrame | None


def partition_rows(part: pd.DataFrame, as_of: pd.Timestamp, layout: Layout, keep_repeated: bool) -> PartitionRows:
    """The common first step of every per-customer step: see :class:`PartitionRows`."""
    tx = part.reset_index(drop=True)
    codes, ids = sorted_codes(tx[CUSTOMER_ID])  # once for every step after this one
    tx[CUSTOMER_ID] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(ids))
    first_file = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first_file, codes, tx[FILE].to_numpy())
    buys = np.bincount(codes[tx[AMOUNT].to_numpy() >= 0], minlength=len(ids))
    only = np.flatnonzero(buys == 0)
    returns_only = pd.DataFrame({CUSTOMER_ID: ids.take(only).to_numpy(dtype=object), FILE: first_file[only]})
    repeats = Repeats()
    repeated_rows = None
    if layout.order_id:  # lines: drop those repeated from other pieces, then add up per customer and day
        tx = tx.sort_values(ROW_KEY, kind="stable", ignore_index=True)  # "repeated" means after the first
        repeated = repeated_lines(tx, layout.line_columns)
        repeats = _repeats(tx, repeated, as_of)
        if keep_repeated:
            repeated_rows = tx.loc[repeated, [ROW_KEY, *layout.fields]].reset_index(drop=True)
        if repeated.any():
            tx = tx.loc[~repeated].reset_index(drop=True)
        tx = layout.daily(tx)
    return PartitionRows(tx, returns_only, repeats, repeated_rows)


@dataclass
class CustomerParts:
    """A partition's customers: summary, activity windows, latest attributes, first-return gaps, retention
    tally, the customers with only returns (and the first input file of their rows), lines found repeated."""

    summary: pd.DataFrame
    activity: pd.DataFrame
    latest: pd.DataFrame | None
    gaps: Histogram
    tally: retention.RetentionTally
    returns_only: pd.DataFrame
    repeats: Repeats
    #: With ``keep_repeated``: the lines found repeating lines of other pieces (:mod:`.dask_rejects`).
    repeated: pd.DataFrame | None = None


def customer_step(
    part: pd.DataFrame,
    as_of: pd.Timestamp,
    first_day: int,
    options: ScoreOptions,
    layout: Layout,
    keep_repeated: bool = False,
) -> CustomerParts:
    """One partition's per-customer steps, on its rows (lines repeated across pieces dropped first);
    ``keep_repeated`` keeps those lines for a rejects file."""
    rows = partition_rows(part, as_of, layout, keep_repeated)
    tx = rows.tx
    summary = customer_summary(tx, as_of=as_of, time_unit=options.time_unit)
    activity = lifecycle.activity_windows(tx, as_of=as_of, window_days=options.lifecycle.window_days)
    latest = latest_values(tx, list(layout.carried), as_of=as_of) if layout.carried else None
    gaps = Histogram.of_sorted(lifecycle.return_gaps(tx, as_of=as_of))
    tally = retention.retention_tally(
        tx, as_of=as_of, period=options.retention_period, first_day=first_day, latest_only=True
    )
    return CustomerParts(summary, activity, latest, gaps, tally, rows.returns_only, rows.repeats, rows.repeated)


@dataclass
class Statistics:
    """What the global steps need of a part of the customers; parts merge into the whole."""

    customers: int
    inputs: dict[str, Histogram]
    means: SegmentMeans
    own_gaps: Histogram
    return_gaps: Histogram
    triples: pd.DataFrame | None
    spend: pd.DataFrame | None
    excluded: int
    margin: tuple[int, int] | None
    tally: retention.RetentionTally
    returns_only: pd.DataFrame
    repeats: Repeats

    @classmethod
    def of(cls, parts: CustomerParts, with_model: bool) -> Statistics:
        summary = parts.summary
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
            parts.gaps,
            triples,
            spend,
            excluded,
            margin_steps(summary) if "total_margin" in summary.columns else None,
            parts.tally,
            parts.returns_only,
            parts.repeats,
        )

    @classmethod
    def merge(cls, parts: Sequence[Statistics]) -> Statistics:
        first = parts[0]
        return cls(
            sum(p.customers for p in parts),
            {score: Histogram.merge(p.inputs[score] for p in parts) for score in first.inputs},
            sum((p.means for p in parts[1:]), first.means),
            Histogram.merge(p.own_gaps for p in parts),
            Histogram.merge(p.return_gaps for p in parts),
            _add_counts([p.triples for p in parts], ["x", "t_x", "T"]),
            _add_counts([p.spend for p in parts], ["x", "total"]),
            sum(p.excluded for p in parts),
            _add_margins([p.margin for p in parts]),
            sum((p.tally for p in parts[1:]), first.tally),
            pd.concat([p.returns_only for p in parts], ignore_index=True),
            Repeats.merge([p.repeats for p in parts]),
        )


def _add_counts(frames: list[pd.DataFrame | None], keys: list[str]) -> pd.DataFrame | None:
    """Counted unique rows of several parts as counted unique rows of all, in ascending order of the keys."""
    present = [f for f in frames if f is not None]
    if not present:
        return None
    return pd.concat(present).groupby(keys, sort=True)["weight"].sum().reset_index()


def _add_margins(parts: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    """Margin and revenue steps of all parts (None when the data has no margin: then no part has one)."""
    present = [p for p in parts if p is not None]
    return (sum(m for m, _ in present), sum(r for _, r in present)) if present else None


@dataclass(frozen=True)
class Globals:
    """The global steps' results every partition scores with."""

    cuts: dict[str, list]
    means: SegmentMeans
    fitted: FittedModels | None
    overall_margin: float | None
    rules: lifecycle.LifecycleRules
    tier_by: str
    #: Whether P(alive) tells one-time buyers apart; if not, the first-return gaps of every customer.
    informative: bool
    return_gaps: Histogram | None


def value_step(parts: CustomerParts, g: Globals, options: ScoreOptions) -> pd.DataFrame:
    """RFM scores, segment and value predictions of one partition, as the pandas engine attaches them."""
    summary = parts.summary
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
    lost: pd.DataFrame
    lost_total: int
    #: With ``options.group_by``: the partition's sums per group.
    groups: RollupParts | None = None


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
    """Tiers, attributes, lifecycle stage, churn and next action of one partition; its customers written;
    figures back."""
    values = tier_values(table, g.tier_by)
    v = values.to_numpy(dtype=np.float64)
    at = np.searchsorted(tiers.values, v)
    at_or_below = np.cumsum(tiers.counts)
    greater = tiers.n - at_or_below[at]
    within = pd.Series(v).groupby(v, sort=False).cumcount().to_numpy()  # the partition is in id order
    rank = greater + (0 if before is None else before[at]) + within + 1
    table = insert_tiers(table, tiers_from_ranks(values, rank, options.tiers, tiers.clipped()))
    if parts.latest is not None:
        table = table.merge(parts.latest, on=CUSTOMER_ID, how="left")
    table = judge(table, parts.activity, options, informative=g.informative, return_gaps=g.return_gaps, rules=g.rules)
    groups = RollupParts.of(table, canonical_name(options.group_by)) if options.group_by else None
    shared = options.sharing.customers(table, ())
    ids = shared[CUSTOMER_ID]
    shared = shared.assign(
        **{CUSTOMER_ID: _decoded(ids) if isinstance(ids.dtype, pd.CategoricalDtype) else ids.astype("str")}
    )
    saving = churn.worth_saving(shared, min_tier=options.at_risk_min_tier).to_numpy()
    if write is not None:
        rows = {
            "customers": shared,
            "value": value_columns(shared),
            "at_risk": shared.loc[saving, [c for c in AT_RISK_COLUMNS if c in shared.columns]],
        }[write.rows]
        write(rows, number)
    lost = churn.lost_key_accounts(shared, min_tier=options.at_risk_min_tier, columns=churn.LIST_COLUMNS)
    return PartResult(
        Figures.of(table, values=True),
        score_thresholds(table, table),
        shared.nsmallest(top, "value_rank"),
        _largest(shared, "clv", top).sort_values(["clv", CUSTOMER_ID], ascending=[False, True]).head(top)
        if "clv" in shared.columns
        else shared.iloc[:0],
        churn.at_risk(
            _largest(shared.loc[saving], "value_at_risk", top),
            top=top,
            min_tier=options.at_risk_min_tier,
            columns=churn.LIST_COLUMNS,
        ),
        int(saving.sum()),
        lost.head(top),
        len(lost),
        groups,
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
def score_pieces(
    plan: Plan,
    options: ScoreOptions,
    *,
    client: Any,
    settings: ReadSettings | None = None,
    dataset: DatasetWriter | None = None,
    partitions: int | None = None,
    top: int = 10,
    strict: bool = False,
    written: str = "customers",
    rejects: RejectsFile | None = None,
) -> tuple[ScoreResult, IngestReport]:
    """Score the customers of the pieces of ``plan`` on the cluster of ``client``; the per-customer table goes to
    ``dataset`` (written by the workers: every customer, their value columns or those worth saving, as
    ``written`` says), every dropped row to ``rejects``, the summary and the top ``top`` customers come back,
    with the ingest report as it may be shown (ids pseudonymised as ``options.sharing`` says)."""
    import dask

    settings = settings or ReadSettings()
    pieces = plan.pieces
    layout = Layout.of(pieces)
    delayed = dask.delayed
    with client.as_current():
        gather = gather_by_customer(
            client,
            pieces,
            settings,
            layout,
            options,
            strict=strict,
            keep_dropped=rejects is not None,
            partitions=partitions,
        )
        prepared, reports, merged, as_of = gather.prepared, gather.reports, gather.merged, gather.as_of
        first, last, stats = gather.first, gather.last, gather.stats
        customers = client.persist(
            [
                delayed(customer_step)(rows, as_of, gather.first_day, options, layout, rejects is not None)
                for rows in gather.ranges
            ]
        )
        del gather

        with_model = options.model is not None and options.fitted is None
        statistics = client.compute(
            _tree([delayed(Statistics.of)(c, with_model) for c in customers], Statistics.merge), sync=True
        )
        if statistics.customers == 0:
            raise OptionError(f"no purchases on or before the as-of date {as_of:%Y-%m-%d}; choose a later as_of")
        repeats, notes = repeats_and_notes(client, prepared, statistics.repeats, statistics.returns_only)
        if rejects is not None:
            rejects.write(client, prepared, customers, merged, layout, options.sharing.pseudonym_key)
        del prepared
        globals_, fit, warnings = _globals(statistics, options, layout)
        valued = client.persist([delayed(value_step)(c, globals_, options) for c in customers])
        histograms = client.persist([delayed(tier_histogram)(v, globals_.tier_by) for v in valued])
        tiers = client.compute(_tree(histograms, Histogram.merge), sync=True)
        [tiers_future, globals_future] = client.scatter([tiers, globals_], broadcast=True)
        before: list[Any] = [None]
        for histogram in histograms[:-1]:
            before.append(delayed(counts_before)(before[-1], histogram, tiers_future))
        writer = dataset.part_writer(written) if dataset is not None else None
        results = client.compute(
            [
                delayed(final_step)(v, c, b, tiers_future, globals_future, options, writer, number, top)
                for number, (v, c, b) in enumerate(zip(valued, customers, before))
            ],
            sync=True,
        )
    if dataset is not None:
        dataset.commit()
    report = _final_report(reports, merged, repeats, notes, plan, settings.decimal)
    figures = Figures.merge(r.figures for r in results)
    if fit is not None:
        fit = replace(fit, prospects=0)
    sharing = options.sharing
    summary = Summary(
        data=pieces_data_summary(
            report, stats, (first, last, as_of), repeats, time_unit=options.time_unit, customers=figures.customers
        ),
        tiers=figures.tier_rows(),
        pareto=ParetoFigures.from_dict(pareto_from_histogram(tiers.clipped())),
        segments=figures.counts("segments", segment_order(options.rfm_scheme)),
        lifecycle=figures.counts("stages", STAGES),
        churn=figures.band_rows(),
        model=ModelSummary(fit, date_text(as_of)) if fit is not None else None,
        warnings=(
            *read_warnings(report),
            *as_of_warning(last, as_of),
            *warnings,
            *_basket_note(pieces, options),
        ),
        tier_by=globals_.tier_by,
        actions=figures.counts("actions", ACTIONS),
        retention=retention_summary(retention.retention_tables(statistics.tally)),
        groups=RollupParts.merge([r.groups for r in results if r.groups is not None]).table()
        if options.group_by
        else None,
    )
    tops = pd.concat([frame for r in results for frame in (r.top_rank, r.top_clv)], ignore_index=True)
    shown = tops.drop_duplicates(CUSTOMER_ID).sort_values(CUSTOMER_ID, ignore_index=True)
    risky = pd.concat([r.at_risk for r in results], ignore_index=True)
    lost = pd.concat([r.lost for r in results], ignore_index=True)
    shown_report = sharing.transactions(TransactionData(pd.DataFrame(), pd.DataFrame(), report)).report
    result = ScoreResult(
        customers=shown,
        summary=summary,
        rfm_thresholds=_merge_thresholds([r.thresholds for r in results]),
        at_risk=churn.at_risk(risky, top=top, columns=churn.LIST_COLUMNS),
        data_quality=data_quality(shown_report),
        lost_key_accounts=churn.lost_key_accounts(lost, columns=churn.LIST_COLUMNS).head(top),
        action_rules=options.actions,
        dataset=dataset.name if dataset is not None else None,
        at_risk_total=sum(r.at_risk_total for r in results),
        lost_key_accounts_total=sum(r.lost_total for r in results),
        value_by_tier=figures.value_by_tier() if fit is not None else (),
    )
    return result, shown_report


def by_range(client: Any, prepared: Sequence[Any], bounds: list[str]) -> list[Any]:
    """The shuffle on customer id: each range's rows from every piece, as one delayed frame per range (lost
    tasks are rerun). Up to SPLIT_RANGES ranges, each piece splits its rows by range and each range gathers
    its part of every piece; with more, a piece's split would stay whole (and, beyond the memory limit, be
    read back from disk for every range) until every range has taken its part, so Dask's task shuffle moves
    the rows in stages instead (at 100M rows in 100 ranges, 4 times fewer CPU seconds)."""
    import dask

    delayed = dask.delayed
    ranges = len(bounds) - 1
    if ranges <= SPLIT_RANGES:
        split = [delayed(split_by_range, nout=ranges)(p, bounds) for p in prepared]
        return [delayed(gathered)([s[r] for s in split]) for r in range(ranges)]
    import dask.dataframe as dd

    numbered = [delayed(in_ranges)(p, bounds) for p in prepared]
    meta = client.compute(delayed(_empty)(numbered[0]), sync=True)
    rows = dd.from_delayed(numbered, meta=meta, verify_meta=False)
    by_customer = rows.set_index(RANGE, divisions=[*range(ranges), ranges - 1], shuffle_method="tasks")
    return list(by_customer.to_delayed())


@dataclass
class Gathered:
    """The pieces read (kept on the workers) and checked, their reports, the dates the run needs, and each
    customer-id range's rows gathered from every piece (delayed)."""

    prepared: list[Any]
    reports: list[PieceReport]
    merged: MergedReport
    stats: list[PieceStats]
    first: Any
    last: Any
    as_of: pd.Timestamp
    first_day: int
    ranges: list[Any]


def gather_by_customer(
    client: Any,
    pieces: Sequence[Piece],
    settings: ReadSettings,
    layout: Layout,
    options: ScoreOptions,
    *,
    strict: bool,
    keep_dropped: bool,
    partitions: int | None,
) -> Gathered:
    """Read every piece on the workers, refuse as the pandas engine refuses (``strict``, no usable row), and
    move the rows so that each customer's rows sit in one id range (:func:`by_range`)."""
    import dask

    delayed = dask.delayed
    prepared, reports, merged = _read(client, pieces, settings, layout, keep_dropped)
    report = merged.report
    assert report is not None
    stats = client.compute([delayed(_stats)(p) for p in prepared], sync=True)
    if strict and any(reason not in NOT_BAD for reason in report.drop_counts):
        raise strict_error(report)
    if report.rows_used == 0:
        raise no_rows_error(report)
    dated = [s for s in stats if s.first is not None]
    first, last = min(s.first for s in dated), max(s.last for s in dated)
    as_of = pd.Timestamp(last).normalize() if options.as_of is None else pd.Timestamp(options.as_of).normalize()
    rows = sum(s.rows for s in stats)
    n_parts = partitions or max(math.ceil(rows / ROWS_PER_PARTITION), sum(client.nthreads().values()))
    bounds = divisions(stats, n_parts)
    first_day = int(day_numbers(pd.Timestamp(first))[0])
    return Gathered(prepared, reports, merged, stats, first, last, as_of, first_day, by_range(client, prepared, bounds))


def pieces_data_summary(
    report: IngestReport,
    stats: Sequence[PieceStats],
    dates: tuple[Any, Any, pd.Timestamp],
    repeats: Repeats,
    *,
    time_unit: str,
    customers: int,
) -> DataSummary:
    """The data section of a run over pieces: the rows as the report counts them, the first and last date and
    the as-of date, and the rows after the as-of date (repeated lines counted once)."""
    first, last, as_of = dates
    read = read_summary(report)
    return DataSummary(
        rows_read=read["rows_read"],
        rows_used=read["rows_used"],
        rows_dropped=read["rows_dropped"],
        dropped_by_reason=read["dropped_by_reason"],
        customers=customers,
        prospects=0,
        first_date=date_text(first),
        last_date=date_text(last),
        as_of=date_text(as_of),
        rows_after_as_of=int(sum(s.rows_per_day[s.days > day_numbers(as_of)[0]].sum() for s in stats))
        - repeats.after_as_of,
        time_unit=time_unit,
        skipped_files=tuple(read["skipped_files"]),
    )


def _read(
    client: Any, pieces: Sequence[Piece], settings: ReadSettings, layout: Layout, keep_dropped: bool = False
) -> tuple[list[Any], list[PieceReport], MergedReport]:
    """Every piece read on the workers, their reports and the report of all; files whose pieces cannot stand
    for one read of the file are read again whole. ``keep_dropped``: see :func:`prepare_piece`."""
    import dask

    delayed = dask.delayed
    prepared = client.persist([delayed(prepare_piece, pure=True)(p, settings, layout, keep_dropped) for p in pieces])
    reports = client.compute([delayed(_report_of)(p) for p in prepared], sync=True)
    merged = merge_reports(reports, decimal=settings.decimal)
    if merged.reread:
        kept = [(p, r) for p, r in zip(prepared, reports) if r.piece.file.path not in merged.reread]
        again = client.persist(
            [
                delayed(prepare_piece, pure=True)(p, settings, layout, keep_dropped)
                for p in whole_files(pieces, merged.reread)
            ]
        )
        read_again = client.compute([delayed(_report_of)(p) for p in again], sync=True)
        ordered = sorted([*kept, *zip(again, read_again)], key=lambda item: item[1].piece.index)
        prepared, reports = [p for p, _ in ordered], [r for _, r in ordered]
        merged = merge_reports(reports, decimal=settings.decimal)
    return prepared, reports, merged


def _final_report(
    reports: Sequence[PieceReport],
    merged: MergedReport,
    repeats: Repeats,
    notes: list[str],
    plan: Plan,
    decimal: str | None,
) -> IngestReport:
    """The ingest report with the repeated lines found once the rows were gathered (their examples at their
    lines in their files), the notes about customers and what the input folders held that was not read."""
    files = {r.piece.index: r.piece.file.path for r in reports}
    examples = [
        {
            "file": files[e["piece"]],
            **{k: v for k, v in e.items() if k != "piece"},
            "row": e["row"] + merged.line_offsets[e["piece"]],
        }
        for e in repeats.examples
    ]
    final = merge_reports(
        reports,
        decimal=decimal,
        extra_counts={REASON_REPEAT: repeats.count} if repeats.count else None,
        extra_examples=examples,
        extra_warnings=notes,
    ).report
    assert final is not None
    return replace(final, skipped=tuple(plan.skipped))


def repeats_and_notes(
    client: Any, prepared: Sequence[Any], found: Repeats, returns_only: pd.DataFrame
) -> tuple[Repeats, list[str]]:
    """The lines repeated within pieces (counted where they were read) and across them (``found`` once the
    rows were gathered), and the note naming the customers with only returns."""
    import dask

    in_pieces = client.compute([dask.delayed(_repeats_of)(p) for p in prepared], sync=True)
    return Repeats.merge([*in_pieces, found]), _returns_only(client, prepared, returns_only)


def _returns_only(client: Any, prepared: Sequence[Any], candidates: pd.DataFrame) -> list[str]:
    """The note on customers whose only lines are returns, naming the first as the pandas engine orders its ids:
    by the first input file holding the id on any line (dropped ones too), then by id."""
    import dask

    if candidates.empty:
        return []
    ids = candidates[CUSTOMER_ID].to_numpy(dtype=object)
    found = client.compute([dask.delayed(_first_file)(p, ids) for p in prepared], sync=True)
    order = pd.DataFrame({"file": np.minimum.reduce(found), CUSTOMER_ID: ids}).sort_values(["file", CUSTOMER_ID])
    return returns_only_note(len(ids), order[CUSTOMER_ID].head(RETURNS_ONLY_EXAMPLES))


def _first_file(prepared: Prepared, ids: np.ndarray) -> np.ndarray:
    """The piece's file for the ``ids`` it holds on any line, else the largest number."""
    holds = pd.Index(prepared.ids).isin(ids)
    present = pd.Index(ids).isin(prepared.ids[holds])
    return np.where(present, prepared.report.piece.file.index, np.iinfo(np.int64).max)


def _basket_note(pieces: Sequence[Piece], options: ScoreOptions) -> list[str]:
    """Market baskets are not mined by this engine: say so when the transactions have the item column."""
    basket = options.basket
    if basket is None or not any(basket.item_level in piece.file.mapping for piece in pieces):
        return []
    return ["cross-selling skipped: market baskets are not computed with --engine dask; use --engine pandas"]


def _globals(
    statistics: Statistics, options: ScoreOptions, layout: Layout
) -> tuple[Globals, ValueFit | None, list[str]]:
    """The global steps on the client: score cut-offs, means, the value models, the usual and return gaps."""
    rules = options.lifecycle
    if rules.new_customer_cycle_days is None:
        gaps = statistics.own_gaps
        rules = replace(rules, new_customer_cycle_days=gaps.median() if gaps.n else rules.window_days)
    overall = overall_margin_share(statistics.margin) if statistics.margin is not None else None
    # Key accounts are the customers who bring profit: tiers by profit whenever there is a cost or margin.
    tier_by = options.tier_by or ("profit" if layout.margin_from is not None else "revenue")
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
            if options.model_required or tier_by == "clv":
                raise
            fitted = None
            warnings.append(
                f"value model skipped: {error.message}; churn risk comes from each "
                "customer's own rhythm and there is no CLV"
            )
    informative = fit is not None and fit.model.informs_one_time_buyers
    cuts = {score: histogram_cuts(statistics.inputs[score]) for score in RFM_INPUTS}
    return (
        Globals(
            cuts,
            statistics.means,
            fitted,
            overall,
            rules,
            tier_by,
            informative,
            None if informative else statistics.return_gaps,
        ),
        fit,
        warnings,
    )


def _fit(statistics: Statistics, model: str, time_unit: str) -> FittedModels:
    triples, spend = statistics.triples, statistics.spend
    assert triples is not None and spend is not None
    transactions = fit_transaction_model_on(
        model, compress_counts(*(triples[c].to_numpy() for c in ("x", "t_x", "T", "weight")))
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


def _empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[:0]


def _report_of(prepared: Prepared) -> PieceReport:
    return prepared.report


def _stats(prepared: Prepared) -> PieceStats:
    return prepared.stats


def _repeats_of(prepared: Prepared) -> Repeats:
    return prepared.repeats
