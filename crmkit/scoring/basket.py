"""Market baskets: exact frequent itemsets and association rules over orders or customers.

A basket is an order (its order id; a customer's purchase day where there is none) or a customer (everything
they bought). An item — a product, or its category — is in a basket when the basket holds a sale of it that
was not returned in full: its lines add up to a positive amount, or they are free (0) and none came back.

Mining is level-wise over a sparse basket × item matrix (scipy CSR, items sorted within a basket). A level
keeps where each of its frequent itemsets occurs (the basket, and the position of the set's last item there);
extending every occurrence by the basket's later items that could complete a frequent set (apriori: the last
items of its siblings) and counting the extensions — one counter per (itemset, item), or a sort when that
is cheaper — gives the next level. It is Eclat's idea turned horizontal and vectorised with numpy: no Python
loop per itemset or basket, and chunks that bound the memory. Counts are exact (no sampling), so support,
confidence, lift, leverage and conviction are too. A support so low that the itemsets (:data:`MAX_ITEMSETS`),
the work of a level or the rules (:data:`MAX_RULES`) would run away is refused, with the figures and a hint,
before the memory fills.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmkit.errors import OptionError
from crmkit.schema import AMOUNT, BASKET_BY, CUSTOMER_ID, ITEM_LEVELS, ORDER_DATE, ORDER_ID, PRODUCT
from crmkit.scoring.churn import RANKED_TIERS
from crmkit.scoring.kernels import customer_codes, money_steps
from crmkit.scoring.summary import day_numbers

#: What makes a basket, and what an item is.
#: Itemsets a run may produce before it is refused (and rules are at most 2^k − 2 per k-itemset).
MAX_ITEMSETS = 1_000_000
#: Rules a run may produce before it is refused.
MAX_RULES = 2_000_000
#: Most next-best items listed per customer.
MAX_OFFERS = 5
#: How the items of an itemset are written in a rule (``Teapot + Tea cups``), in catalogue (name) order.
ITEM_SEPARATOR = " + "
#: Columns of :func:`association_rules`, in order.
RULE_COLUMNS = (
    "antecedent",
    "consequent",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "baskets",
)


@dataclass(frozen=True)
class BasketOptions:
    """What a market-basket run mines and keeps.

    ``min_support`` is a share of all baskets (0.01 = 1%); rules keep ``min_confidence`` ≤ confidence and
    ``min_lift`` ≤ lift. ``max_len`` caps the items of an itemset (None: no cap). ``offers`` is how many
    next-best items each customer gets; ``upsell_below`` lists customers whose average order is below that
    share of their tier's typical (median) average order; ``min_tier`` keeps both lists to that tier and better.
    """

    basket_by: str = "order"
    item_level: str = PRODUCT
    min_support: float = 0.01
    min_confidence: float = 0.1
    min_lift: float = 1.0
    max_len: int | None = 3
    offers: int = 3
    upsell_below: float = 0.5
    min_tier: str | None = None

    def __post_init__(self) -> None:
        _choose("basket_by", self.basket_by, BASKET_BY)
        _choose("item_level", self.item_level, ITEM_LEVELS)
        if self.min_tier is not None:
            _choose("min_tier", self.min_tier, RANKED_TIERS)
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("basket_by", "item_level", "min_tier") or (item.name == "max_len" and value is None):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise OptionError(f"{item.name} must be a number, got {value!r}")
        if not 0 < self.min_support <= 1:
            raise OptionError(f"min_support must be a share of baskets in (0, 1], got {self.min_support:g}")
        if not 0 <= self.min_confidence <= 1:
            raise OptionError(f"min_confidence must be between 0 and 1, got {self.min_confidence:g}")
        if self.min_lift < 0:
            raise OptionError(f"min_lift must be 0 or more, got {self.min_lift:g}")
        if self.max_len is not None and (int(self.max_len) != self.max_len or self.max_len < 2):
            raise OptionError(f"max_len must be a whole number of at least 2, got {self.max_len!r}")
        if int(self.offers) != self.offers or not 1 <= self.offers <= MAX_OFFERS:
            raise OptionError(f"offers must be a whole number from 1 to {MAX_OFFERS}, got {self.offers!r}")
        if not 0 < self.upsell_below < 1:
            raise OptionError(f"upsell_below must be a share in (0, 1), got {self.upsell_below:g}")

    def min_count(self, n_baskets: int) -> int:
        """The fewest baskets a frequent itemset lies in: ``min_support`` × baskets rounded up from the exact
        product (0.001 × 200,000 is 200, not 201 as float arithmetic has it), at least 1."""
        return max(1, math.ceil(Fraction(str(self.min_support)) * n_baskets))


def _choose(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


#: The keys of crmkit.toml's ``[basket]`` table and the option each sets.
CONFIG_KEYS = {
    "by": "basket_by",
    "level": "item_level",
    "min_support": "min_support",
    "min_confidence": "min_confidence",
    "min_lift": "min_lift",
    "max_len": "max_len",
    "offers": "offers",
    "upsell_below": "upsell_below",
    "min_tier": "min_tier",
}


# --- baskets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Baskets:
    """The basket × item incidence matrix and what it was built from.

    ``matrix`` is CSR with one stored 1 per (basket, item); ``items`` names the columns (sorted, so codes
    never depend on row order); ``customer`` is each basket's customer code (in ``customers``, sorted ids).
    """

    matrix: sp.csr_matrix
    items: pd.Index
    customer: np.ndarray
    customers: pd.Index
    lines_used: int
    lines_without_item: int


def build_baskets(tx: pd.DataFrame, *, basket_by: str = "order", item_column: str = PRODUCT) -> Baskets:
    """Baskets of ``item_column`` values from canonical transactions (call with the rows up to the as-of day).

    Orders are told apart by customer and order id; lines without an order id form one basket per customer
    and day. Lines without an item are left out (and counted).
    """
    _choose("basket_by", basket_by, BASKET_BY)
    customer, customers = customer_codes(tx[CUSTOMER_ID])
    item, items = item_codes(tx[item_column])
    has_item = item >= 0
    basket, basket_customer = basket_codes(tx, customer, basket_by)
    amount = tx[AMOUNT].to_numpy(dtype=np.float64)
    basket, item, amount = basket[has_item], item[has_item], amount[has_item]
    # One (basket, item) pair per key; in the basket when sold and not returned in full.
    keys = basket.astype(np.int64) * len(items) + item
    pairs, pair = np.unique(keys, return_inverse=True)
    net = money_steps(pair, amount, len(pairs))
    sold = np.bincount(pair, weights=amount >= 0, minlength=len(pairs)) > 0
    returned = np.bincount(pair, weights=amount < 0, minlength=len(pairs)) > 0
    bought = sold & ((net > 0) | ((net == 0) & ~returned))
    pairs = pairs[bought]
    rows, cols = np.divmod(pairs, len(items))
    n_baskets = len(basket_customer)
    matrix = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.int32), cols.astype(np.int32), _indptr(rows, n_baskets)),
        shape=(n_baskets, len(items)),
    )
    # Baskets left empty (returns only, or no line with an item) are no baskets.
    kept = np.diff(matrix.indptr) > 0
    if not kept.all():
        matrix, basket_customer = matrix[kept], basket_customer[kept]
    return Baskets(matrix, items, basket_customer, customers, int(has_item.sum()), int((~has_item).sum()))


def item_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of the item names in sorted name order (−1 = missing), and the names."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        codes = values.cat.codes.to_numpy()
        used = np.zeros(len(categories) + 1, dtype=bool)
        used[codes] = True  # slot −1 (the last) marks missing values
        names = pd.Index(categories.astype("str"))[used[:-1]]
        order = names.argsort()
        position = np.full(len(categories) + 1, -1, dtype=np.int32)
        position[np.flatnonzero(used[:-1])[order]] = np.arange(len(names), dtype=np.int32)
        return position[codes], pd.Index(names[order], dtype="str")
    codes, names = pd.factorize(values.astype("str").where(values.notna()), sort=True)
    return codes.astype(np.int32), pd.Index(names, dtype="str")


def basket_codes(tx: pd.DataFrame, customer: np.ndarray, basket_by: str) -> tuple[np.ndarray, np.ndarray]:
    """Each line's basket code and each basket's customer code."""
    if basket_by == "customer":
        n_customers = int(customer.max(initial=-1)) + 1
        return customer.astype(np.int64), np.arange(n_customers, dtype=np.int32)
    day = day_numbers(tx[ORDER_DATE])
    day = day - int(day.min(initial=0))
    span = int(day.max(initial=0)) + 1
    keys = customer.astype(np.int64) * span + day  # a customer's purchase day
    if ORDER_ID in tx.columns:
        order = tx[ORDER_ID]
        order_code = (
            order.cat.codes.to_numpy().astype(np.int64)
            if isinstance(order.dtype, pd.CategoricalDtype)
            else pd.factorize(order)[0].astype(np.int64)
        )
        has_order = order_code >= 0
        # Order keys come after every customer-day key, so the two never meet.
        stride = int(order_code.max(initial=0)) + 1
        order_keys = int(customer.max(initial=0) + 1) * span + customer.astype(np.int64) * stride + order_code
        keys = np.where(has_order, order_keys, keys)
    distinct, basket = np.unique(keys, return_inverse=True)
    basket_customer = np.empty(len(distinct), dtype=customer.dtype)
    basket_customer[basket] = customer  # a basket's lines share its customer: any of them will do
    return basket.astype(np.int64), basket_customer


def _indptr(sorted_rows: np.ndarray, n_rows: int) -> np.ndarray:
    """CSR row pointers for entries sorted by row."""
    return np.concatenate(([0], np.cumsum(np.bincount(sorted_rows, minlength=n_rows)))).astype(np.int64)


# --- frequent itemsets -------------------------------------------------------------------
@dataclass(frozen=True)
class Itemsets:
    """Frequent itemsets by size: ``items[k - 1]`` is an (n_k × k) array of item codes (ascending in a row,
    rows in lexicographic order) and ``counts[k - 1]`` the baskets holding each."""

    items: tuple[np.ndarray, ...]
    counts: tuple[np.ndarray, ...]
    n_baskets: int
    min_count: int

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.counts)


def frequent_itemsets(
    matrix: sp.csr_matrix, *, min_count: int, max_len: int | None = None, limit: int = MAX_ITEMSETS
) -> Itemsets:
    """Every itemset in at least ``min_count`` baskets (rows of ``matrix``), up to ``max_len`` items, exactly.

    Level by level, each basket's frequent (k−1)-itemsets are extended by the basket's later items and the
    extensions counted; the frequent ones are the k-itemsets, and their occurrences the next level's input.
    Raises :class:`OptionError` when the itemsets would pass ``limit`` (or the work could not finish in
    reasonable time), before the memory fills.
    """
    n_baskets = matrix.shape[0]
    counts1 = np.bincount(matrix.indices, minlength=matrix.shape[1])
    frequent = np.flatnonzero(counts1 >= min_count).astype(np.int32)
    max_len = max_len or max(len(frequent), 1)
    # Mining runs on positions among the frequent items; baskets with fewer than two hold no frequent pair.
    local = matrix[:, frequent]
    local = local[np.diff(local.indptr) >= 2]
    local.sort_indices()
    level = _Level.first(local, counts1[frequent])
    levels = [level]
    while level.size < max_len and len(level.counts) > 1:
        found = sum(len(x.counts) for x in levels)
        last = level.size + 1 == max_len
        level = level.extend(local, min_count, found=found, limit=limit, n_baskets=n_baskets, last=last)
        if not len(level.counts):
            break
        levels.append(level)
    return Itemsets(tuple(frequent[x.sets] for x in levels), tuple(x.counts for x in levels), n_baskets, min_count)


#: Extensions (a frequent itemset and a later item of a basket holding it) counted at once: they bound the
#: memory a level takes beside its result.
CHUNK_EXTENSIONS = 1 << 23
#: Extensions are counted in one counter per (parent, item) when there are at most this many counters per
#: extension (a pass over the counters), else by sorting the extensions.
DENSE_COUNTERS_PER_KEY = 4
#: Extensions one level may look at (about half a minute of work), and occurrences of the itemsets of one
#: size it may hold (12 bytes each): past either a run is refused.
MAX_EXTENSIONS = 400_000_000
MAX_OCCURRENCES = 60_000_000


@dataclass(frozen=True)
class _Level:
    """The frequent itemsets of one size and where they occur: ``sets`` (n × size, lexicographic) with
    ``counts``; each occurrence is a basket (row of the local matrix) holding the set and the position of the
    set's last item in that basket's sorted items, grouped by set (``owner`` ascending)."""

    sets: np.ndarray
    counts: np.ndarray
    owner: np.ndarray
    basket: np.ndarray
    position: np.ndarray

    @property
    def size(self) -> int:
        return self.sets.shape[1]

    @classmethod
    def first(cls, local: sp.csr_matrix, counts: np.ndarray) -> _Level:
        """Single items, occurring wherever the basket matrix holds them."""
        lengths = np.diff(local.indptr)
        position = np.arange(local.nnz) - local.indptr[:-1].repeat(lengths)
        # CSC order groups the occurrences by item (a counting sort); the data carries each one's position + 1
        # (+ 1: a stored 0 is easily taken for no entry).
        by_item = sp.csr_matrix((position.astype(np.int32) + 1, local.indices, local.indptr), shape=local.shape).tocsc()
        owner = np.repeat(np.arange(local.shape[1], dtype=np.int32), np.diff(by_item.indptr))
        sets = np.arange(len(counts), dtype=np.int32)[:, None]
        return cls(sets, counts.astype(np.int64), owner, by_item.indices.astype(np.int32), by_item.data - 1)

    def extend(
        self, local: sp.csr_matrix, min_count: int, *, found: int, limit: int, n_baskets: int, last: bool
    ) -> _Level:
        """The frequent itemsets one item larger, counted chunk by chunk of parent sets.

        A set grows only by the last item of a later sibling (a set differing from it in the last item alone:
        apriori), so the last set of each run of siblings does not grow, and the others look at the items after
        their last one in each basket holding them.
        """
        siblings = _group_sizes(self.sets[:, :-1])
        grows = np.ones(len(self.counts), dtype=bool)
        grows[np.cumsum(siblings) - 1] = False
        run_start = local.indptr[self.basket] + self.position + 1
        later = np.where(grows[self.owner], local.indptr[self.basket + 1] - run_start, 0)
        per_parent = np.bincount(self.owner, weights=later, minlength=len(self.counts)).astype(np.int64)
        work = int(per_parent.sum())
        candidates = int((siblings * (siblings - 1) // 2).sum())
        size = self.size + 1
        if work > MAX_EXTENSIONS:
            _refuse(
                min_count,
                n_baskets,
                f"counting the itemsets of {size} items means {work:,} look-ups in the baskets "
                f"(crmkit does up to {MAX_EXTENSIONS:,}); up to {min(candidates, work // min_count):,} of them "
                f"could be frequent, beside the {found:,} of fewer items",
            )
        starts = np.concatenate(([0], np.cumsum(np.bincount(self.owner, minlength=len(self.counts)))))
        done_work = np.concatenate(([0], np.cumsum(per_parent)))
        parts: list[tuple[np.ndarray, ...]] = []
        n_found = n_held = parent = 0
        while parent < len(self.counts):
            # As many parents as fit both budgets (at least one).
            end = int(np.searchsorted(done_work, done_work[parent] + CHUNK_EXTENSIONS, side="right")) - 1
            end = min(max(end, parent + 1), len(self.counts))
            occurrences = slice(starts[parent], starts[end])
            part = self._extend_chunk(
                local, occurrences, parent, end, run_start, later, min_count, last, first_child=n_found
            )
            parts.append(part)
            n_found, n_held = n_found + len(part[1]), n_held + len(part[2])
            share = done_work[end] / max(work, 1)
            if found + n_found > limit:
                _refuse(
                    min_count,
                    n_baskets,
                    f"it gives more than {limit:,} itemsets: {found:,} of up to {size - 1} items, and about "
                    f"{max(n_found, round(n_found / share)):,} of {size}",
                )
            if n_held > MAX_OCCURRENCES:
                _refuse(
                    min_count,
                    n_baskets,
                    f"the itemsets of {size} items lie in baskets about {round(n_held / share):,} times, more "
                    f"than the {MAX_OCCURRENCES:,} crmkit holds ({found + n_found:,} itemsets so far)",
                )
            parent = end
        sets, counts, owner, basket, position = (np.concatenate(column) for column in zip(*parts))
        return _Level(sets, counts, owner, basket, position)

    def _extend_chunk(
        self,
        local: sp.csr_matrix,
        rows: slice,
        first: int,
        end: int,
        run_start: np.ndarray,
        later: np.ndarray,
        min_count: int,
        last: bool,
        *,
        first_child: int,
    ) -> tuple[np.ndarray, ...]:
        """Count the extensions of parents ``first`` to ``end`` (their occurrences are ``rows``; each extends by
        the ``later`` items from ``run_start`` in ``local.indices``); return the frequent ones (sets, counts)
        and, unless this is the ``last`` level, their occurrences, the new sets numbered from ``first_child``."""
        n_items = local.shape[1]
        owner, basket, n_later = self.owner[rows], self.basket[rows], later[rows]
        # Each occurrence's candidate items are a run of the basket's row in the matrix: gather them end to end.
        ends = np.cumsum(n_later)
        flat = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
        flat += np.repeat(run_start[rows] - (ends - n_later), n_later)  # each extension's place in local.indices
        key = np.repeat((owner - first).astype(np.int64) * n_items, n_later)
        key += local.indices[flat]
        space = (end - first) * n_items
        dense = space <= max(DENSE_COUNTERS_PER_KEY * len(key), 1 << 16)  # a counter per (parent, item) is cheaper
        if dense:
            tally = np.bincount(key, minlength=space)
            frequent = tally >= min_count
            kept = np.flatnonzero(frequent)
            counts = tally[kept]
        else:
            ordered = np.sort(key)
            starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
            tally = np.diff(np.append(starts, len(ordered)))
            kept, counts = ordered[starts[tally >= min_count]], tally[tally >= min_count]
        # Ascending keys: parents in order, and items in order within a parent — lexicographic itemsets.
        parent, extension = np.divmod(kept, n_items)
        sets = np.column_stack([self.sets[first + parent], extension.astype(np.int32)])
        empty = np.zeros(0, dtype=np.int32)
        if last or not len(kept):
            return sets, counts.astype(np.int64), empty, empty, empty
        # The occurrences of the new itemsets: the extensions whose key was kept, grouped by itemset.
        if dense:
            hit = np.flatnonzero(frequent[key])
        else:
            nearest = np.minimum(np.searchsorted(kept, key), len(kept) - 1)
            hit = np.flatnonzero(kept[nearest] == key)
        child = np.searchsorted(kept, key[hit])
        order = np.argsort(child, kind="stable")
        hit, child = hit[order], child[order]
        hit_basket = basket[np.searchsorted(ends, hit, side="right")]
        return (
            sets,
            counts.astype(np.int64),
            (child + first_child).astype(np.int32),
            hit_basket,
            (flat[hit] - local.indptr[hit_basket]).astype(np.int32),
        )


def _refuse(min_count: int, n_baskets: int, reason: str) -> None:
    raise OptionError(
        f"a minimum support of {min_count:,} of {n_baskets:,} baskets is too low to mine: {reason}",
        hint="raise min_support (each itemset must lie in more baskets) or lower max_len",
    )


def _group_sizes(prefixes: np.ndarray) -> np.ndarray:
    """Sizes of the runs of equal rows in a lexicographically sorted array."""
    if not len(prefixes):
        return np.zeros(0, dtype=np.int64)
    change = np.ones(len(prefixes), dtype=bool)
    change[1:] = (prefixes[1:] != prefixes[:-1]).any(axis=1)
    return np.diff(np.append(np.flatnonzero(change), len(prefixes)))


# --- rules ---------------------------------------------------------------------------------
def association_rules(
    itemsets: Itemsets, items: pd.Index, *, min_confidence: float = 0.0, min_lift: float = 0.0
) -> pd.DataFrame:
    """Every rule antecedent → consequent splitting a frequent itemset in two non-empty parts, with
    confidence ≥ ``min_confidence`` and lift ≥ ``min_lift``: the columns of :data:`RULE_COLUMNS`, strongest
    (highest lift, then confidence, support) first.

    support = P(A and C), confidence = P(C | A), lift = confidence / P(C), leverage = P(A and C) − P(A)·P(C),
    conviction = (1 − P(C)) / (1 − confidence) (infinite when the rule always holds); P is the share of
    baskets. Counts are exact, and so are the measures up to float rounding.
    """
    parts = [
        (item_names(items, part.antecedent), item_names(items, part.consequent), part.count_a, part.count_c, part.count)
        for part in rule_parts(itemsets, min_confidence=min_confidence, min_lift=min_lift)
    ]
    empty = np.zeros(0, dtype=np.int64)
    joined = [np.concatenate(column) for column in zip(*parts)] if parts else [empty] * 5
    antecedent, consequent, count_a, count_c, count = joined
    return rule_measures(antecedent, consequent, count_a, count_c, count, itemsets.n_baskets)


@dataclass(frozen=True)
class RulePart:
    """Rules of one shape (itemset size and split) as item codes: antecedents (n × a), consequents (n × c),
    and the baskets holding the antecedent, the consequent and both."""

    antecedent: np.ndarray
    consequent: np.ndarray
    count_a: np.ndarray
    count_c: np.ndarray
    count: np.ndarray


def rule_parts(
    itemsets: Itemsets, *, min_confidence: float = 0.0, min_lift: float = 0.0, single_consequent: bool = False
) -> list[RulePart]:
    """The rules of :func:`association_rules` as item codes, one part per itemset size and split
    (``single_consequent``: only rules with one item after the arrow)."""
    n = itemsets.n_baskets
    n_items = int(max((int(level.max(initial=0)) for level in itemsets.items), default=0)) + 1
    lookups = [_Lookup(level, n_items) for level in itemsets.items]
    parts: list[RulePart] = []
    n_rules = 0
    for size in range(2, len(itemsets.items) + 1):
        sets, both = itemsets.items[size - 1], itemsets.counts[size - 1]
        for mask in range(1, 2**size - 1):
            left = [i for i in range(size) if mask >> i & 1]
            right = [i for i in range(size) if not mask >> i & 1]
            if single_consequent and len(right) != 1:
                continue
            antecedent, consequent = sets[:, left], sets[:, right]
            count_a = itemsets.counts[len(left) - 1][lookups[len(left) - 1].find(antecedent)]
            count_c = itemsets.counts[len(right) - 1][lookups[len(right) - 1].find(consequent)]
            confidence = both / count_a
            keep = (confidence >= min_confidence) & (confidence / (count_c / n) >= min_lift)
            if keep.any():
                parts.append(RulePart(antecedent[keep], consequent[keep], count_a[keep], count_c[keep], both[keep]))
                n_rules += int(keep.sum())
            if n_rules > MAX_RULES:
                raise OptionError(
                    f"these thresholds give more than {MAX_RULES:,} rules ({n_rules:,} from the itemsets of up to "
                    f"{size} items so far, of {itemsets.total:,} itemsets)",
                    hint="raise min_confidence, min_lift or min_support, or lower max_len",
                )
    return parts


def rule_measures(
    antecedent: np.ndarray,
    consequent: np.ndarray,
    count_a: np.ndarray,
    count_c: np.ndarray,
    count: np.ndarray,
    n_baskets: int,
) -> pd.DataFrame:
    """The rule table from basket counts of the antecedent, the consequent and both, strongest first."""
    support_a, support_c, support = count_a / n_baskets, count_c / n_baskets, count / n_baskets
    confidence = count / count_a
    with np.errstate(divide="ignore"):
        conviction = np.where(confidence < 1, (1 - support_c) / np.maximum(1 - confidence, 1e-300), np.inf)
    rules = pd.DataFrame(
        {
            "antecedent": pd.array(antecedent, dtype="str"),
            "consequent": pd.array(consequent, dtype="str"),
            "antecedent_support": support_a,
            "consequent_support": support_c,
            "support": support,
            "confidence": confidence,
            "lift": confidence / support_c,
            "leverage": support - support_a * support_c,
            "conviction": conviction,
            "baskets": count.astype(np.int64),
        }
    )
    return rules.sort_values(
        ["lift", "confidence", "support", "antecedent", "consequent"],
        ascending=[False, False, False, True, True],
        ignore_index=True,
        kind="stable",
    )


class _Lookup:
    """Row positions of itemsets of one size, found by their packed keys (or a MultiIndex when keys overflow)."""

    def __init__(self, sets: np.ndarray, n_items: int) -> None:
        self.n_items = n_items
        self.packed = n_items ** sets.shape[1] < 2**62
        if self.packed:
            self.keys = self._keys(sets)  # lexicographic rows give ascending keys
        else:
            self.index = pd.MultiIndex.from_arrays(list(sets.T))

    def _keys(self, sets: np.ndarray) -> np.ndarray:
        keys = np.zeros(len(sets), dtype=np.int64)
        for column in sets.T:
            keys = keys * self.n_items + column
        return keys

    def find(self, sets: np.ndarray) -> np.ndarray:
        if self.packed:
            return np.searchsorted(self.keys, self._keys(sets))
        return self.index.get_indexer(pd.MultiIndex.from_arrays(list(sets.T)))


def item_names(items: pd.Index, codes: np.ndarray) -> np.ndarray:
    """Itemsets as text: names in catalogue order joined by :data:`ITEM_SEPARATOR`."""
    names = items.to_numpy(dtype=object)
    text = names[codes[:, 0]]
    for column in codes.T[1:]:
        text = text + ITEM_SEPARATOR + names[column]
    return text


def itemset_table(itemsets: Itemsets, items: pd.Index) -> pd.DataFrame:
    """The frequent itemsets as *itemset, size, support, baskets*, by size, then most frequent first."""
    frames = [
        pd.DataFrame(
            {
                "itemset": pd.array(item_names(items, sets), dtype="str"),
                "size": np.full(len(sets), sets.shape[1], dtype=np.int64),
                "support": counts / itemsets.n_baskets,
                "baskets": counts.astype(np.int64),
            }
        )
        for sets, counts in zip(itemsets.items, itemsets.counts)
    ]
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["size", "baskets", "itemset"], ascending=[True, False, True], ignore_index=True)
