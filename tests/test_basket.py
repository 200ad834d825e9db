"""Market baskets: the itemsets and rules are exact — equal to brute-force counts and to mlxtend's."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.errors import OptionError
from crmkit.scoring.basket import (
    ITEM_SEPARATOR,
    BasketOptions,
    association_rules,
    build_baskets,
    frequent_itemsets,
    itemset_table,
)

MEASURES = ("antecedent_support", "consequent_support", "support", "confidence", "lift", "leverage", "conviction")


def _matrix(baskets: list[set[int]], n_items: int) -> sp.csr_matrix:
    rows = [r for r, basket in enumerate(baskets) for _ in basket]
    cols = [c for basket in baskets for c in sorted(basket)]
    return sp.csr_matrix((np.ones(len(cols), dtype=np.int32), (rows, cols)), shape=(len(baskets), n_items))


def _names(n_items: int) -> pd.Index:
    return pd.Index([f"i{j:02d}" for j in range(n_items)], dtype="str")


def _found(itemsets, names) -> dict[frozenset, int]:
    table = itemset_table(itemsets, names)
    return {frozenset(text.split(ITEM_SEPARATOR)): n for text, n in zip(table["itemset"], table["baskets"])}


def _brute_force(baskets: list[set[int]], names: pd.Index, min_count: int, max_len: int) -> dict[frozenset, int]:
    """Every subset of every basket counted directly."""
    counts: dict[frozenset, int] = {}
    for basket in baskets:
        for size in range(1, min(len(basket), max_len) + 1):
            for subset in itertools.combinations(sorted(basket), size):
                key = frozenset(names[list(subset)])
                counts[key] = counts.get(key, 0) + 1
    return {key: n for key, n in counts.items() if n >= min_count}


def _generated(seed: int, n_baskets: int, n_items: int) -> list[set[int]]:
    """Baskets with structure: independent items plus a chain of items bought together."""
    rng = np.random.default_rng(seed)
    dense = rng.random((n_baskets, n_items)) < rng.uniform(0.03, 0.4, n_items)
    for item in range(1, min(5, n_items)):
        dense[:, item] |= dense[:, item - 1] & (rng.random(n_baskets) < 0.6)
    return [set(np.flatnonzero(row).tolist()) for row in dense if row.any()]


baskets_strategy = st.lists(st.sets(st.integers(0, 7), min_size=1, max_size=6), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(baskets=baskets_strategy, min_count=st.integers(1, 6), max_len=st.integers(2, 6))
def test_itemsets_equal_brute_force_counts(baskets, min_count, max_len):
    names = _names(8)
    itemsets = frequent_itemsets(_matrix(baskets, 8), min_count=min_count, max_len=max_len)
    assert _found(itemsets, names) == _brute_force(baskets, names, min_count, max_len)


@settings(max_examples=25, deadline=None)
@given(baskets=baskets_strategy, min_count=st.integers(1, 4))
def test_rule_measures_follow_from_brute_force_counts(baskets, min_count):
    names = _names(8)
    counts = _brute_force(baskets, names, min_count, 8)
    n = len(baskets)
    rules = association_rules(frequent_itemsets(_matrix(baskets, 8), min_count=min_count), names)
    expected = 0
    for itemset in (s for s in counts if len(s) > 1):
        expected += 2 ** len(itemset) - 2
    assert len(rules) == expected
    for rule in rules.itertuples():
        a, c = frozenset(rule.antecedent.split(ITEM_SEPARATOR)), frozenset(rule.consequent.split(ITEM_SEPARATOR))
        both, n_a, n_c = counts[a | c], counts[a], counts[c]
        assert rule.baskets == both and rule.support == both / n
        assert rule.confidence == pytest.approx(both / n_a, rel=1e-12)
        assert rule.lift == pytest.approx(both * n / (n_a * n_c), rel=1e-12)
        assert rule.leverage == pytest.approx(both / n - n_a * n_c / n**2, rel=1e-12, abs=1e-15)
        assert rule.conviction == (np.inf if both == n_a else pytest.approx((1 - n_c / n) / (1 - both / n_a)))


@pytest.mark.parametrize(
    ("seed", "n_baskets", "n_items", "min_support", "max_len"),
    [(1, 600, 12, 0.05, None), (2, 2000, 20, 0.02, None), (3, 400, 8, 0.1, 3), (4, 1500, 24, 0.01, 4)],
)
def test_itemsets_and_rules_equal_mlxtend(seed, n_baskets, n_items, min_support, max_len):
    mlxtend = pytest.importorskip("mlxtend.frequent_patterns")
    baskets = _generated(seed, n_baskets, n_items)
    names = _names(n_items)
    n = len(baskets)
    min_count = BasketOptions(min_support=min_support).min_count(n)
    matrix = _matrix(baskets, n_items)
    itemsets = frequent_itemsets(matrix, min_count=min_count, max_len=max_len)
    rules = association_rules(itemsets, names)
    onehot = pd.DataFrame(matrix.toarray().astype(bool), columns=list(names))
    # min_count / n: the same threshold whatever the float rounding of min_support × n.
    theirs = mlxtend.fpgrowth(onehot, min_support=min_count / n, max_len=max_len, use_colnames=True)
    assert {k: v / n for k, v in _found(itemsets, names).items()} == dict(zip(theirs["itemsets"], theirs["support"]))
    their_rules = mlxtend.association_rules(theirs, num_itemsets=n, metric="confidence", min_threshold=0.0)
    assert len(their_rules) > 20
    mine = rules.set_index(
        [
            rules["antecedent"].str.split(ITEM_SEPARATOR, regex=False).map(frozenset),
            rules["consequent"].str.split(ITEM_SEPARATOR, regex=False).map(frozenset),
        ]
    )
    their_rules = their_rules.set_index(["antecedents", "consequents"]).rename(columns=lambda c: c.replace(" ", "_"))
    assert set(mine.index) == set(their_rules.index)
    aligned = their_rules.loc[mine.index]
    for measure in MEASURES:
        # Counts are equal; ratios differ at most in the last bit (mlxtend divides shares, crmkit counts).
        np.testing.assert_allclose(mine[measure].to_numpy(), aligned[measure].to_numpy(), rtol=1e-13, err_msg=measure)


def test_itemsets_equal_pyfim_where_installed():
    fim = pytest.importorskip("fim")
    baskets = _generated(5, 3000, 25)
    names = _names(25)
    itemsets = frequent_itemsets(_matrix(baskets, 25), min_count=30)
    theirs = fim.fpgrowth([sorted(names[list(b)]) for b in baskets], target="s", supp=-30, report="a")
    assert _found(itemsets, names) == {frozenset(items): n for items, n in theirs}


def test_rules_are_sorted_strongest_first_and_filtered():
    baskets = _generated(6, 1000, 10)
    names = _names(10)
    itemsets = frequent_itemsets(_matrix(baskets, 10), min_count=20)
    every = association_rules(itemsets, names)
    kept = association_rules(itemsets, names, min_confidence=0.5, min_lift=1.2)
    assert len(kept) < len(every)
    assert (kept["confidence"] >= 0.5).all() and (kept["lift"] >= 1.2).all()
    expected = every[(every["confidence"] >= 0.5) & (every["lift"] >= 1.2)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected)
    assert kept["lift"].is_monotonic_decreasing


def test_an_itemset_count_that_would_explode_is_refused_with_the_estimate():
    rng = np.random.default_rng(7)
    dense = rng.random((300, 60)) < 0.5  # big baskets of one big clique: every small subset is frequent
    with pytest.raises(
        OptionError, match=r"too low to mine: it gives more than 5,000 itemsets: .* about [\d,]+ of"
    ) as error:
        frequent_itemsets(sp.csr_matrix(dense.astype(np.int32)), min_count=3, limit=5_000)
    assert "min_support" in error.value.hint and "max_len" in error.value.hint


def test_min_count_reads_the_support_as_written():
    """0.001 × 200,000 is 200 baskets (float arithmetic says 200.00000000000003, which rounds up to 201)."""
    assert BasketOptions(min_support=0.001).min_count(200_000) == 200
    assert BasketOptions(min_support=0.01).min_count(150) == 2
    assert BasketOptions(min_support=0.5).min_count(1) == 1


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"min_support": 0}, "min_support"),
        ({"min_support": 1.5}, "min_support"),
        ({"min_confidence": 2}, "min_confidence"),
        ({"max_len": 1}, "max_len"),
        ({"basket_by": "week"}, "basket_by"),
        ({"item_level": "brand"}, "item_level"),
        ({"offers": 0}, "offers"),
        ({"min_lift": "high"}, "min_lift"),
    ],
)
def test_bad_options_are_refused_naming_the_option(given, match):
    with pytest.raises(OptionError, match=match):
        BasketOptions(**given)


# --- baskets from transactions ----------------------------------------------------------------------------
def _tx(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "product", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def _baskets_as_sets(baskets) -> list[frozenset]:
    matrix = baskets.matrix
    return sorted(
        (
            frozenset(baskets.items[matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]])
            for r in range(matrix.shape[0])
        ),
        key=sorted,
    )


def test_baskets_are_orders_and_customer_days_without_order_ids():
    tx = _tx(
        [
            ("A", "o1", "2024-01-01", "tea", 10.0),
            ("A", "o1", "2024-01-01", "cup", 5.0),
            ("A", "o2", "2024-01-01", "pot", 20.0),  # same day, another order
            ("A", None, "2024-01-03", "tea", 10.0),  # no order id: the customer's day
            ("A", None, "2024-01-03", "tray", 10.0),
            ("B", "o1", "2024-01-02", "tea", 10.0),  # the same order id at another customer is another order
            ("B", "o3", "2024-01-04", None, 10.0),  # no product: left out
        ]
    )
    baskets = build_baskets(tx, basket_by="order")
    assert _baskets_as_sets(baskets) == sorted(
        [frozenset({"tea", "cup"}), frozenset({"pot"}), frozenset({"tea", "tray"}), frozenset({"tea"})], key=sorted
    )
    assert (baskets.lines_used, baskets.lines_without_item) == (6, 1)
    by_customer = build_baskets(tx, basket_by="customer")
    assert _baskets_as_sets(by_customer) == sorted(
        [frozenset({"tea", "cup", "pot", "tray"}), frozenset({"tea"})], key=sorted
    )
    assert list(by_customer.customers[by_customer.customer]) == ["A", "B"]


def test_an_item_returned_in_full_is_not_in_the_basket():
    tx = _tx(
        [
            ("A", "o1", "2024-01-01", "tea", 10.0),
            ("A", "o1", "2024-01-01", "cup", 5.0),
            ("A", "o1", "2024-01-05", "cup", -5.0),  # came back in full
            ("A", "o2", "2024-01-02", "pot", 20.0),
            ("A", "o2", "2024-01-06", "pot", -5.0),  # partly refunded: still bought
            ("A", "o3", "2024-01-02", "bag", 0.0),  # free, kept
            ("A", "o4", "2024-01-03", "tray", -8.0),  # a return only: no basket
        ]
    )
    assert _baskets_as_sets(build_baskets(tx)) == sorted(
        [frozenset({"tea"}), frozenset({"pot"}), frozenset({"bag"})], key=sorted
    )


def test_baskets_do_not_depend_on_row_order():
    tx = _tx([(c, f"o{i % 7}", "2024-01-01", f"p{(i * 3) % 5}", 1.0 + i) for i, c in enumerate("ABCABCABCABCAB")])
    shuffled = tx.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = build_baskets(tx), build_baskets(shuffled)
    assert _baskets_as_sets(a) == _baskets_as_sets(b)
    assert list(a.items) == list(b.items) == sorted(a.items)
