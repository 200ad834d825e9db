"""What a scoring run returns: the per-customer table and typed summaries, and their JSON form.

The terminal, the workbook and ``--format json`` are all built from these objects; nothing edits them after
the run. ``to_json`` gives canonical English keys, the same keys whatever the data (``model`` is ``null`` when
the value model was skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmkit.scoring.actions import ActionRules
from crmkit.scoring.compare import Comparison
from crmkit.scoring.retention import WhatIf
from crmkit.scoring.value import ValueFit
from crmkit.version import __version__


@dataclass(frozen=True)
class DataSummary:
    """What was read and which period was scored."""

    rows_read: int
    rows_used: int
    rows_dropped: int
    dropped_by_reason: Mapping[str, int]
    customers: int
    prospects: int
    first_date: str | None
    last_date: str | None
    as_of: str | None
    rows_after_as_of: int
    time_unit: str
    #: Files a folder held that were not read, as {"path", "reason"}.
    skipped_files: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class TierRow:
    """Customers, revenue and shares of one value tier."""

    tier: str
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float
    average_value: float
    #: Total margin of the tier; None without a cost or margin column.
    profit: float | None = None


@dataclass(frozen=True)
class CurvePoint:
    """One point of the Pareto (Lorenz-style) curve: the top ``customer_share`` make ``value_share`` of value."""

    customer_share: float
    value_share: float


@dataclass(frozen=True)
class ParetoFigures:
    """80/20 concentration of value among buying customers."""

    top20_revenue_share: float | None
    customers_for_80pct: int | None
    customers_for_80pct_share: float | None
    gini: float | None
    curve: tuple[CurvePoint, ...] = ()

    @classmethod
    def from_dict(cls, figures: Mapping[str, Any]) -> ParetoFigures:
        curve = tuple(CurvePoint(**point) for point in figures.get("curve", ()))
        return cls(
            figures.get("top20_revenue_share"),
            figures.get("customers_for_80pct"),
            figures.get("customers_for_80pct_share"),
            figures.get("gini"),
            curve,
        )


@dataclass(frozen=True)
class GroupCount:
    """Customers and revenue of one RFM segment or lifecycle stage (``name`` is its canonical key)."""

    name: str
    customers: int
    revenue: float


@dataclass(frozen=True)
class BandRow:
    """Customers and value at risk of one churn-risk band."""

    band: str
    customers: int
    value_at_risk: float


@dataclass(frozen=True)
class DeliveredRow:
    """Average delivered-value components of one tier or stage (``group`` is its canonical key), over the
    ``customers`` whose components are all known."""

    group: str
    customers: int
    averages: Mapping[str, float]


@dataclass(frozen=True)
class DeliveredSummary:
    """Kotler's customer delivered value, averaged by tier and by lifecycle stage."""

    by_tier: tuple[DeliveredRow, ...]
    by_stage: tuple[DeliveredRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "by_tier": [{"tier": r.group, "customers": r.customers, **r.averages} for r in self.by_tier],
            "by_stage": [{"stage": r.group, "customers": r.customers, **r.averages} for r in self.by_stage],
        }


@dataclass(frozen=True)
class ModelSummary:
    """The fitted value models with the as-of date they describe."""

    fit: ValueFit
    as_of: str | None

    def to_json(self) -> dict[str, Any]:
        """The fit as ``--model-out`` saves it (and ``crmkit.load_model`` reads it back)."""
        return {
            "model": self.fit.model.name,
            "time_unit": self.fit.time_unit,
            "as_of": self.as_of,
            "crmkit_version": __version__,
            **self.fit.to_dict(),
        }


