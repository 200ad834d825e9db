"""Market baskets within a scoring run: the rules, each customer's breadth and next-best offers, up-sell.

The per-customer lists carry the scored tier, value rank and sales assignment, keep the chosen tier and
better, and go through the run's sharing (attributes only on request, pseudonymised ids) like every list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd

from crmkit.errors import BadValueError, MissingColumnsError
from crmkit.ingest.columns import TRANSACTION_ALIASES
from crmkit.pipeline.options import ScoreOptions
from crmkit.pipeline.privacy import Sharing
from crmkit.pipeline.results import BasketResult, BasketSummary
from crmkit.schema import CUSTOMER_ID, NAME, ORDER_DATE, PRODUCT, SALESPERSON
from crmkit.scoring import crosssell
from crmkit.scoring.basket import association_rules, build_baskets, frequent_itemsets, itemset_table
from crmkit.scoring.summary import day_numbers

#: Rules the summary (and ``--format json``) lists.
TOP_RULES = 10
#: Per-customer columns the cross-sell list starts with, when the scored table has them.
LEADING_COLUMNS = (CUSTOMER_ID, "tier", "value_rank", SALESPERSON, NAME)


def basket_result(
    tx: pd.DataFrame,
    table: pd.DataFrame,
    as_of: pd.Timestamp,
    options: ScoreOptions,
    *,
    sources: Iterable[str] = (),
    attributes: Iterable[str] = (),
) -> BasketResult | None:
    """Baskets of the transactions up to ``as_of``, and the per-customer lists built on the scored ``table``
    (raw ids). None when there is no item column, unless ``options.basket_required`` (then an error naming
    the column's headers and ``--col``). ``sources`` name the files read, for messages."""
    settings = options.basket
    if settings is None:
        return None
    column = settings.item_level
    if column not in tx.columns:
        if not options.basket_required:
            return None
        raise MissingColumnsError(
            f"no {column} column in {', '.join(sources) or 'the transactions'}: crmkit looks for a header such as "
            + ", ".join(TRANSACTION_ALIASES[column]),
            hint=f"name yours with columns={{'{column}': '<header>'}}",
        )
    upto = tx.loc[day_numbers(tx[ORDER_DATE]) <= day_numbers(as_of)[0]]
    baskets = build_baskets(upto, basket_by=settings.basket_by, item_column=column)
    n_baskets = baskets.matrix.shape[0]
    if not n_baskets:
        raise BadValueError(
            f"no {settings.basket_by} holds a {column} that was bought and kept, so there are no baskets to mine",
            hint=f"check the {column} column with `crmkit inspect FILE`",
        )
    min_count = settings.min_count(n_baskets)
    itemsets = frequent_itemsets(baskets.matrix, min_count=min_count, max_len=settings.max_len)
    rules = association_rules(
        itemsets, baskets.items, min_confidence=settings.min_confidence, min_lift=settings.min_lift
    )
    offers = crosssell.next_best_offers(
        upto,
        itemsets,
        baskets.items,
        item_column=column,
        min_confidence=settings.min_confidence,
        min_lift=settings.min_lift,
        offers=settings.offers,
    )
    cross_sell = _cross_sell(upto, table, offers, settings.min_tier)
    upsell = crosssell.upsell(table, below=settings.upsell_below, min_tier=settings.min_tier)
    upsell = _with(upsell, table, (SALESPERSON, NAME))
    summary = BasketSummary(
        basket_by=settings.basket_by,
        item_level=column,
        baskets=n_baskets,
        items=int((np.diff(baskets.matrix.tocsc().indptr) > 0).sum()),
        lines_used=baskets.lines_used,
        lines_without_item=baskets.lines_without_item,
        min_support=settings.min_support,
        min_count=min_count,
        min_confidence=settings.min_confidence,
        min_lift=settings.min_lift,
        max_len=settings.max_len,
        itemsets=itemsets.total,
        rules=len(rules),
        top_rules=tuple(cast(list[dict[str, Any]], rules.head(TOP_RULES).to_dict(orient="records"))),
        customers_with_offers=int(cross_sell["offer_1"].notna().sum()),
        upsell_below=settings.upsell_below,
        upsell_customers=len(upsell),
    )
    sharing: Sharing = options.sharing
    return BasketResult(
        summary=summary,
        rules=rules,
        itemsets=itemset_table(itemsets, baskets.items),
        cross_sell=sharing.customers(cross_sell, attributes),
        upsell=sharing.customers(upsell, attributes),
    )


def _cross_sell(tx: pd.DataFrame, table: pd.DataFrame, offers: pd.DataFrame, min_tier: str | None) -> pd.DataFrame:
    """Every buying customer of ``min_tier`` and better, most valuable first: tier, rank, sales assignment,
    breadth, then the offers (empty where no rule fires)."""
    leading = [c for c in LEADING_COLUMNS if c in table.columns]
    buyers = table.loc[table["tier"].isin(crosssell.tiers_from(min_tier)), leading]
    buyers = buyers.assign(**{CUSTOMER_ID: buyers[CUSTOMER_ID].astype("str")})
    if PRODUCT in tx.columns:
        buyers = buyers.merge(crosssell.breadth(tx), on=CUSTOMER_ID, how="left")
    listed = buyers.merge(offers, on=CUSTOMER_ID, how="left")
    order = ["value_rank", CUSTOMER_ID] if "value_rank" in listed.columns else [CUSTOMER_ID]
    return listed.sort_values(order, kind="stable", ignore_index=True)


def _with(frame: pd.DataFrame, table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with ``columns`` of the scored table added by customer id (those the table has)."""
    present = [c for c in columns if c in table.columns]
    if not present:
        return frame
    extra = table[[CUSTOMER_ID, *present]].assign(**{CUSTOMER_ID: table[CUSTOMER_ID].astype("str")})
    frame = frame.assign(**{CUSTOMER_ID: frame[CUSTOMER_ID].astype("str")})
    return frame.merge(extra, on=CUSTOMER_ID, how="left")
