"""Data-quality findings on read transactions, without scoring (``crmkit inspect``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmkit.ingest.report import TransactionData
from crmkit.schema import (
    AMOUNT,
    CUSTOMER_ID,
    ORDER_DATE,
    ORDER_ID,
    REASON_REPEAT,
    REASON_STATUS,
    REASON_TOTALS,
)


# --- inspect -----------------------------------------------------------------------------
def inspect_transactions(data: TransactionData, *, today: pd.Timestamp | None = None) -> list[dict[str, Any]]:
    """Data-quality findings without scoring: dropped rows, repeated lines, orders excluded by status, totals
    rows, returns, an order's further items, zero amounts, future dates, mixed date styles, customers with only
    returns."""
    frame, report = data.frame, data.report
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    findings: list[dict[str, Any]] = []

    def add(kind: str, count: int, detail: str) -> None:
        if count:
            findings.append({"kind": kind, "count": int(count), "detail": detail})

    excluded = ", ".join(f"{status} {n:,}" for status, n in report.excluded_orders.items())
    by_rule = {
        REASON_REPEAT: ("repeated order lines", "counted once"),
        REASON_STATUS: ("excluded by status", f"lines of orders that are not revenue: {excluded}"),
        REASON_TOTALS: ("totals rows", "a report's 合计/Total rows, not customers"),
    }
    for reason, n in report.drop_counts.items():
        kind, detail = by_rule.get(reason, ("dropped rows", f"{reason}; see --rejects FILE"))
        add(kind, n, detail)
    amount = frame[AMOUNT]
    returns = amount < 0
    add(
        "returns",
        int(returns.sum()),
        f"negative amounts totalling {amount[returns].sum():,.2f}; they reduce revenue and are not purchase occasions",
    )
    zero = (amount == 0).to_numpy(copy=True)
    if ORDER_ID in frame.columns:  # an order's further items (its amount is on its first line) are not purchases
        codes = frame[ORDER_ID].cat.codes.to_numpy()
        paid = np.bincount(codes[(codes >= 0) & ~zero], minlength=len(frame[ORDER_ID].cat.categories) + 1)
        items = zero & (codes >= 0) & (paid[codes] > 0)
        add("order items", int(items.sum()), "further lines of an order whose amount is on its first line")
        zero &= ~items
    add("zero amounts", int(zero.sum()), "kept as purchase occasions with no spend")
    future = frame[ORDER_DATE] > today + pd.Timedelta(days=1)
    add("future dates", int(future.sum()), f"after today ({today:%Y-%m-%d}); check the date column or use --as-of")
    for f in report.files:
        styles = f.dialect.date_styles
        if len(styles) > 1:
            add(
                "mixed date formats",
                sum(styles.values()),
                f"{f.path}: " + ", ".join(f"{s} {n:,}" for s, n in styles.items()),
            )
    buyers = frame.loc[amount >= 0, CUSTOMER_ID].unique()
    only_returns = frame.loc[~frame[CUSTOMER_ID].isin(buyers), CUSTOMER_ID].nunique()
    add("customers with only returns", only_returns, "no purchase to anchor a history; left out of scoring")
    return findings
