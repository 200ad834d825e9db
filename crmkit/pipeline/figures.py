"""The summary's figures as sums that add up: per tier, segment, stage, churn band and next action.

:class:`Figures` of a customer table holds counts and exact totals only, so the figures of parts of the
customers add up to those of the whole (:meth:`Figures.merge`) to the last digit: money in whole steps, other
values (CLV, value at risk) as exact sums, correctly rounded when shown. The summary rows are built from
figures, so one table and many partitions give the same summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmkit.pipeline.results import BandRow, GroupCount, TierRow, TierValue
from crmkit.schema import CHURN_BANDS, TIERS
from crmkit.scoring.kernels import MONEY_STEPS, exact_sums

#: Per-tier sums behind the value report.
VALUE_SUMS = ("historic_value", "clv", "expected_purchases")


@dataclass
class Figures:
    """Counts and totals of a customer table (or of a part of one)."""

    customers: int = 0
    revenue_steps: int = 0
    #: Whether the table has total_margin (a cost or margin column): tiers then show their profit.
    margin: bool = False
    #: tier -> [customers, revenue steps, margin steps]
    tiers: dict[str, list[int]] = field(default_factory=dict)
    #: name -> [customers, revenue steps] for RFM segments, lifecycle stages and next actions.
    segments: dict[str, list[int]] = field(default_factory=dict)
    stages: dict[str, list[int]] = field(default_factory=dict)
    actions: dict[str, list[int]] = field(default_factory=dict)
    #: band -> [customers, value at risk]
    bands: dict[str, list[Any]] = field(default_factory=dict)
    #: tier -> [customers, historic value, CLV, expected purchases]
    values: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, table: pd.DataFrame, *, values: bool = False) -> Figures:
        """The figures of ``table``; with ``values``, also the value sums per tier (when it has CLV)."""
        steps = _steps(table["total_revenue"])
        margin = "total_margin" in table.columns
        figures = cls(len(table), int(steps.sum()), margin)
        if "tier" in table.columns:
            extra = _steps(table["total_margin"]) if margin else np.zeros(len(table), dtype=np.int64)
            figures.tiers = _by_group(table["tier"], steps, extra)
        for name, column in (("segments", "segment"), ("stages", "lifecycle_stage"), ("actions", "next_action")):
            if column in table.columns:
                setattr(figures, name, _by_group(table[column], steps))
        if "churn_band" in table.columns:
            band = _codes(table["churn_band"], CHURN_BANDS)
            risk = exact_sums(table["value_at_risk"].to_numpy(dtype=np.float64), band, len(CHURN_BANDS))
            counts = np.bincount(band[band >= 0], minlength=len(CHURN_BANDS))
            figures.bands = {b: [int(counts[i]), risk[i]] for i, b in enumerate(CHURN_BANDS)}
        if values and "tier" in table.columns and "clv" in table.columns:
            tier = _codes(table["tier"], TIERS)
            counts = np.bincount(tier[tier >= 0], minlength=len(TIERS))
            sums = [exact_sums(table[c].to_numpy(dtype=np.float64), tier, len(TIERS)) for c in VALUE_SUMS]
            figures.values = {t: [int(counts[i]), *(s[i] for s in sums)] for i, t in enumerate(TIERS)}
        return figures

    @classmethod
    def merge(cls, parts: Iterable[Figures]) -> Figures:
        """The figures of every part together."""
        total = cls()
        for part in parts:
            total.customers += part.customers
            total.revenue_steps += part.revenue_steps
            total.margin = total.margin or part.margin
            for name in ("tiers", "segments", "stages", "actions", "bands", "values"):
                _add(getattr(total, name), getattr(part, name))
        return total

    @property
    def prospects(self) -> int:
        """Customers of the master file who never bought."""
        return int(self.tiers.get("prospect", [0])[0])

    def tier_rows(self) -> tuple[TierRow, ...]:
        """Customers, revenue, shares and profit per tier, in canonical tier order (prospects last, when there
        are)."""
        total_revenue = self.revenue_steps / MONEY_STEPS
        rows = []
        for tier in TIERS:
            customers, steps, margin_steps = self.tiers.get(tier, [0, 0, 0])
            if tier == "prospect" and not customers:
                continue
            revenue = steps / MONEY_STEPS
            rows.append(
                TierRow(
                    tier=tier,
                    customers=customers,
                    customer_share=customers / self.customers if self.customers else 0.0,
                    revenue=revenue,
                    revenue_share=revenue / total_revenue if total_revenue else 0.0,
                    average_value=revenue / customers if customers else 0.0,
                    profit=margin_steps / MONEY_STEPS if self.margin else None,
                )
            )
        return tuple(rows)

    def band_rows(self) -> tuple[BandRow, ...]:
        """Customers and value at risk per churn band (buyers only)."""
        return tuple(
            BandRow(b, int(self.bands[b][0]), float(self.bands[b][1])) if b in self.bands else BandRow(b, 0, 0.0)
            for b in CHURN_BANDS
        )

    def counts(self, kind: str, order: tuple[str, ...]) -> tuple[GroupCount, ...]:
        """Customers and revenue per segment (``kind="segments"``), stage (``"stages"``) or next action
        (``"actions"``), in ``order``, skipping empty ones."""
        groups = getattr(self, kind)
        return tuple(
            GroupCount(name, groups[name][0], groups[name][1] / MONEY_STEPS)
            for name in order
            if groups.get(name, [0])[0]
        )

    def value_by_tier(self) -> tuple[TierValue, ...]:
        """Historic value, CLV and expected purchases per tier (tiers with customers)."""
        return tuple(
            TierValue(tier, int(self.values[tier][0]), *(float(total) for total in self.values[tier][1:]))
            for tier in TIERS
            if self.values.get(tier, [0])[0]
        )


def _steps(money: pd.Series) -> np.ndarray:
    """Money in whole steps, missing as 0."""
    return np.round(money.fillna(0).to_numpy(dtype=np.float64) * MONEY_STEPS).astype(np.int64)


def _by_group(labels: pd.Series, *sums: np.ndarray) -> dict[str, list[int]]:
    """Per label: customers, then the sum of each of ``sums`` (whole money steps)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):  # the vocabulary columns: codes already
        codes, names = labels.cat.codes.to_numpy().astype(np.int64), labels.cat.categories
    else:
        codes, names = pd.factorize(labels.astype(object), use_na_sentinel=True)
    present = codes >= 0
    customers = np.bincount(codes[present], minlength=len(names))
    money = [np.bincount(codes[present], weights=steps[present], minlength=len(names)) for steps in sums]
    return {str(name): [int(customers[i]), *(int(m[i]) for m in money)] for i, name in enumerate(names) if customers[i]}


def _codes(labels: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Positions of the labels in the vocabulary (−1 when missing)."""
    if isinstance(labels.dtype, pd.CategoricalDtype) and tuple(labels.cat.categories) == vocabulary:
        return labels.cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(labels.astype(object), categories=list(vocabulary)).codes.astype(np.int64)


def _add(total: dict[str, list], part: dict[str, list]) -> None:
    for name, numbers in part.items():
        if name not in total:
            total[name] = list(numbers)
        else:
            total[name] = [a + b for a, b in zip(total[name], numbers)]
