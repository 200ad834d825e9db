"""Cross-selling per customer (breadth, next-best offers), up-sell, and the basket part of a scoring run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crmkit
from crmkit.errors import MissingColumnsError, OptionError
from crmkit.pipeline.options import options_from
from crmkit.pipeline.privacy import Sharing
from crmkit.scoring.basket import BasketOptions, build_baskets, frequent_itemsets
from crmkit.scoring.crosssell import breadth, next_best_offers, offer_columns, typical_spend, upsell


def _tx(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "product", "category", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def _shop() -> pd.DataFrame:
    """Orders where a teapot comes with cups 3 times in 4, cups alone twice; tea on its own."""
    rows = []
    for i, (customer, items) in enumerate(
        [
            ("A", ["pot", "cups"]),
            ("B", ["pot", "cups"]),
            ("C", ["pot", "cups"]),
            ("D", ["pot"]),  # D bought a pot, never cups: cups are D's offer
            ("E", ["cups"]),
            ("E", ["tea"]),
            ("F", ["tea"]),
            ("G", ["cups", "tea"]),
        ]
    ):
        for item in items:
            price = {"pot": 200.0, "cups": 40.0, "tea": 60.0}[item]
            group = "teaware" if item != "tea" else "tea"
            rows.append((customer, f"o{i}", f"2024-01-{i + 1:02d}", item, group, price + i))
    return _tx(rows)


def _offers(tx: pd.DataFrame, min_count: int = 2, **options) -> pd.DataFrame:
    baskets = build_baskets(tx)
    itemsets = frequent_itemsets(baskets.matrix, min_count=min_count)
    settings = {"min_confidence": 0.1, "min_lift": 0.0, "offers": 2, **options}
    return next_best_offers(tx, itemsets, baskets.items, item_column="product", **settings)


def test_offers_come_from_rules_that_fire_and_skip_what_was_bought():
    offers = _offers(_shop()).set_index("customer_id")
    # D bought the pot: pot → cups fires (3 of 4 orders with a pot have cups); D has no cups yet.
    assert offers.loc["D", "offer_1"] == "cups"
    assert offers.loc["D", "offer_1_rule"] == "pot → cups"
    assert offers.loc["D", "offer_1_confidence"] == pytest.approx(3 / 4)
    cups_spend = np.median([40.0, 41.0, 42.0, 44.0, 47.0])  # 40 + the order number
    assert offers.loc["D", "offer_1_value"] == pytest.approx(3 / 4 * cups_spend)
    # E bought cups and tea: cups → pot fires (3 of 5); tea is bought, so it is no offer.
    assert offers.loc["E", "offer_1"] == "pot" and pd.isna(offers.loc["E", "offer_2"])
    # A, B, C own pot and cups, and no frequent pair holds tea (F): no rule leaves them anything to offer.
    assert list(offers.index) == ["D", "E", "G"]
    assert list(offers.columns) == offer_columns(2)


def test_offers_rank_by_expected_value_and_say_which_rule():
    """Value = confidence × typical spend: a likely cheap item loses to a less likely dear one."""
    orders = [["a", "b"]] * 4 + [["a", "c"], ["a"]]
    price = {"a": 50.0, "b": 10.0, "c": 1000.0}
    rows = [
        (f"C{i}", f"o{i}", "2024-01-01", item, "x", price[item]) for i, items in enumerate(orders) for item in items
    ]
    offers = _offers(_tx(rows), min_count=1).set_index("customer_id")
    z = offers.loc["C5"]  # bought a alone: a → b (4/6) and a → c (1/6) fire
    assert (z["offer_1"], z["offer_2"]) == ("c", "b")
    assert (z["offer_1_rule"], z["offer_2_rule"]) == ("a → c", "a → b")
    assert z["offer_1_value"] == pytest.approx(1000 / 6) and z["offer_2_value"] == pytest.approx(10 * 4 / 6)


def test_offers_do_not_depend_on_row_order():
    tx = _shop()
    shuffled = tx.sample(frac=1.0, random_state=5).reset_index(drop=True)
    pd.testing.assert_frame_equal(_offers(tx), _offers(shuffled))


def test_breadth_counts_products_and_categories_bought():
    table = breadth(_shop()).set_index("customer_id")
    assert table.loc["E", "products_bought"] == 2 and table.loc["E", "categories_bought"] == 2
    assert table.loc["D", "products_bought"] == 1 and table.loc["D", "catalogue_share"] == pytest.approx(1 / 3)
    assert table.loc["A", "categories_bought"] == 1


def test_typical_spend_is_the_median_an_order_spends_on_the_item():
    tx = _tx(
        [
            ("A", "o1", "2024-01-01", "tea", "t", 10.0),
            ("A", "o1", "2024-01-01", "tea", "t", 5.0),  # one order, two lines: 15
            ("B", "o2", "2024-01-02", "tea", "t", 30.0),
            ("C", "o3", "2024-01-03", "tea", "t", 100.0),
            ("C", "o4", "2024-01-04", "tea", "t", -20.0),  # a return only: no spend
        ]
    )
    assert typical_spend(tx, "product")["tea"] == 30.0


def test_upsell_lists_customers_far_below_their_tier_with_the_gap():
    table = pd.DataFrame(
        {
            "customer_id": list("ABCDE"),
            "tier": ["gold", "gold", "gold", "iron", "prospect"],
            "n_orders": [4, 10, 3, 1, 0],
            "avg_order_value": [100.0, 40.0, 120.0, 5.0, np.nan],
        }
    )
    listed = upsell(table, below=0.5)
    assert list(listed["customer_id"]) == ["B"]  # 40 < 0.5 × 100 (the gold median); D has one order
    row = listed.iloc[0]
    assert (row["tier_typical_order"], row["order_gap"], row["upsell_potential"]) == (100.0, 60.0, 600.0)
    assert upsell(table, below=0.5, min_tier="platinum").empty


# --- the basket part of a run ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_tx():
    return crmkit.read_transactions(Path(__file__).resolve().parent.parent / "data" / "samples" / "sales.xlsx")


def test_score_adds_baskets_when_there_are_products(sample_tx):
    result = crmkit.score(sample_tx, options=crmkit.ScoreOptions(model=None))
    basket = result.basket
    assert basket is not None and result.summary.basket == basket.summary
    assert basket.summary.rules == len(basket.rules) > 10
    top = basket.rules.iloc[0]
    assert {top["antecedent"], top["consequent"]} == {"Gift bag", "Gift box"}
    # Every buying customer is on the cross-sell list, most valuable first.
    buyers = result.customers[result.customers["tier"] != "prospect"]
    assert len(basket.cross_sell) == len(buyers)
    assert basket.cross_sell["value_rank"].is_monotonic_increasing
    assert result.summary.to_json()["basket"]["top_rules"][0]["lift"] == top["lift"]


def test_without_a_product_column_score_skips_baskets_and_market_baskets_says_how_to_map_one(sample_tx):
    frame = sample_tx.frame.drop(columns=["product", "category"])
    assert crmkit.score(frame, options=crmkit.ScoreOptions(model=None)).basket is None
    with pytest.raises(MissingColumnsError, match=r"no product column .* 产品") as error:
        crmkit.market_baskets(frame)
    assert "columns={'product': '<header>'}" in str(error.value)


def test_a_refused_mining_is_a_note_in_segment_but_an_error_for_market_baskets(sample_tx):
    """Every combination of what each customer bought is frequent at 1 customer: millions of rules."""
    greedy = crmkit.ScoreOptions(model=None, basket=BasketOptions(basket_by="customer", min_support=0.0005, max_len=6))
    result = crmkit.score(sample_tx, options=greedy)
    assert result.basket is None
    skipped = [w for w in result.summary.warnings if w.startswith("cross-selling skipped: ")]
    assert len(skipped) == 1 and "more than 2,000,000 rules" in skipped[0]
    with pytest.raises(crmkit.CrmkitError, match="more than 2,000,000 rules") as error:
        crmkit.market_baskets(sample_tx, options=greedy)
    assert "min_support" in error.value.hint


def test_min_tier_and_sharing_reach_the_per_customer_lists(sample_tx):
    options = crmkit.ScoreOptions(basket=BasketOptions(min_tier="gold"), sharing=Sharing(pseudonym_key="a secret key"))
    basket = crmkit.market_baskets(sample_tx, options=options).basket
    assert set(basket.cross_sell["tier"]) == {"platinum", "gold"}
    assert set(basket.upsell["tier"]) <= {"platinum", "gold"}
    for frame in (basket.cross_sell, basket.upsell):
        assert frame["customer_id"].str.fullmatch(r"p[0-9a-f]{20}").all()


def test_the_basket_table_of_crmkit_toml_and_the_command_line_settle_the_options():
    config = {"basket": {"by": "customer", "level": "category", "min_support": 0.02, "min_tier": "gold"}}
    options = options_from(config, min_support=0.05, basket_by=None).basket
    assert (options.basket_by, options.item_level, options.min_tier) == ("customer", "category", "gold")
    assert options.min_support == 0.05  # the command line wins
    assert options.max_len == BasketOptions().max_len
    with pytest.raises(OptionError, match=r"unknown \[basket\] setting\(s\) support; valid: by, level"):
        options_from({"basket": {"support": 0.1}})
