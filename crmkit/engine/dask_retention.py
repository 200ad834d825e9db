"""``crmkit retention`` on the Dask engine: the pandas engine's retention report from tallies added up over
partitions.

The pieces are read and moved into customer-id ranges as for scoring (:mod:`crmkit.engine.dask_engine`). Each
partition then counts its own customers per period (:func:`crmkit.scoring.retention.retention_tally`: active,
new, returning, won back and lost customers, money in whole steps, the cohort matrices) and sums its margin and
revenue in whole steps; these are sums over customers, so the tallies of the partitions add up to the tally of
every customer exactly. Only the tallies come to the client, which builds the same period table, cohorts and
what-if as the pandas engine (:func:`crmkit.pipeline.run.report_of_tables`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from crmkit.engine.dask_engine import (
    FILE,
    RANGE,
    ROW_KEY,
    ROWS_PER_PARTITION,
    Layout,
    Repeats,
    _empty,
    _final_report,
    _read,
    _repeats,
    _repeats_of,
    _returns_only,
    _stats,
    _tree,
    divisions,
    in_ranges,
    repeated_lines,
)
from crmkit.engine.dask_rejects import RejectsFile
from crmkit.errors import OptionError
from crmkit.ingest.columns import canonical_name
from crmkit.ingest.pieces import Plan, ReadSettings
from crmkit.ingest.report import IngestReport, TransactionData
from crmkit.ingest.transactions import NOT_BAD, no_rows_error, strict_error
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.results import DataSummary, RetentionReport
from crmkit.pipeline.run import date_text, read_summary, report_of_tables
from crmkit.schema import AMOUNT, CUSTOMER_ID
from crmkit.scoring import retention
from crmkit.scoring.rollup import NO_GROUP
from crmkit.scoring.summary import day_numbers, latest_values


@dataclass
class RetentionParts:
    """What one partition sends up: its retention tally (None without rows), margin and revenue in whole steps
    (None without a margin or cost column), the customers with only returns and the lines found repeated."""

    tally: retention.RetentionTally | None
    margin: tuple[int, int] | None
    returns_only: pd.DataFrame
    repeats: Repeats
    #: With ``keep_repeated``: the lines found repeating lines of other pieces (for ``--rejects``).
    repeated: pd.DataFrame | None = None

    @classmethod
    def merge(cls, parts: Sequence[RetentionParts]) -> RetentionParts:
        margins = [p.margin for p in parts if p.margin is not None]
        return cls(
            add_tallies([p.tally for p in parts]),
            (sum(m for m, _ in margins), sum(r for _, r in margins)) if margins else None,
            pd.concat([p.returns_only for p in parts], ignore_index=True),
            Repeats.merge([p.repeats for p in parts]),
        )


def add_tallies(parts: Sequence[retention.RetentionTally | None]) -> retention.RetentionTally | None:
    """The tally of all the partitions' customers. Each partition names only the groups of its own customers:
    the tallies are first widened to every group, in the pandas engine's order (sorted, ``(none)`` last)."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    named = {name for p in present for name in p.group_names}
    names = sorted(named - {NO_GROUP}) + ([NO_GROUP] if NO_GROUP in named else [])
    widened = [_widened(p, names) for p in present]
    return sum(widened[1:], widened[0])


def _widened(tally: retention.RetentionTally, names: list[str]) -> retention.RetentionTally:
    """A tally with a column for each of ``names`` (zero for the groups it does not hold)."""
    if list(tally.group_names) == names:
        return tally
    where = [names.index(name) for name in tally.group_names]
    counts = {}
    for key, values in tally.counts.items():
        wide = np.zeros((values.shape[0], len(names)), dtype=values.dtype)
        wide[:, where] = values
        counts[key] = wide
    return replace(tally, group_names=tuple(names), counts=counts)


def retention_step(
    part: pd.DataFrame,
    as_of: pd.Timestamp,
    first_day: int,
    options: ScoreOptions,
    layout: Layout,
    group: str | None,
    keep_repeated: bool = False,
) -> RetentionParts:
    """One partition's tally, on its rows (lines repeated across pieces dropped first, and kept with
    ``keep_repeated``), with each customer in the group of their latest transaction up to the as-of date when
    ``group`` is given."""
    tx = part.reset_index(drop=True)
    codes, ids = pd.factorize(tx[CUSTOMER_ID], sort=True)
    tx[CUSTOMER_ID] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(ids, dtype="str")))
    first_file = np.full(len(ids), np.iinfo(np.int64).max)
    np.minimum.at(first_file, codes, tx[FILE].to_numpy())
    only = np.flatnonzero(np.bincount(codes[tx[AMOUNT].to_numpy() >= 0], minlength=len(ids)) == 0)
    returns_only = pd.DataFrame({CUSTOMER_ID: np.asarray(ids, dtype=object)[only], FILE: first_file[only]})
    repeats = Repeats()
    repeated_rows = None
    if layout.order_id:  # lines: drop those repeated from other pieces, then add up per customer and day
        tx = tx.sort_values(ROW_KEY, kind="stable", ignore_index=True)
        repeated = repeated_lines(tx, layout.line_columns)
        repeats = _repeats(tx, repeated, as_of)
        if keep_repeated:
            repeated_rows = tx.loc[repeated, [ROW_KEY, *layout.fields]].reset_index(drop=True)
        if repeated.any():
            tx = tx.loc[~repeated].reset_index(drop=True)
        tx = layout.daily(tx)
    if tx.empty:
        return RetentionParts(None, None, returns_only, repeats, repeated_rows)
    groups = latest_values(tx, [group], as_of=as_of) if group is not None else None
    tally = retention.retention_tally(
        tx, as_of=as_of, period=options.retention_period, first_day=first_day, groups=groups
    )
    margin = retention.margin_sums(tx, as_of=as_of) if layout.margin_from is not None else None
    return RetentionParts(tally, margin, returns_only, repeats, repeated_rows)


