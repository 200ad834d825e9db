"""Per-group rollup (salesperson, region, channel, …): what each group holds, and what leaves with it.

One row per group of buying customers with their revenue, top-tier counts,
customers slipping away, value at risk and how much of the group's revenue
hangs on its five largest customers — the exposure if that salesperson leaves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID
from crmkit.scoring.kernels import ExactSum, exact_sums

NO_GROUP = "(none)"
#: Stages counted as at risk.
AT_RISK_STAGES = ("decline", "termination")
#: How many of a group's largest customers ``top5_share`` covers.
TOP_N = 5
#: Columns after the group column, in order.
ROLLUP_COLUMNS = ("customers", "revenue", "revenue_share", "platinum", "gold", "at_risk", "value_at_risk", "top5_share")


def groupable_columns(customers: pd.DataFrame) -> list[str]:
    """Columns a rollup can group by: labels and whole numbers, not ids, amounts or dates."""
    return [
        c
        for c in customers.columns
        if c != CUSTOMER_ID
        and not pd.api.types.is_float_dtype(customers[c])
        and not pd.api.types.is_datetime64_any_dtype(customers[c])
    ]


def rollup(customers: pd.DataFrame, by: str) -> pd.DataFrame:
    """Roll buying customers up by the ``by`` column; prospects are left out.

    Needs *tier, total_revenue, lifecycle_stage, value_at_risk*. Per group
    (a missing or blank value is the group ``"(none)"``): ``customers``,
    ``revenue`` (net of returns), ``revenue_share`` of all buyers' revenue,
    ``platinum`` and ``gold`` counts, ``at_risk`` (customers in decline or
    termination), ``value_at_risk`` (summed over all the group's customers) and
    ``top5_share`` (share of the group's revenue from its 5 largest customers,
    net returns counted as 0; missing when the group has no positive revenue).
    Sorted by revenue, largest first, then group name. Customers, revenue,
    platinum, gold, at_risk and value_at_risk add up to the whole table's totals.
    """
    return RollupParts.of(customers, by).table()


@dataclass(frozen=True)
class GroupSums:
    """One group's counts and money, as exact sums (so sums of parts add up to the sum of all)."""

    customers: int
    revenue: ExactSum
    platinum: int
    gold: int
    at_risk: int
    value_at_risk: ExactSum
    #: Revenue counting net returns as 0, and its TOP_N largest values, largest first.
    positive: ExactSum
    largest: tuple[float, ...]

    def __add__(self, other: GroupSums) -> GroupSums:
        return GroupSums(
            self.customers + other.customers,
            self.revenue + other.revenue,
            self.platinum + other.platinum,
            self.gold + other.gold,
            self.at_risk + other.at_risk,
            self.value_at_risk + other.value_at_risk,
            self.positive + other.positive,
            tuple(sorted((*self.largest, *other.largest), reverse=True)[:TOP_N]),
        )


@dataclass(frozen=True)
class RollupParts:
    """What :func:`rollup` sums per group, for some of the customers. The parts of customers split any way merge
    into the part of all of them exactly, so a rollup over partitions equals the rollup of the whole table."""

    by: str
    groups: dict[str, GroupSums]

    @classmethod
    def of(cls, customers: pd.DataFrame, by: str) -> RollupParts:
        """The sums of the buying customers of ``customers`` (see :func:`rollup`)."""
        usable = groupable_columns(customers)
        if by not in usable:
            raise OptionError(
                f"cannot group by {by!r}; choose one of {', '.join(usable)}",
                hint="group by a column of the customer table such as salesperson or region",
            )
        buyers = customers.loc[customers["tier"] != "prospect"]
        group = buyers[by].astype("str")
        group = group.where(group.notna() & (group.str.strip() != ""), NO_GROUP)
        codes, names = pd.factorize(group, sort=True)
        n = len(names)
        revenue = buyers["total_revenue"].fillna(0.0).to_numpy(dtype=np.float64)
        positive = np.maximum(revenue, 0.0)
        counts = [
            np.bincount(codes, weights=flags.to_numpy(dtype=np.float64), minlength=n).astype(np.int64)
            for flags in (
                buyers["tier"] == "platinum",
                buyers["tier"] == "gold",
                buyers["lifecycle_stage"].isin(AT_RISK_STAGES),
            )
        ]
        money = [
            exact_sums(values, codes, n)
            for values in (revenue, buyers["value_at_risk"].fillna(0.0).to_numpy(dtype=np.float64), positive)
        ]
        # Each group's largest revenues: the first TOP_N of its customers ordered by revenue, largest first.
        order = np.lexsort((-positive, codes))
        starts = np.searchsorted(codes[order], np.arange(n + 1))
        sizes = np.diff(starts)
        groups = {
            str(name): GroupSums(
                int(sizes[g]),
                money[0][g],
                int(counts[0][g]),
                int(counts[1][g]),
                int(counts[2][g]),
                money[1][g],
                money[2][g],
                tuple(float(v) for v in positive[order[starts[g] : starts[g] + min(TOP_N, int(sizes[g]))]]),
            )
            for g, name in enumerate(names)
        }
        return cls(by, groups)

    @classmethod
    def merge(cls, parts: Sequence[RollupParts]) -> RollupParts:
        """The sums of all the parts' customers (each customer in one part)."""
        groups: dict[str, GroupSums] = {}
        for part in parts:
            for name, sums in part.groups.items():
                groups[name] = groups[name] + sums if name in groups else sums
        return cls(parts[0].by, groups)

    def table(self) -> pd.DataFrame:
        """The rollup (see :func:`rollup`): correctly rounded sums, and shares as ratios of them."""
        names = sorted(self.groups)
        sums = [self.groups[name] for name in names]
        revenue = np.array([float(s.revenue) for s in sums], dtype=np.float64)
        total = float(sum((s.revenue for s in sums), ExactSum()))
        positive = np.array([float(s.positive) for s in sums], dtype=np.float64)
        top = np.array([math.fsum(s.largest) for s in sums], dtype=np.float64)
        out = pd.DataFrame(
            {
                self.by: pd.Series(names, dtype="str"),
                "customers": np.array([s.customers for s in sums], dtype=np.int64),
                "revenue": revenue,
                "revenue_share": revenue / total if total else 0.0,
                "platinum": np.array([s.platinum for s in sums], dtype=np.int64),
                "gold": np.array([s.gold for s in sums], dtype=np.int64),
                "at_risk": np.array([s.at_risk for s in sums], dtype=np.int64),
                "value_at_risk": np.array([float(s.value_at_risk) for s in sums], dtype=np.float64),
                "top5_share": np.divide(top, positive, out=np.full(len(names), np.nan), where=positive > 0),
            }
        )
        return out.sort_values(["revenue", self.by], ascending=[False, True], kind="stable", ignore_index=True)
