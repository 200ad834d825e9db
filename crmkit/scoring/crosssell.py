"""Cross-selling and up-selling per customer: how broadly each one buys, what to offer next, who spends little.

- **Breadth**: distinct products (and categories) a customer bought, and the share of the catalogue (every
  product sold in the data) that is.
- **Next-best offers**: for each customer, the items they have not bought whose rules fire on what they did
  buy (every antecedent item bought), ranked by expected value = the rule's confidence × the item's typical
  spend (the median an order spends on it); for each item the strongest rule that fires counts.
- **Up-sell**: customers whose average order is well below their tier's typical (median) average order.

Everything is vectorised over customers and rules, customers in chunks so that the memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmkit.schema import AMOUNT, CATEGORY, CUSTOMER_ID, PRODUCT
from crmkit.scoring.basket import Itemsets, basket_codes, item_codes, item_names, rule_parts
from crmkit.scoring.churn import RANKED_TIERS
from crmkit.scoring.kernels import customer_codes

#: (customer, rule) pairs looked at per chunk of customers.
CHUNK_PAIRS: Final = 1 << 23
#: Each offer's columns, k = 1 … offers: the item, the rule behind it, its confidence, the expected value.
OFFER_FIELDS: Final = ("offer_{k}", "offer_{k}_rule", "offer_{k}_confidence", "offer_{k}_value")
RULE_ARROW: Final = " → "
#: Columns of :func:`upsell`.
UPSELL_COLUMNS: Final = (
    CUSTOMER_ID,
    "tier",
    "n_orders",
    "avg_order_value",
    "tier_typical_order",
    "order_gap",
    "upsell_potential",
)


def offer_columns(offers: int) -> list[str]:
    """The offer columns of :func:`next_best_offers` for ``offers`` offers per customer."""
    return [field.format(k=k) for k in range(1, offers + 1) for field in OFFER_FIELDS]


def bought_matrix(tx: pd.DataFrame, item_column: str) -> tuple[sp.csr_matrix, pd.Index, pd.Index]:
    """Customers × items, 1 where the customer bought the item (a sale line; returns aside), with the sorted
    customer ids and item names."""
    customer, customers = customer_codes(tx[CUSTOMER_ID])
    item, items = item_codes(tx[item_column])
    sale = (item >= 0) & (tx[AMOUNT].to_numpy(dtype=np.float64) >= 0)
    matrix = sp.csr_matrix(
        (np.ones(int(sale.sum()), dtype=np.int32), (customer[sale], item[sale])), shape=(len(customers), len(items))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix, customers, items


def breadth(tx: pd.DataFrame) -> pd.DataFrame:
    """*customer_id, products_bought, categories_bought* (with a category column), *catalogue_share* for every
    customer who bought a product, sorted by ``customer_id``; the catalogue is every product sold."""
    products, customers, catalogue = bought_matrix(tx, PRODUCT)
    bought = np.diff(products.indptr)
    table = pd.DataFrame({CUSTOMER_ID: customers, "products_bought": bought.astype(np.int64)})
    if CATEGORY in tx.columns:
        categories, category_customers, _ = bought_matrix(tx, CATEGORY)
        per_customer = pd.Series(np.diff(categories.indptr), index=category_customers)
        table["categories_bought"] = per_customer.reindex(customers, fill_value=0).to_numpy().astype(np.int64)
    table["catalogue_share"] = bought / max(len(catalogue), 1)
    return table[bought > 0].reset_index(drop=True)


def typical_spend(tx: pd.DataFrame, item_column: str) -> pd.Series:
    """The median an order spends on each item (its lines in the order added up, over the orders that paid
    for it), by item name."""
    customer, _ = customer_codes(tx[CUSTOMER_ID])
    order, _ = basket_codes(tx, customer, "order")
    item, items = item_codes(tx[item_column])
    has_item = item >= 0
    pairs, pair = np.unique(order[has_item] * len(items) + item[has_item], return_inverse=True)
    spend = np.bincount(pair, weights=tx[AMOUNT].to_numpy(dtype=np.float64)[has_item], minlength=len(pairs))
    paid = spend > 0
    medians = pd.Series(spend[paid]).groupby(pairs[paid] % len(items)).median()
    return pd.Series(medians.to_numpy(), index=items[medians.index.to_numpy()], dtype=np.float64)


@dataclass(frozen=True)
class _Rules:
    """Rules with one item after the arrow, as a sparse rule × item antecedent matrix."""

    antecedents: sp.csr_matrix
    consequent: np.ndarray
    confidence: np.ndarray
    text: np.ndarray

    @classmethod
    def of(cls, itemsets: Itemsets, items: pd.Index, *, min_confidence: float, min_lift: float) -> _Rules:
        parts = rule_parts(itemsets, min_confidence=min_confidence, min_lift=min_lift, single_consequent=True)
        if not parts:
            empty = sp.csr_matrix((0, len(items)), dtype=np.int32)  # type: ignore[arg-type]  # a shape, as scipy allows
            return cls(empty, *(np.zeros(0) for _ in range(3)))
        widths = np.concatenate([np.full(len(p.count), p.antecedent.shape[1]) for p in parts])
        columns = np.concatenate([p.antecedent.ravel() for p in parts])
        antecedents = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.int32), columns, np.concatenate(([0], np.cumsum(widths)))),
            shape=(len(widths), len(items)),
        )
        text = np.concatenate(
            [item_names(items, p.antecedent) + RULE_ARROW + item_names(items, p.consequent) for p in parts]
        )
        consequent = np.concatenate([p.consequent[:, 0] for p in parts])
        confidence = np.concatenate([p.count / p.count_a for p in parts])
        return cls(antecedents, consequent, confidence, text)


def next_best_offers(
    tx: pd.DataFrame,
    itemsets: Itemsets,
    items: pd.Index,
    *,
    item_column: str,
    min_confidence: float,
    min_lift: float,
    offers: int,
) -> pd.DataFrame:
    """Each customer's best ``offers`` items not bought yet, from the rules with one item after the arrow that
    fire on what they bought: *customer_id* and :func:`offer_columns` (missing where a customer has fewer
    offers), for the customers with an offer, sorted by ``customer_id``. Ties in expected value go to the
    higher confidence, then the item name."""
    bought, customers, bought_items = bought_matrix(tx, item_column)
    bought = _in_columns(bought, items.get_indexer(bought_items), len(items))
    rules = _Rules.of(itemsets, items, min_confidence=min_confidence, min_lift=min_lift)
    spend = typical_spend(tx, item_column).reindex(items).fillna(0.0).to_numpy()
    value = rules.confidence * spend[rules.consequent.astype(np.int64)]
    # Chunks of customers touching about CHUNK_PAIRS (customer, rule) pairs each.
    rules_per_item = np.diff(rules.antecedents.tocsc().indptr)
    touched = np.cumsum(bought @ rules_per_item)
    cuts = np.searchsorted(touched, np.arange(CHUNK_PAIRS, int(touched[-1]) if len(touched) else 0, CHUNK_PAIRS))
    found = [_fired(bought, rows, rules, value) for rows in np.split(np.arange(bought.shape[0]), cuts)]
    fired = pd.concat(found, ignore_index=True)
    # The strongest firing rule per (customer, item), then each customer's best offers.
    fired = fired.sort_values(
        ["customer", "value", "confidence", "item"], ascending=[True, False, False, True], kind="stable"
    ).drop_duplicates(["customer", "item"])
    fired["rank"] = fired.groupby("customer").cumcount() + 1
    fired = fired[fired["rank"] <= offers]
    table = pd.DataFrame(
        {CUSTOMER_ID: pd.Series(customers[np.unique(fired["customer"].to_numpy())], dtype="str").array}
    )
    names = items.to_numpy(dtype=object)
    for k in range(1, offers + 1):
        chosen = fired[fired["rank"] == k].set_index("customer").reindex(np.unique(fired["customer"].to_numpy()))
        item = chosen["item"].to_numpy()
        present = ~np.isnan(item.astype(np.float64))
        offer, rule = np.full(len(chosen), None, dtype=object), np.full(len(chosen), None, dtype=object)
        offer[present] = names[item[present].astype(np.int64)]
        rule[present] = rules.text[chosen["rule"].to_numpy()[present].astype(np.int64)]
        table[f"offer_{k}"] = pd.array(offer, dtype="str")
        table[f"offer_{k}_rule"] = pd.array(rule, dtype="str")
        table[f"offer_{k}_confidence"] = chosen["confidence"].to_numpy(dtype=np.float64)
        table[f"offer_{k}_value"] = chosen["value"].to_numpy(dtype=np.float64)
    return table


def _in_columns(matrix: sp.csr_matrix, column: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """``matrix`` with its columns renumbered by ``column`` (−1: dropped)."""
    coo = matrix.tocoo()
    new = column[coo.col]
    kept = new >= 0
    out = sp.csr_matrix((coo.data[kept], (coo.row[kept], new[kept])), shape=(matrix.shape[0], n_columns))
    out.sort_indices()
    return out


def _fired(bought: sp.csr_matrix, rows: np.ndarray, rules: _Rules, value: np.ndarray) -> pd.DataFrame:
    """(customer, rule, item, confidence, value) for the rules that fire on what the ``rows`` customers bought
    and offer an item they have not bought."""
    chunk = bought[rows]
    hits = (chunk @ rules.antecedents.T).tocsr()  # antecedent items each customer bought, per rule
    customer = np.repeat(np.arange(len(rows)), np.diff(hits.indptr))
    rule = hits.indices
    fires = hits.data == np.diff(rules.antecedents.indptr)[rule]
    customer, rule = customer[fires], rule[fires]
    item = rules.consequent[rule].astype(np.int64)
    n_items = bought.shape[1]
    owned = np.repeat(np.arange(len(rows)), np.diff(chunk.indptr)).astype(np.int64) * n_items + chunk.indices
    wanted = customer.astype(np.int64) * n_items + item
    at = np.minimum(np.searchsorted(owned, wanted), max(len(owned) - 1, 0))
    new = owned[at] != wanted if len(owned) else np.ones(len(wanted), dtype=bool)
    return pd.DataFrame(
        {
            "customer": rows[customer[new]],
            "rule": rule[new],
            "item": item[new],
            "confidence": rules.confidence[rule[new]],
            "value": value[rule[new]],
        }
    )


def tiers_from(min_tier: str | None) -> tuple[str, ...]:
    """The buying tiers from the best down to ``min_tier`` (all of them when None)."""
    return RANKED_TIERS if min_tier is None else RANKED_TIERS[: RANKED_TIERS.index(min_tier) + 1]


def upsell(customers: pd.DataFrame, *, below: float, min_tier: str | None = None) -> pd.DataFrame:
    """Buying customers with at least two orders whose average order is below ``below`` × their tier's typical
    average order (the median over the tier's buying customers): the columns of :data:`UPSELL_COLUMNS`, largest
    ``upsell_potential`` (the gap × their orders) first, ties by id. ``min_tier`` keeps that tier and better."""
    buyers = customers.loc[customers["tier"].isin(RANKED_TIERS), [CUSTOMER_ID, "tier", "n_orders", "avg_order_value"]]
    typical = buyers.groupby("tier", observed=True)["avg_order_value"].median()
    table = buyers.assign(tier_typical_order=buyers["tier"].map(typical).astype(np.float64))
    table["order_gap"] = table["tier_typical_order"] - table["avg_order_value"]
    table["upsell_potential"] = table["order_gap"] * table["n_orders"]
    listed = (table["n_orders"] >= 2) & (table["avg_order_value"] < below * table["tier_typical_order"])
    listed &= table["tier"].isin(tiers_from(min_tier))
    table = table.loc[listed, list(UPSELL_COLUMNS)]
    table = table.assign(n_orders=table["n_orders"].astype(np.int64))
    return table.sort_values(["upsell_potential", CUSTOMER_ID], ascending=[False, True], ignore_index=True)
