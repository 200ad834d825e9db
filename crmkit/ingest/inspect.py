"""Data-quality findings on read transactions, without scoring (``crmkit inspect``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmkit.ingest.report import TransactionData
from crmkit.schema import (
    AMOUNT,
    CUSTOMER_ID,
    ORDER_DATE,
    REASON_REPEAT,
)


# --- inspect -----------------------------------------------------------------------------
def inspect_transactions(data: TransactionData, *, today: pd.Timestamp | None = None) -> list[dict[str, Any]]:
    """Data-quality findings without scoring: dropped rows, repeated lines, returns, zero amounts,
    future dates, mixed date styles, customers with only returns."""
    frame, report = data.frame, data.report
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    findings: list[dict[str, Any]] = []

    def add(kind: str, count: int, detail: str) -> None:
        if count:
            findings.append({"kind": kind, "count": int(count), "detail": detail})

    for reason, n in report.drop_counts.items():
        add(
            "dropped rows" if reason != REASON_REPEAT else "repeated order lines",
            n,
            f"{reason}; see --rejects FILE" if reason != REASON_REPEAT else "counted once",
        )
    amount = frame[AMOUNT]
    returns = amount < 0
    add(
        "returns",
        int(returns.sum()),
        f"negative amounts totalling {amount[returns].sum():,.2f}; they reduce revenue and are not purchase occasions",
    )
    add("zero amounts", int((amount == 0).sum()), "kept as purchase occasions with no spend")
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
