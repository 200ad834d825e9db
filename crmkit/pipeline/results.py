"""What a scoring run returns: the per-customer table and typed summaries, and their JSON form.

The terminal, the workbook and ``--format json`` are all built from these objects; nothing edits them after
the run. ``to_json`` gives canonical English keys, the same keys whatever the data (``model`` is ``null`` when
the value model was skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

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


@dataclass(frozen=True)
class TierRow:
    """Customers, revenue and shares of one value tier."""

    tier: str
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float
    average_value: float


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

    def to_json(self) -> dict[str, Any]:
        """The summary as ``crmkit segment --format json`` prints it."""
        payload: dict[str, Any] = {
            "data": asdict(self.data),
            "tiers": [asdict(row) for row in self.tiers],
            "pareto": asdict(self.pareto),
            "segments": [{"segment": g.name, "customers": g.customers, "revenue": g.revenue} for g in self.segments],
            "lifecycle": [{"stage": g.name, "customers": g.customers, "revenue": g.revenue} for g in self.lifecycle],
            "churn": [asdict(row) for row in self.churn],
            "model": self.model.to_json() if self.model is not None else None,
            "warnings": list(self.warnings),
        }
        if self.groups is not None:
            payload["groups"] = self.groups.to_dict(orient="records")
        return payload


@dataclass(frozen=True)
class ScoreResult:
    """One scoring run: every customer scored, the summary, and the lists the outputs show."""

    #: One row per customer (prospects included), canonical columns, sorted by ``customer_id``.
    customers: pd.DataFrame
    summary: Summary
    #: The value range behind each RFM score (``--explain``).
    rfm_thresholds: pd.DataFrame
    #: Customers worth saving, most value at risk first (``crmkit churn``, the workbook's At risk sheet).
    at_risk: pd.DataFrame
    #: What was read, dropped and why, as (item, detail, value) rows (the workbook's Data quality sheet).
    data_quality: pd.DataFrame
    #: Set when the customers were scored in partitions (``--engine dask``): ``customers`` and ``at_risk`` then
    #: hold the top customers the outputs list, the whole table went to the Parquet dataset ``dataset`` (when
    #: asked for), and these carry what the lists cannot: the at-risk count and the value per tier.
    dataset: str | None = None
    at_risk_total: int | None = None
    value_by_tier: tuple[TierValue, ...] | None = None

    @property
    def value_fit(self) -> ValueFit | None:
        return self.summary.model.fit if self.summary.model is not None else None


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

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "data": asdict(self.data),
            "model": self.model.to_json() if self.model is not None else None,
            "value_by_tier": [asdict(row) for row in self.value_by_tier],
        }
        if self.delivered_value_needs is not None:
            payload["delivered_value_note"] = (
                "customer delivered value needs these columns in the --customers file: "
                + ", ".join(self.delivered_value_needs)
            )
        return payload
