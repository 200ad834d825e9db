"""Churn risk, churn bands, the expected next purchase and the value at risk; the lists of customers worth
saving and of key accounts being lost.

Churn is quiet: customers rarely say they are leaving, they just stop buying.
The risk therefore comes from silence measured against what we expect of the
customer — the purchase model's P(alive) when it ran, else the customer's own
rhythm (days since the last purchase against their usual gap, from
:func:`crmkit.lifecycle.assign_stages`).

Value at risk ranks who to call first: what the customer brings if they stay
(``value_if_active``, :mod:`crmkit.scoring.value`) times the risk that they have
gone. CLV would not do: it already carries P(alive), so a big customer who went
quiet would have almost nothing "at risk" exactly when there is most to save.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import (
    CHANNEL,
    CHURN_BANDS,
    CUSTOMER_ID,
    EMAIL,
    NAME,
    PHONE,
    REGION,
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
#: Columns of :func:`at_risk` (next action, salesperson and name only when the table has them).
AT_RISK_COLUMNS = (
    CUSTOMER_ID,
    "tier",
    "lifecycle_stage",
    "last_purchase",
    "usual_gap_days",
    "days_overdue",
    "churn_risk",
    "value_if_active",
    "value_at_risk",
    "next_action",
    SALESPERSON,
    NAME,
)
#: Columns of :func:`lost_key_accounts` (those the table has).
LOST_KEY_ACCOUNT_COLUMNS = (
    CUSTOMER_ID,
    "tier",
    "lifecycle_stage",
    "last_purchase",
    "days_since_last",
    "n_orders",
    "total_revenue",
    "total_margin",
    "churn_risk",
    "value_at_risk",
    "next_action",
    SALESPERSON,
    NAME,
)
#: Contact details a call list carries when the table has them.
CONTACT_COLUMNS = (NAME, REGION, SALESPERSON, CHANNEL, PHONE, EMAIL)
#: What the at-risk and lost-key-accounts lists carry for every output (each output shows its own selection):
#: their own columns, contact details and the figures a call needs.
LIST_COLUMNS = tuple(
    dict.fromkeys(
        (*AT_RISK_COLUMNS, *LOST_KEY_ACCOUNT_COLUMNS, *CONTACT_COLUMNS, "churn_band", "segment", "value_rank")
    )
)
#: Tiers a minimum tier admits, best first (prospects never bought, so they are never at risk).
RANKED_TIERS = tuple(tier for tier in TIERS if tier != "prospect")
#: Key accounts: the tiers whose loss :func:`lost_key_accounts` lists.
KEY_TIERS = ("platinum", "gold")
#: Churn bands :func:`at_risk` lists, and the stages of a customer being lost.
RISKY_BANDS = ("medium", "high")
LOSING_STAGES = ("decline", "termination")
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

    Needs *customer_id, last_purchase, days_since_last, usual_gap_days,
    value_if_active* (optional *p_alive*). Returns :data:`CHURN_COLUMNS` in
    the table's row order:

    - ``churn_risk`` = 1 − p_alive where the model scored the customer, else
      :func:`rhythm_risk`;
    - ``churn_band``: low / medium / high by ``bands`` (a risk equal to a cut-off
      takes the higher band);
    - ``expected_next_purchase`` = last purchase + usual gap (whole days). For an
      overdue customer this date is in the past: it is when they were due;
    - ``value_at_risk`` = churn_risk × value_if_active: what is lost if the
      customer has gone, weighted by how likely that is.

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
    value = table["value_if_active"].to_numpy(dtype=np.float64)
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
    """Which customers :func:`at_risk` lists (before sorting): buyers in a risky churn band with value at risk."""
    keep = customers["churn_band"].isin(RISKY_BANDS) & (customers["value_at_risk"] > 0)
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

    Keeps buyers in the medium or high churn band with value at risk above 0.
    Customers who have most likely gone stay in: a win-back call can still pay,
    and since value at risk is what they would bring if they stayed times the
    risk, a big customer who went quiet tops the list. ``min_tier`` keeps that
    tier and better (platinum, gold, iron); ``top`` keeps the first N.
    Returns the ``columns`` present in the table (None: every column).
    """
    _check_min_tier(min_tier)
    if top is not None and top < 0:
        raise OptionError(f"top must be 0 or more, got {top}")
    rows = _ranked(customers, worth_saving(customers, min_tier=min_tier).to_numpy(), "value_at_risk")
    return _chosen(customers, rows if top is None else rows[:top], columns)


def lost_key_accounts(
    customers: pd.DataFrame, *, min_tier: str | None = None, columns: Sequence[str] | None = LOST_KEY_ACCOUNT_COLUMNS
) -> pd.DataFrame:
    """The key accounts being lost: platinum and gold customers in the decline or termination stage, the most
    historic profit first (total_margin, or total_revenue without a cost or margin column; ties by customer_id).

    These are the customers who bring profit today but are losing value: they are listed by what they have
    brought, whatever the model expects of them. ``min_tier="platinum"`` keeps platinum only. Returns the
    ``columns`` present in the table (None: every column).
    """
    _check_min_tier(min_tier)
    tiers = ("platinum",) if min_tier == "platinum" else KEY_TIERS
    keep = customers["tier"].isin(tiers) & customers["lifecycle_stage"].isin(LOSING_STAGES)
    profit = "total_margin" if "total_margin" in customers.columns else "total_revenue"
    return _chosen(customers, _ranked(customers, keep.to_numpy(), profit), columns)


def _check_min_tier(min_tier: str | None) -> None:
    if min_tier is not None and min_tier not in RANKED_TIERS:
        raise OptionError(f"unknown min_tier {min_tier!r}; choose one of {', '.join(RANKED_TIERS)}")


def _ranked(customers: pd.DataFrame, keep: np.ndarray, by: str) -> np.ndarray:
    """Positions of the kept rows, the largest ``by`` first, ties by customer_id: the sort runs on the two keys
    of the kept rows only, not on the whole table."""
    rows = np.flatnonzero(keep)
    ids = customers[CUSTOMER_ID].iloc[rows]
    id_order = ids.cat.codes.to_numpy() if _sorted_categories(ids) else pd.factorize(ids, sort=True)[0]
    return rows[np.lexsort((id_order, -customers[by].to_numpy(dtype=np.float64)[rows]))]


def _sorted_categories(ids: pd.Series) -> bool:
    """Ids whose categorical codes follow the ids' own order (as crmkit's tables hold them)."""
    return isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.is_monotonic_increasing


def _chosen(customers: pd.DataFrame, rows: np.ndarray, columns: Sequence[str] | None) -> pd.DataFrame:
    """The rows at ``rows``, in that order, with the ``columns`` the table has (None: every column)."""
    picked = [c for c in columns if c in customers.columns] if columns is not None else list(customers.columns)
    return customers[picked].take(rows).reset_index(drop=True)