def group_column(options: ScoreOptions, layout: Layout) -> str | None:
    """The canonical column of ``options.group_by`` (a column of the transactions), refused as the pandas
    engine refuses it."""
    if options.group_by is None:
        return None
    name = canonical_name(options.group_by)
    if name not in layout.carried:
        raise OptionError(
            f"cannot group by {options.group_by!r}; choose one of {', '.join(layout.carried)}",
            hint="group by a column of the transactions (salesperson, region, channel)",
        )
    return name


def retention_pieces(
    plan: Plan,
    options: ScoreOptions,
    *,
    client: Any,
    settings: ReadSettings | None = None,
    partitions: int | None = None,
    strict: bool = False,
    rejects: RejectsFile | None = None,
) -> tuple[RetentionReport, IngestReport]:
    """The retention report of the pieces of ``plan`` counted on the cluster of ``client``, every dropped row
    written to ``rejects``, with the ingest report as it may be shown (ids pseudonymised as
    ``options.sharing`` says)."""
    import dask
    import dask.dataframe as dd

    retention.check_period(options.retention_period)
    settings = settings or ReadSettings()
    pieces = plan.pieces
    layout = Layout.of(pieces)
    group = group_column(options, layout)
    delayed = dask.delayed
    with client.as_current():
        prepared, reports, merged = _read(client, pieces, settings, layout, rejects is not None)
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
        first_day = int(day_numbers(pd.Timestamp(first))[0])
        if first_day > int(day_numbers(as_of)[0]):
            raise OptionError(f"no transactions on or before the as-of date {as_of:%Y-%m-%d}; choose a later as_of")
        rows = sum(s.rows for s in stats)
        n_parts = partitions or max(math.ceil(rows / ROWS_PER_PARTITION), len(client.scheduler_info()["workers"]))
        bounds = divisions(stats, n_parts)
        ranged = [delayed(in_ranges)(p, bounds) for p in prepared]
        meta = client.compute(delayed(_empty)(ranged[0]), sync=True)
        daily = dd.from_delayed(ranged, meta=meta, verify_meta=False)
        ranges = len(bounds) - 1
        by_customer = daily.set_index(RANGE, divisions=[*range(ranges), ranges - 1], shuffle_method="tasks")
        counted = client.persist(
            [
                delayed(retention_step)(part, as_of, first_day, options, layout, group, rejects is not None)
                for part in by_customer.to_delayed()
            ]
        )
        total = client.compute(_tree(counted, RetentionParts.merge), sync=True)
        in_pieces = client.compute([delayed(_repeats_of)(p) for p in prepared], sync=True)
        repeats = Repeats.merge([*in_pieces, total.repeats])
        notes = _returns_only(client, prepared, total.returns_only)
        if rejects is not None:
            rejects.write(client, prepared, counted, merged, layout, options.sharing.pseudonym_key)
        del prepared, ranged, daily, by_customer
    report = _final_report(reports, merged, repeats, notes, plan, settings.decimal)
    assert total.tally is not None  # some row is on or before the as-of date
    tables = retention.retention_tables(total.tally, group)
    read = read_summary(report)
    data = DataSummary(
        rows_read=read["rows_read"],
        rows_used=read["rows_used"],
        rows_dropped=read["rows_dropped"],
        dropped_by_reason=read["dropped_by_reason"],
        customers=int(tables.periods["new"].sum()),
        prospects=0,
        first_date=date_text(first),
        last_date=date_text(last),
        as_of=date_text(as_of),
        rows_after_as_of=int(sum(s.rows_per_day[s.days > day_numbers(as_of)[0]].sum() for s in stats))
        - repeats.after_as_of,
        time_unit=options.time_unit,
        skipped_files=tuple(read["skipped_files"]),
    )
    data_margin = retention.margin_share(total.margin) if options.margin is None else None
    shown = options.sharing.transactions(TransactionData(pd.DataFrame(), pd.DataFrame(), report)).report
    return report_of_tables(tables, data=data, options=options, data_margin=data_margin), shown