@dataclass(frozen=True)
class RetentionPeriod:
    """One period of the retention table (definitions in :mod:`crmkit.scoring.retention`); rates are None where
    nobody was active in the previous period (or, for the repeat-purchase rate, in this one)."""

    period: str
    complete: bool
    active: int
    new: int
    returning: int
    reactivated: int
    lost: int
    churn_rate: float | None
    retention_rate: float | None
    repeat_purchase_rate: float | None
    revenue: float
    revenue_new: float
    revenue_returning: float
    revenue_reactivated: float
    net_revenue_retention: float | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any] | pd.Series) -> RetentionPeriod:
        """From a row of the scorer's period table: numpy scalars as Python numbers, NaN as None."""
        return cls(**{name: _plain(row[name]) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RetentionSummary:
    """The segment summary's retention figures: the latest complete period, and the later period still running
    at the as-of date (None when the as-of date closes a period)."""

    period_type: str
    latest: RetentionPeriod
    partial_period: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"period_type": self.period_type, **asdict(self.latest), "partial_period": self.partial_period}


@dataclass(frozen=True)
class Cohort:
    """Customers whose first purchase fell in one period, and what share of them (and of their first period's
    revenue) was active in each period since: ``retained[k]`` is the share active k periods later."""

    cohort: str
    customers: int
    revenue: float
    retained: tuple[float | None, ...]
    revenue_retained: tuple[float | None, ...]


@dataclass(frozen=True)
class RetentionReport:
    """What ``crmkit retention`` reports: the period table, the cohorts, the what-if and the per-group table."""

    data: DataSummary
    period: str
    periods: tuple[RetentionPeriod, ...]
    cohorts: tuple[Cohort, ...]
    what_if: WhatIf | None
    #: All cohorts pooled (``cohort`` = "all"): the share of customers, and of first-period revenue, still
    #: active k periods after the first purchase, over the cohorts observed that long.
    curve: Cohort | None = None
    warnings: tuple[str, ...] = ()
    #: One row per group and period (the group column first), with ``group_by``.
    groups: pd.DataFrame | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The report as ``crmkit retention --format json`` prints it."""
        payload: dict[str, Any] = {
            "data": asdict(self.data),
            "period_type": self.period,
            "periods": [asdict(row) for row in self.periods],
            "cohorts": [asdict(cohort) for cohort in self.cohorts],
            "retention_curve": asdict(self.curve) if self.curve is not None else None,
            "what_if": what_if_json(self.what_if),
            "warnings": list(self.warnings),
        }
        if self.groups is not None:
            payload["groups"] = self.groups.to_dict(orient="records")
        return payload

    def table(self) -> pd.DataFrame:
        """The period table as ``--out`` writes it (one row per group and period with ``group_by``)."""
        if self.groups is not None:
            return self.groups
        return pd.DataFrame([asdict(row) for row in self.periods], columns=list(RetentionPeriod.__dataclass_fields__))


def what_if_json(scenario: WhatIf | None) -> dict[str, Any] | None:
    """The what-if's figures, the relative increase and the formula they come from."""
    if scenario is None:
        return None
    return {**asdict(scenario), "increase": scenario.increase, "formula": scenario.formula()}


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


@dataclass(frozen=True)
class BasketSummary:
    """What the market-basket run found: the baskets, the thresholds, how many itemsets and rules, the
    strongest rules, and how many customers got an offer or are up-sell candidates."""

    basket_by: str
    item_level: str
    baskets: int
    items: int
    lines_used: int
    lines_without_item: int
    min_support: float
    min_count: int
    min_confidence: float
    min_lift: float
    max_len: int | None
    itemsets: int
    rules: int
    #: The strongest rules (highest lift first) as records of the rule table.
    top_rules: tuple[Mapping[str, Any], ...]
    customers_with_offers: int
    upsell_below: float
    upsell_customers: int

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["top_rules"] = [dict(rule) for rule in self.top_rules]
        return payload


@dataclass(frozen=True)
class BasketResult:
    """Market baskets and cross-selling: the summary, every rule and frequent itemset, the per-customer
    cross-sell list (breadth and next-best offers) and the up-sell list."""

    summary: BasketSummary
    rules: pd.DataFrame
    itemsets: pd.DataFrame
    #: Every buying customer of the chosen tiers, most valuable first: breadth and next-best offers.
    cross_sell: pd.DataFrame
    upsell: pd.DataFrame

    def call_list(self) -> pd.DataFrame:
        """The cross-sell list's customers with at least one offer, most valuable first."""
        return self.cross_sell[self.cross_sell["offer_1"].notna()]

    def to_json(self, top: int) -> dict[str, Any]:
        """What ``crmkit basket --format json`` prints: the summary, the ``top`` strongest rules, the first
        ``top`` customers of the call list and of the up-sell list."""
        return {
            "basket": self.summary.to_json(),
            "rules": self.rules.head(top).to_dict(orient="records"),
            "cross_sell": self.call_list().head(top).to_dict(orient="records"),
            "upsell": self.upsell.head(top).to_dict(orient="records"),
        }


@dataclass(frozen=True)
class Summary:
    """Everything a manager reads about one scoring run."""

    data: DataSummary
    tiers: tuple[TierRow, ...]
    pareto: ParetoFigures
    segments: tuple[GroupCount, ...]
    lifecycle: tuple[GroupCount, ...]
    churn: tuple[BandRow, ...]
    model: ModelSummary | None
    warnings: tuple[str, ...] = ()
    groups: pd.DataFrame | None = field(default=None, compare=False)
    #: What ranked the tiers: revenue, profit (the default when there is a cost or margin column) or clv.
    tier_by: str = "revenue"
    #: Customers and revenue per next action.
    actions: tuple[GroupCount, ...] = ()
    #: Delivered value by tier and stage; None without the components in the customer master.
    delivered: DeliveredSummary | None = None
    #: Retention in the latest complete period (None when the data do not cover one after another).
    retention: RetentionSummary | None = None
    #: Market baskets, when the transactions have the item column (None otherwise).
    basket: BasketSummary | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary as ``crmkit segment --format json`` prints it."""
        payload: dict[str, Any] = {
            "data": asdict(self.data),
            "tier_by": self.tier_by,
            "tiers": [asdict(row) for row in self.tiers],
            "pareto": asdict(self.pareto),
            "segments": [{"segment": g.name, "customers": g.customers, "revenue": g.revenue} for g in self.segments],
            "lifecycle": [{"stage": g.name, "customers": g.customers, "revenue": g.revenue} for g in self.lifecycle],
            "churn": [asdict(row) for row in self.churn],
            "next_actions": [{"action": g.name, "customers": g.customers, "revenue": g.revenue} for g in self.actions],
            "delivered_value": self.delivered.to_json() if self.delivered is not None else None,
            "model": self.model.to_json() if self.model is not None else None,
            "retention": self.retention.to_json() if self.retention is not None else None,
            "basket": self.basket.to_json() if self.basket is not None else None,
            "warnings": list(self.warnings),
        }
        payload["groups"] = self.groups.to_dict(orient="records") if self.groups is not None else None
        return payload


@dataclass(frozen=True)
class ScoreResult:
    """One scoring run: every customer scored, the summary, and the lists the outputs show."""

    #: One row per customer (prospects included), canonical columns, sorted by ``customer_id``.
    customers: pd.DataFrame
    summary: Summary
    #: The value range behind each RFM score (``--explain``).
    rfm_thresholds: pd.DataFrame
    #: Customers at medium or high churn risk, most value at risk first (``crmkit churn``, the At risk sheet).
    at_risk: pd.DataFrame
    #: What was read, dropped and why, as (item, detail, value) rows (the workbook's Data quality sheet).
    data_quality: pd.DataFrame
    #: Platinum and gold customers in decline or termination, the most historic profit first.
    lost_key_accounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The next-action rules the run used (the workbook's Definitions sheet prints them).
    action_rules: ActionRules = field(default_factory=ActionRules)
    #: Market baskets and cross-selling (None without an item column).
    basket: BasketResult | None = None
    #: Set when the customers were scored in partitions (``--engine dask``): ``customers``, ``at_risk`` and
    #: ``lost_key_accounts`` then hold the top customers the outputs list, the whole table went to the Parquet
    #: dataset ``dataset`` (when asked for), and these carry what the lists cannot: how many are at risk and
    #: how many key accounts are being lost, and the value per tier.
    dataset: str | None = None
    at_risk_total: int | None = None
    lost_key_accounts_total: int | None = None
    value_by_tier: tuple[TierValue, ...] | None = None

    @property
    def in_partitions(self) -> bool:
        """Whether the customers were scored in partitions: ``customers`` then holds the top customers only."""
        return self.at_risk_total is not None

    @property
    def value_fit(self) -> ValueFit | None:
        return self.summary.model.fit if self.summary.model is not None else None


@dataclass(frozen=True)
class ComparisonReport:
    """``crmkit compare``: the migrations and lists, and what the two snapshots cannot tell (``warnings``)."""

    comparison: Comparison
    warnings: tuple[str, ...] = ()
    #: What was read and scored for each snapshot: (old, new).
    data: tuple[DataSummary, DataSummary] | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"old": asdict(self.data[0]), "new": asdict(self.data[1])} if self.data is not None else None
        return {"data": data, **self.comparison.to_json(), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class TierValue:
    """Historic and predicted value of one tier."""

    tier: str
    customers: int
    historic_value: float
    clv: float
    expected_purchases: float


@dataclass(frozen=True)
class ValueReport:
    """What ``crmkit value`` reports: the fit, value by tier, and the master-file columns delivered value
    still needs (None when it was computed)."""

    data: DataSummary
    model: ModelSummary | None
    value_by_tier: tuple[TierValue, ...]
    delivered_value_needs: tuple[str, ...] | None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "data": asdict(self.data),
            "model": self.model.to_json() if self.model is not None else None,
            "value_by_tier": [asdict(row) for row in self.value_by_tier],
            "delivered_value_note": None,
            "warnings": list(self.warnings),
        }
        if self.delivered_value_needs is not None:
            payload["delivered_value_note"] = (
                "customer delivered value needs these columns in the --customers file: "
                + ", ".join(self.delivered_value_needs)
            )
        return payload
