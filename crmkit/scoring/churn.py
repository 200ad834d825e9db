"""Churn risk, churn bands, the expected next purchase and the value at risk; the list of customers worth saving.

Churn is quiet: customers rarely say they are leaving, they just stop buying.
The risk therefore comes from silence measured against what we expect of the
customer — the purchase model's P(alive) when it ran, else the customer's own
rhythm (days since the last purchase against their usual gap, from
:func:`crmkit.lifecycle.assign_stages`). Value at risk ranks who to call first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import (
    CHURN_BANDS,
    CUSTOMER_ID,
    NAME,
    SALESPERSON,
    TIERS,
    vocabulary_column,
)
from crmkit.settings import config_hint, with_config

#: Without a model, risk = x^k / (m^k + x^k) with x = days since last purchase ÷ usual gap:
#: about 0.11 when just due (x = 1), 0.30 at 1.5 × the gap, 0.5 at RHYTHM_MIDPOINT × the gap, 0.89 at 4 ×.
RHYTHM_MIDPOINT = 2.0
RHYTHM_STEEPNESS = 3.0
#: Columns of :func:`score_churn`.
CHURN_COLUMNS = (CUSTOMER_ID, "churn_risk", "churn_band", "expected_next_purchase", "value_at_risk")
#: Columns of :func:`at_risk` (salesperson and name only when the table has them).
AT_RISK_COLUMNS = (
    CUSTOMER_ID,
    "tier",
    "lifecycle_stage",
    "last_purchase",
    "usual_gap_days",
    "days_overdue",
    "churn_risk",
    "value_at_risk",
    SALESPERSON,
    NAME,
)
#: Tiers a minimum tier admits, best first (prospects never bought, so they are never at risk).
RANKED_TIERS = tuple(tier for tier in TIERS if tier != "prospect")
_HINT = config_hint("churn")


@dataclass(frozen=True)
class ChurnBands:
    """Cut-offs on churn risk: below ``medium`` is low, from ``medium`` medium, from ``high`` high."""

    medium: float = 0.3
    high: float = 0.6

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise OptionError(f"[churn] {item.name} must be a number, got {value!r}", hint=_HINT)
        if not 0 < self.medium < self.high < 1:
            raise OptionError(
                f"[churn] the band cut-offs need 0 < medium < high < 1, got medium={self.medium:g}, high={self.high:g}",
                hint=_HINT,
            )


def bands_from_config(config: Mapping[str, object]) -> ChurnBands:
    """The default bands with the ``[churn]`` table's cut-offs on top; unknown keys and bad values raise."""
    return with_config(ChurnBands(), config, "churn")


def rhythm_risk(days_since_last: np.ndarray, usual_gap_days: np.ndarray) -> np.ndarray:
    """Churn risk from the customer's own rhythm alone: rises smoothly from 0 as silence outgrows the usual gap."""
    x = np.asarray(days_since_last, dtype=np.float64) / np.asarray(usual_gap_days, dtype=np.float64)
    xk = np.power(np.maximum(x, 0.0), RHYTHM_STEEPNESS)
    return xk / (RHYTHM_MIDPOINT**RHYTHM_STEEPNESS + xk)


def score_churn(table: pd.DataFrame, *, bands: ChurnBands = ChurnBands()) -> pd.DataFrame:
    """Churn risk, band, expected next purchase and value at risk for every row of the customer table.

    Needs *customer_id, last_purchase, days_since_last, total_revenue,
    usual_gap_days* (optional *p_alive, clv*). Returns :data:`CHURN_COLUMNS` in
    the table's row order:

    - ``churn_risk`` = 1 − p_alive where the model scored the customer, else
      :func:`rhythm_risk`;
    - ``churn_band``: low / medium / high by ``bands`` (a risk equal to a cut-off
      takes the higher band);
    - ``expected_next_purchase`` = last purchase + usual gap (whole days). For an
      overdue customer this date is in the past: it is when they were due;
    - ``value_at_risk`` = churn_risk × CLV, or × total revenue (net returns
      counted as 0) when there is no CLV.

    Prospects (never bought) get missing values in every column.
    """
    days_since = table["days_since_last"].to_numpy(dtype=np.float64)
    gap = table["usual_gap_days"].to_numpy(dtype=np.float64)
    buyer = ~np.isnan(days_since)
    risk = rhythm_risk(days_since, gap)
    if "p_alive" in table.columns:
        p_alive = table["p_alive"].to_numpy(dtype=np.float64)
        risk = np.where(np.isnan(p_alive), risk, 1.0 - p_alive)
    risk = np.where(buyer, risk, np.nan)

    band = np.select([risk >= bands.high, risk >= bands.medium, risk >= 0], [2, 1, 0], default=-1)  # CHURN_BANDS
    value = np.maximum(table["total_revenue"].to_numpy(dtype=np.float64), 0.0)
    if "clv" in table.columns:
        clv = table["clv"].to_numpy(dtype=np.float64)
        value = np.where(np.isnan(clv), value, clv)
    next_purchase = table["last_purchase"] + pd.to_timedelta(np.round(gap), unit="D")
    return pd.DataFrame(
        {
            CUSTOMER_ID: table[CUSTOMER_ID].array,
            "churn_risk": risk,
            "churn_band": vocabulary_column(band, CHURN_BANDS),
            "expected_next_purchase": next_purchase.to_numpy(),
            "value_at_risk": np.where(buyer, risk * value, np.nan),
        },
        index=table.index,
        copy=False,
    )


def worth_saving(customers: pd.DataFrame, *, min_tier: str | None = None) -> pd.Series:
    """Which customers :func:`at_risk` lists (before sorting): slipping buyers with value at risk."""
    slipping = customers["churn_band"].isin(("medium", "high")) | customers["lifecycle_stage"].isin(
        ("decline", "termination")
    )
    keep = slipping & (customers["value_at_risk"] > 0) & (customers["tier"] != "prospect")
    if min_tier is not None:
        keep &= customers["tier"].isin(RANKED_TIERS[: RANKED_TIERS.index(min_tier) + 1])
    return keep


def at_risk(
    customers: pd.DataFrame,
    *,
    top: int | None = None,
    min_tier: str | None = None,
    columns: Sequence[str] | None = AT_RISK_COLUMNS,
) -> pd.DataFrame:
    """The customers worth saving, the most value at risk first (ties by customer_id).

    Keeps buyers in the medium or high churn band or in the decline or
    termination stage, with value at risk above 0. Termination customers stay
    in: a win-back call can still pay, and since their risk is already counted
    in the value at risk they sort by what is actually at stake. ``min_tier``
    keeps that tier and better (platinum, gold, iron); ``top`` keeps the first N.
    Returns the ``columns`` present in the table (None: every column).
    """
    if min_tier is not None and min_tier not in RANKED_TIERS:
        raise OptionError(f"unknown min_tier {min_tier!r}; choose one of {', '.join(RANKED_TIERS)}")
    if top is not None and top < 0:
        raise OptionError(f"top must be 0 or more, got {top}")
    keep = worth_saving(customers, min_tier=min_tier)
    chosen = customers.loc[keep, [c for c in columns if c in customers.columns] if columns is not None else slice(None)]
    chosen = chosen.sort_values(
        ["value_at_risk", CUSTOMER_ID], ascending=[False, True], kind="stable", ignore_index=True
    )
    return chosen if top is None else chosen.head(top)
