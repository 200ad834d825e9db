"""Per-group rollup (salesperson, region, channel, …): what each group holds, and what leaves with it.

One row per group of buying customers with their revenue, top-tier counts,
customers slipping away, value at risk and how much of the group's revenue
hangs on its five largest customers — the exposure if that salesperson leaves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.errors import OptionError
from crmkit.schema import CUSTOMER_ID

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
    usable = groupable_columns(customers)
    if by not in usable:
        raise OptionError(
            f"cannot group by {by!r}; choose one of {', '.join(usable)}",
            hint="group by a column of the customer table such as salesperson or region",
        )
    buyers = customers.loc[customers["tier"] != "prospect"]
    group = buyers[by].astype("str")
    group = group.where(group.notna() & (group.str.strip() != ""), NO_GROUP)
    revenue = buyers["total_revenue"].fillna(0.0).to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            by: group.to_numpy(),
            "revenue": revenue,
            "platinum": (buyers["tier"] == "platinum").to_numpy(),
            "gold": (buyers["tier"] == "gold").to_numpy(),
            "at_risk": buyers["lifecycle_stage"].isin(AT_RISK_STAGES).to_numpy(),
            "value_at_risk": buyers["value_at_risk"].fillna(0.0).to_numpy(dtype=np.float64),
            "positive": np.maximum(revenue, 0.0),
        }
    )
    # Largest customers first within each group, so the first TOP_N rows per group are its top customers.
    frame = frame.sort_values([by, "positive"], ascending=[True, False], kind="stable", ignore_index=True)
    frame["top"] = frame["positive"].where(frame.groupby(by).cumcount() < TOP_N, 0.0)

    out = (
        frame.groupby(by, sort=False)
        .agg(
            customers=("revenue", "size"),
            revenue=("revenue", "sum"),
            platinum=("platinum", "sum"),
            gold=("gold", "sum"),
            at_risk=("at_risk", "sum"),
            value_at_risk=("value_at_risk", "sum"),
            positive=("positive", "sum"),
            top=("top", "sum"),
        )
        .reset_index()
    )
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total else 0.0
    out["top5_share"] = (out["top"] / out["positive"]).where(out["positive"] > 0)
    out = out.sort_values(["revenue", by], ascending=[False, True], kind="stable", ignore_index=True)
    return out[[by, *ROLLUP_COLUMNS]].astype({c: np.int64 for c in ("customers", "platinum", "gold", "at_risk")})
