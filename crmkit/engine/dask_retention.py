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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from crmkit.engine.dask_engine import (
    Layout,
    Repeats,
    _final_report,
    _tree,
    gather_by_customer,
    partition_rows,
    pieces_data_summary,
    repeats_and_notes,
)
from crmkit.engine.dask_rejects import RejectsFile
from crmkit.errors import OptionError
from crmkit.ingest.columns import canonical_name
from crmkit.ingest.pieces import Plan, ReadSettings
from crmkit.ingest.report import IngestReport, TransactionData
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.results import RetentionReport
from crmkit.pipeline.run import report_of_tables
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
    rows = partition_rows(part, as_of, layout, keep_repeated)
    tx = rows.tx
    if tx.empty:
        return RetentionParts(None, None, rows.returns_only, rows.repeats, rows.repeated)
    groups = latest_values(tx, [group], as_of=as_of) if group is not None else None
    tally = retention.retention_tally(
        tx, as_of=as_of, period=options.retention_period, first_day=first_day, groups=groups
    )
    margin = retention.margin_sums(tx, as_of=as_of) if layout.margin_from is not None else None
    return RetentionParts(tally, margin, rows.returns_only, rows.repeats, rows.repeated)


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

    retention.check_period(options.retention_period)
    settings = settings or ReadSettings()
    pieces = plan.pieces
    layout = Layout.of(pieces)
    group = group_column(options, layout)
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
        if gather.first_day > int(day_numbers(as_of)[0]):
            raise OptionError(f"no transactions on or before the as-of date {as_of:%Y-%m-%d}; choose a later as_of")
        counted = client.persist(
            [
                delayed(retention_step)(rows, as_of, gather.first_day, options, layout, group, rejects is not None)
                for rows in gather.ranges
            ]
        )
        del gather
        total = client.compute(_tree(counted, RetentionParts.merge), sync=True)
        repeats, notes = repeats_and_notes(client, prepared, total.repeats, total.returns_only)
        if rejects is not None:
            rejects.write(client, prepared, counted, merged, layout, options.sharing.pseudonym_key)
        del prepared
    report = _final_report(reports, merged, repeats, notes, plan, settings.decimal)
    assert total.tally is not None  # some row is on or before the as-of date
    tables = retention.retention_tables(total.tally, group)
    data = pieces_data_summary(
        report,
        stats,
        (first, last, as_of),
        repeats,
        time_unit=options.time_unit,
        customers=int(tables.periods["new"].sum()),
    )
    data_margin = retention.margin_share(total.margin) if options.margin is None else None
    shown = options.sharing.transactions(TransactionData(pd.DataFrame(), pd.DataFrame(), report)).report
    return report_of_tables(tables, data=data, options=options, data_margin=data_margin), shown
