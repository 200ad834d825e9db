"""Per-customer summary: hand-computed values and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.errors import OptionError
from crmkit.ingest.ids import clean_ids
from crmkit.scoring.kernels import PARALLEL_SORT_MIN, distinct_sorted
from crmkit.scoring.summary import (
    customer_summary,
    latest_values,
    returns_only_customers,
    rows_after,
)


def _tx(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame


HAND_WORKED = _tx(
    [
        ("007", "2024-01-01", 10.0),
        ("007", "2024-01-01 15:30", 5.0),  # same day: one purchase occasion
        ("007", "2024-01-15", 20.0),
        ("007", "2024-01-29", 30.0),
        ("007", "2024-01-30", -8.0),  # a return: reduces revenue, not an occasion
        ("042", "2024-01-08", 100.0),
        ("042", "2024-03-01", 50.0),  # after the as-of date: ignored
        ("099", "2024-01-10", -5.0),  # only a return: no purchase history
    ]
)


class TestCustomerSummary:
    def test_hand_computed_example_in_days(self):
        s = customer_summary(HAND_WORKED, as_of=pd.Timestamp("2024-02-12"), time_unit="day")
        assert list(s["customer_id"]) == ["007", "042"]
        a = s.iloc[0]
        assert a["frequency"] == 2  # three purchase days − 1
        assert a["recency"] == 28  # Jan 29 − Jan 1
        assert a["T"] == 42  # Feb 12 − Jan 1
        assert a["days_since_last"] == 14
        assert a["total_revenue"] == pytest.approx(57.0)  # 65 − 8
        assert a["monetary"] == pytest.approx(25.0)  # (20 + 30) / 2 repeat days
        assert a["n_orders"] == 3  # no order_id: three purchase occasions (customer, day)
        assert a["first_purchase"] == pd.Timestamp("2024-01-01")
        assert a["last_purchase"] == pd.Timestamp("2024-01-29")
        b = s.iloc[1]
        assert (b["frequency"], b["recency"], b["T"], b["monetary"], b["total_revenue"]) == (0, 0, 35, 0, 100)

    def test_week_and_month_units_scale_recency_and_t(self):
        as_of = pd.Timestamp("2024-02-12")
        week = customer_summary(HAND_WORKED, as_of=as_of, time_unit="week").iloc[0]
        month = customer_summary(HAND_WORKED, as_of=as_of, time_unit="month").iloc[0]
        assert week["recency"] == pytest.approx(4.0) and week["T"] == pytest.approx(6.0)
        assert month["T"] == pytest.approx(42 / (365.25 / 12))

    def test_order_id_counts_distinct_orders(self):
        tx = HAND_WORKED.assign(order_id=["A", "A", "B", "C", "R", "D", "E", "F"])
        s = customer_summary(tx, as_of=pd.Timestamp("2024-02-12"))
        assert s.loc[s.customer_id == "007", "n_orders"].item() == 3
        assert s.loc[s.customer_id == "007", "avg_order_value"].item() == pytest.approx(57.0 / 3)

    def test_margin_from_cost(self):
        tx = HAND_WORKED.assign(cost=[4.0, 2.0, 10.0, 10.0, -3.0, 60.0, 0.0, 0.0])
        s = customer_summary(tx, as_of=pd.Timestamp("2024-02-12"))
        assert s.loc[s.customer_id == "007", "total_margin"].item() == pytest.approx(57.0 - 23.0)

    def test_default_as_of_is_the_last_transaction_day(self):
        s = customer_summary(HAND_WORKED)
        assert (
            s.loc[s.customer_id == "042", "T"].item() == (pd.Timestamp("2024-03-01") - pd.Timestamp("2024-01-08")).days
        )

    def test_rows_after_and_returns_only(self):
        assert rows_after(HAND_WORKED, pd.Timestamp("2024-02-12")) == 1
        assert list(returns_only_customers(HAND_WORKED)) == ["099"]

    def test_categorical_ids_give_the_same_summary(self):
        plain = customer_summary(HAND_WORKED)
        categorical = customer_summary(HAND_WORKED.astype({"customer_id": "category"}))
        pd.testing.assert_frame_equal(plain, categorical)

    def test_unknown_time_unit_is_an_option_error(self):
        with pytest.raises(OptionError, match="day, week, month"):
            customer_summary(HAND_WORKED, time_unit="fortnight")


@st.composite
def transactions(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.sampled_from(["A", "B", "C", "00D", "E1"]), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    amounts = draw(st.lists(st.floats(-50, 500, allow_nan=False).map(lambda x: round(x, 2)), min_size=n, max_size=n))
    frame = pd.DataFrame(
        {"customer_id": ids, "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D"), "amount": amounts}
    )
    if not (frame["amount"] >= 0).any():
        frame.loc[0, "amount"] = 1.0
    return frame


@settings(max_examples=60, deadline=None)
@given(transactions(), st.randoms(use_true_random=False))
def test_summary_is_invariant_to_row_order(tx, rnd):
    shuffled = tx.sample(frac=1.0, random_state=rnd.randint(0, 2**31)).reset_index(drop=True)
    as_of = tx["order_date"].max()
    pd.testing.assert_frame_equal(customer_summary(tx, as_of=as_of), customer_summary(shuffled, as_of=as_of))


@settings(max_examples=60, deadline=None)
@given(transactions())
def test_summary_invariants(tx):
    s = customer_summary(tx, time_unit="week")
    assert (s["frequency"] >= 0).all()
    assert (s["recency"] <= s["T"] + 1e-12).all() and (s["recency"] >= 0).all()
    assert ((s["frequency"] == 0) == (s["recency"] == 0)).all()
    assert np.allclose(s.loc[s["frequency"] == 0, "monetary"], 0)
    assert s["customer_id"].is_unique and s["customer_id"].is_monotonic_increasing


@pytest.mark.parametrize("n", [0, 1, 1000, PARALLEL_SORT_MIN + 12_345])  # the last sorts on two cores
def test_distinct_sorted_matches_numpy_unique(n):
    keys = np.random.default_rng(n).integers(-n - 1, n + 1, n) * 1_000_003  # about a third are repeats
    np.testing.assert_array_equal(distinct_sorted(keys.copy()), np.unique(keys))


LATEST_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3", "C10"]),
        st.integers(0, 6),
        st.sampled_from([0, 9]),
        st.sampled_from(["north", "south", "east", None]),
        st.sampled_from(["Li", "Wang", None]),
    ),
    min_size=1,
    max_size=40,
)


def _latest_tx(rows: list[tuple], categories: list[str] | None = None) -> pd.DataFrame:
    """Transactions from (customer, day, hour, region, salesperson) tuples; region categorical in the given
    category order (as after concatenating files), else plain text."""
    start = pd.Timestamp("2024-01-01")
    regions = pd.Series([r[3] for r in rows], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": clean_ids(pd.Series([r[0] for r in rows], dtype=object)),
            "order_date": [start + pd.Timedelta(days=d, hours=h) for _, d, h, _, _ in rows],
            "region": regions if categories is None else pd.Categorical(regions, categories=categories),
            "salesperson": pd.Series([r[4] for r in rows], dtype=object),
            "row": np.arange(len(rows)),
        }
    )


@settings(max_examples=80, deadline=None)
@given(LATEST_ROWS, st.integers(0, 6))
def test_latest_values_match_a_sort_by_customer_time_and_values(rows, as_of_day):
    """The row kept is the one a sort by (customer, time, region, row) puts last, missing regions first, among
    rows up to the as-of day."""
    tx = _latest_tx(rows)
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=as_of_day)
    upto = tx.loc[tx["order_date"] < as_of + pd.Timedelta(days=1)]
    expected = (
        upto.assign(has_region=upto["region"].notna(), region_text=upto["region"].fillna(""))
        .sort_values(["customer_id", "order_date", "has_region", "region_text", "row"], kind="stable")
        .drop_duplicates("customer_id", keep="last")
        .reset_index(drop=True)
    )
    got = latest_values(tx, ["region", "row"], as_of=as_of)
    assert got["customer_id"].astype(str).tolist() == expected["customer_id"].astype(str).tolist()
    assert got["row"].tolist() == expected["row"].tolist()
    assert got["region"].tolist() == expected["region"].tolist()


def test_lines_without_an_order_id_count_one_order_per_customer_and_day():
    """Order ids where the export has them; lines without one are one order per purchase day (they used to
    merge into a single order per customer)."""
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "B", "B", "B"],
            "order_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-09", "2024-01-02", "2024-01-02", "2024-01-03"]
            ),
            "amount": [1.0, 2.0, 3.0, 4.0, 4.0, -1.0, 5.0],
            "order_id": [None, None, None, "X1", "Y1", "Y1", "Y1"],
        }
    )
    with_ids = customer_summary(tx)
    assert with_ids["n_orders"].tolist() == [3, 1]  # A: days 01 and 05 without ids, plus X1; B: Y1
    without = customer_summary(tx.drop(columns="order_id"))
    assert without["n_orders"].tolist() == (without["frequency"] + 1).tolist() == [3, 2]


@settings(max_examples=80, deadline=None)
@given(LATEST_ROWS, st.randoms(use_true_random=False), st.permutations(["east", "north", "south"]))
def test_latest_values_do_not_depend_on_row_or_category_order(rows, random, categories):
    """Lines on the same day (no time) tie: the same values win in any row order and any category order."""
    rows = [(customer, day, 0, region, person) for customer, day, _, region, person in rows]
    shuffled = list(rows)
    random.shuffle(shuffled)
    as_of = pd.Timestamp("2024-01-07")
    got = latest_values(_latest_tx(rows), ["salesperson", "region"], as_of=as_of)
    again = latest_values(_latest_tx(shuffled, categories), ["salesperson", "region"], as_of=as_of)
    assert _records(got) == _records(again)


def test_latest_values_of_a_tie_are_one_lines_greatest_values():
    """Two lines at the same time: the greater salesperson wins, and its region comes with it."""
    tx = _latest_tx([("C1", 0, 0, "north", "Wang"), ("C1", 0, 0, "south", "Li"), ("C2", 0, 0, "east", None)])
    got = latest_values(tx, ["salesperson", "region"], as_of=pd.Timestamp("2024-01-01"))
    assert _records(got) == [["C1", "Wang", "north"], ["C2", None, "east"]]


def _records(frame: pd.DataFrame) -> list[list]:
    """Rows as lists of text, missing values as None (categorical, text and object columns alike)."""
    return [[None if pd.isna(v) else str(v) for v in row] for row in frame.astype(object).itertuples(index=False)]
