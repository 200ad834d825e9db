"""Simulated sales: determinism, shape of an export, buy-till-you-die behaviour, localisation and the shipped samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.datasets.sample import (
    CATEGORIES,
    CHANNEL_ZH,
    COMPLEMENTS,
    PRODUCTS,
    REGION_ZH,
    SampleData,
    localise_sample,
    simulate_sales,
)
from crmkit.errors import OptionError
from crmkit.schema import (
    AMOUNT,
    CATEGORY,
    CHANNEL,
    COST,
    COST_COMPONENTS,
    CUSTOMER_ID,
    ORDER_DATE,
    ORDER_ID,
    PRODUCT,
    QUANTITY,
    REGION,
    SALESPERSON,
    VALUE_COMPONENTS,
)
from crmkit.scoring.basket import association_rules, build_baskets, frequent_itemsets

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
EN_TX = [
    "Order ID",
    "Order Date",
    "Customer ID",
    "Product",
    "Category",
    "Channel",
    "Region",
    "Salesperson",
    "Quantity",
    "Amount",
    "Cost",
]
EN_CUSTOMERS = [
    "Customer ID",
    "Customer Name",
    "Region",
    "Salesperson",
    "Signup Date",
    "Phone",
    "product_value",
    "service_value",
    "personnel_value",
    "image_value",
    "monetary_cost",
    "time_cost",
    "energy_cost",
    "physical_cost",
]
ZH_TX = ["订单编号", "订单日期", "客户编号", "产品", "品类", "渠道", "区域", "销售员", "数量", "实付金额", "成本"]
ZH_CUSTOMERS = [
    "客户编号",
    "客户名称",
    "区域",
    "销售员",
    "注册日期",
    "电话",
    "产品价值",
    "服务价值",
    "人员价值",
    "形象价值",
    "货币成本",
    "时间成本",
    "精力成本",
    "体力成本",
]
ZH_DATE = r"^\d{4}年\d{1,2}月\d{1,2}日$"


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return simulate_sales(2000, seed=11)


def _sales(tx: pd.DataFrame) -> pd.DataFrame:
    return tx[tx[AMOUNT] > 0]


def _is_cents(values: pd.Series) -> bool:
    cents = values.to_numpy() * 100
    return bool(np.allclose(cents, np.round(cents), rtol=0, atol=1e-6))


class TestDeterminism:
    def test_same_seed_gives_identical_frames(self):
        first, second = simulate_sales(300, seed=5), simulate_sales(300, seed=5)
        pd.testing.assert_frame_equal(first.transactions, second.transactions)
        pd.testing.assert_frame_equal(first.customers, second.customers)
        pd.testing.assert_frame_equal(first.truth, second.truth)

    def test_different_seeds_differ(self):
        first, second = simulate_sales(300, seed=5), simulate_sales(300, seed=6)
        assert not first.transactions.equals(second.transactions)
        assert not first.truth["purchase_rate"].equals(second.truth["purchase_rate"])


class TestExportShape:
    def test_canonical_columns_and_types(self, sample):
        tx = sample.transactions
        assert list(tx.columns) == [
            ORDER_ID,
            ORDER_DATE,
            CUSTOMER_ID,
            PRODUCT,
            CATEGORY,
            CHANNEL,
            REGION,
            SALESPERSON,
            QUANTITY,
            AMOUNT,
            COST,
        ]
        assert pd.api.types.is_datetime64_any_dtype(tx[ORDER_DATE])
        assert pd.api.types.is_integer_dtype(tx[QUANTITY])
        assert pd.api.types.is_string_dtype(tx[CUSTOMER_ID])
        assert set(tx[CHANNEL]) == {"store", "online", "phone", "wechat"}
        assert 4 <= tx[REGION].nunique() <= 6
        assert 8 <= tx[SALESPERSON].nunique() <= 12

    def test_customer_ids_are_seven_digit_text_with_leading_zeros(self, sample):
        ids = sample.customers[CUSTOMER_ID]
        assert ids.str.fullmatch(r"\d{7}").all()
        assert ids.is_unique
        assert "0000001" in set(ids)
        assert sample.transactions[CUSTOMER_ID].str.fullmatch(r"\d{7}").all()

    def test_amounts_and_costs_are_whole_cents_and_cost_is_55_to_75_percent(self, sample):
        tx = sample.transactions
        assert _is_cents(tx[AMOUNT]) and _is_cents(tx[COST])
        assert (tx[AMOUNT] != 0).all()
        amount, cost = tx[AMOUNT].abs(), tx[COST].abs()
        assert (cost >= 0.55 * amount - 0.0051).all() and (cost <= 0.75 * amount + 0.0051).all()  # to the cent

    def test_lines_of_an_order_share_customer_day_channel_and_salesperson(self, sample):
        per_order = _sales(sample.transactions).groupby(ORDER_ID)
        assert (per_order[[CUSTOMER_ID, ORDER_DATE, CHANNEL, SALESPERSON]].nunique() == 1).all().all()
        assert per_order.size().between(1, 3).all()
        assert per_order.size().gt(1).mean() > 0.2

    def test_salesperson_works_in_one_region_and_mostly_keeps_the_customer(self, sample):
        tx = sample.transactions
        assert (tx.groupby(SALESPERSON)[REGION].nunique() == 1).all()
        usual = tx.merge(sample.customers[[CUSTOMER_ID, SALESPERSON]], on=CUSTOMER_ID, suffixes=("", "_master"))
        assert (usual[SALESPERSON] == usual[f"{SALESPERSON}_master"]).mean() > 0.85

    def test_returns_are_few_negative_copies_of_an_earlier_line_of_the_same_order(self, sample):
        tx = sample.transactions
        returns = tx[tx[AMOUNT] < 0]
        assert 0.005 < len(returns) / len(tx) < 0.05
        assert (returns[QUANTITY] < 0).all() and (returns[COST] < 0).all()
        sales = _sales(tx)
        originals = sales.assign(**{QUANTITY: -sales[QUANTITY], AMOUNT: -sales[AMOUNT]})
        matched = returns.reset_index().merge(
            originals, on=[ORDER_ID, CUSTOMER_ID, PRODUCT, QUANTITY, AMOUNT], suffixes=("", "_sale")
        )
        gap = (matched[ORDER_DATE] - matched[f"{ORDER_DATE}_sale"]).dt.days
        assert matched.loc[gap.between(1, 14), "index"].nunique() == len(returns)

    def test_transactions_stay_inside_the_period(self):
        data = simulate_sales(400, seed=2, start="2024-03-01", end="2024-06-30")
        dates = data.transactions[ORDER_DATE]
        assert dates.min() >= pd.Timestamp("2024-03-01") and dates.max() <= pd.Timestamp("2024-06-30")
        assert dates.is_monotonic_increasing

    def test_default_sample_spans_the_two_years(self, sample):
        dates = sample.transactions[ORDER_DATE]
        assert dates.min() >= pd.Timestamp("2023-01-01") and dates.max() <= pd.Timestamp("2024-12-31")
        assert dates.min() < pd.Timestamp("2023-01-15") and dates.max() > pd.Timestamp("2024-12-15")


class TestProducts:
    def test_each_product_sits_in_its_category(self, sample):
        category_of = {p[0]: p[5] for p in PRODUCTS}
        tx = sample.transactions
        assert (tx[PRODUCT].map(category_of) == tx[CATEGORY]).all()
        assert set(tx[CATEGORY]) == {c[0] for c in CATEGORIES}
        assert all(complement in category_of for pairs in COMPLEMENTS.values() for complement, _ in pairs)

    def test_complements_are_bought_together(self, sample):
        """The catalogue's complements show as strong order-level rules; unrelated products do not."""
        baskets = build_baskets(sample.transactions, basket_by="order")
        itemsets = frequent_itemsets(baskets.matrix, min_count=50, max_len=2)
        rules = association_rules(itemsets, baskets.items).set_index(["antecedent", "consequent"])
        for pair in [("Gift bag", "Gift box"), ("Tea knife", "Pu'er cake"), ("Teapot", "Tea cups")]:
            assert rules.loc[pair, "lift"] > 2.5, pair
        assert rules["lift"].min() < 1.5

    def test_customers_lean_to_a_favourite_category(self, sample):
        sales = _sales(sample.transactions)
        shares = sales.groupby(CUSTOMER_ID)[CATEGORY].value_counts(normalize=True)
        busy = sales.groupby(CUSTOMER_ID).size() >= 20
        top_share = shares.groupby(level=0).max()[busy]
        overall = sales[CATEGORY].value_counts(normalize=True).max()
        assert top_share.median() > overall + 0.1


class TestCustomers:
    def test_every_buyer_is_in_the_master_and_prospects_never_buy(self, sample):
        buyers = set(sample.transactions[CUSTOMER_ID])
        master = set(sample.customers[CUSTOMER_ID])
        assert len(buyers) == 2000
        assert buyers <= master
        assert len(master - buyers) == 60  # default: 3% of the buyers

    @pytest.mark.parametrize("prospects", [0, 7])
    def test_explicit_number_of_prospects(self, prospects):
        data = simulate_sales(50, seed=1, prospects=prospects)
        assert len(data.customers) == 50 + prospects
        assert data.transactions[CUSTOMER_ID].nunique() == 50

    def test_value_components_are_scores_that_rise_with_revenue(self, sample):
        scores = sample.customers[[*VALUE_COMPONENTS, *COST_COMPONENTS]]
        assert scores.stack().between(0, 100).all()
        revenue = sample.transactions.groupby(CUSTOMER_ID)[AMOUNT].sum()
        joined = sample.customers.set_index(CUSTOMER_ID).join(revenue).fillna({AMOUNT: 0.0})
        for col in VALUE_COMPONENTS:
            assert joined[col].corr(joined[AMOUNT], method="spearman") > 0.2, col
        assert joined["time_cost"].corr(joined[AMOUNT], method="spearman") < 0

    def test_names_and_phones_look_real(self, sample):
        customers = sample.customers
        assert customers["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
        assert customers["phone"].str.fullmatch(r"1\d{10}").all()
        assert (customers["signup_date"] <= pd.Timestamp("2024-12-31")).all()


class TestBuyTillYouDie:
    def test_volume_and_repeat_behaviour_are_plausible(self, sample):
        tx = sample.transactions
        assert 15_000 < len(tx) < 26_000
        occasions = _sales(tx).groupby(CUSTOMER_ID)[ORDER_DATE].nunique()
        one_time = (occasions == 1).mean()
        assert 0.15 < one_time < 0.5  # many buy once, most come back
        assert 3 < occasions.mean() < 10
        assert occasions.max() > 5 * occasions.median()  # heavy buyers: gamma-distributed rates

    def test_truth_covers_exactly_the_buyers(self, sample):
        truth = sample.truth
        assert list(truth.columns) == [CUSTOMER_ID, "purchase_rate", "dropout_prob", "alive", "dropout_date"]
        assert set(truth[CUSTOMER_ID]) == set(sample.transactions[CUSTOMER_ID])
        assert truth[CUSTOMER_ID].is_monotonic_increasing
        assert (truth["purchase_rate"] > 0).all() and truth["dropout_prob"].between(0, 1).all()
        assert truth["alive"].dtype == bool and 0.3 < truth["alive"].mean() < 0.8

    def test_dropouts_leave_right_after_their_last_purchase(self, sample):
        truth = sample.truth.set_index(CUSTOMER_ID)
        assert (truth["dropout_date"].isna() == truth["alive"]).all()
        last = _sales(sample.transactions).groupby(CUSTOMER_ID)[ORDER_DATE].max()
        dead = truth[~truth["alive"]]
        pd.testing.assert_series_equal(dead["dropout_date"], last[dead.index], check_names=False)

    def test_customers_who_buy_faster_buy_more(self, sample):
        occasions = _sales(sample.transactions).groupby(CUSTOMER_ID)[ORDER_DATE].nunique()
        joined = sample.truth.set_index(CUSTOMER_ID).join(occasions.rename("occasions"))
        assert joined["purchase_rate"].corr(joined["occasions"], method="spearman") > 0.3
        assert joined["dropout_prob"].corr(joined["occasions"], method="spearman") < -0.2

    @settings(max_examples=25, deadline=None)
    @given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
    def test_invariants_for_any_small_sample(self, n, seed):
        data = simulate_sales(n, seed=seed, start="2024-01-01", end="2024-01-31")
        tx = data.transactions
        assert tx[ORDER_DATE].between(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31")).all()
        assert tx[CUSTOMER_ID].nunique() == n == len(data.truth)
        assert set(tx[CUSTOMER_ID]) <= set(data.customers[CUSTOMER_ID])
        assert _is_cents(tx[AMOUNT]) and (_sales(tx)[QUANTITY] >= 1).all()


class TestOptions:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"n_customers": 0},
            {"n_customers": 10, "prospects": -1},
            {"n_customers": 10, "start": "2024-02-01", "end": "2024-01-01"},
            {"n_customers": 10, "start": "someday"},
            {"n_customers": 9_999_999, "prospects": 1},
        ],
    )
    def test_bad_options_are_refused(self, kwargs):
        with pytest.raises(OptionError):
            simulate_sales(**kwargs)

    def test_unknown_language_is_refused(self, sample):
        with pytest.raises(OptionError):
            localise_sample(sample, "fr")


class TestLocalise:
    def test_english_export_headers_and_typed_values(self, sample):
        data = localise_sample(sample, "en")
        assert list(data.transactions.columns) == EN_TX
        assert list(data.customers.columns) == EN_CUSTOMERS
        assert pd.api.types.is_datetime64_any_dtype(data.transactions["Order Date"])
        np.testing.assert_array_equal(data.transactions["Customer ID"], sample.transactions[CUSTOMER_ID])
        np.testing.assert_array_equal(data.transactions["Amount"], sample.transactions[AMOUNT])
        assert data.truth is sample.truth

    def test_chinese_export_headers_dates_and_values(self, sample):
        data = localise_sample(sample, "zh")
        tx, customers = data.transactions, data.customers
        assert list(tx.columns) == ZH_TX
        assert list(customers.columns) == ZH_CUSTOMERS
        assert tx["订单日期"].str.fullmatch(ZH_DATE).all()
        assert customers["注册日期"].str.fullmatch(ZH_DATE).all()
        assert set(tx["渠道"]) == set(CHANNEL_ZH.values())
        assert set(tx["区域"]) <= set(REGION_ZH.values())
        assert set(tx["产品"]) <= {p[1] for p in PRODUCTS}
        assert set(tx["品类"]) <= {c[1] for c in CATEGORIES}
        assert customers["客户名称"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
        assert customers["销售员"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
        np.testing.assert_array_equal(tx["客户编号"], sample.transactions[CUSTOMER_ID])
        assert data.truth is sample.truth

    def test_chinese_dates_are_not_zero_padded(self):
        data = simulate_sales(30, seed=3, start="2024-01-05", end="2024-01-05", prospects=1)
        assert set(localise_sample(data, "zh").transactions["订单日期"]) == {"2024年1月5日"}


@pytest.fixture(scope="module")
def english_rows() -> list[tuple]:
    book = openpyxl.load_workbook(SAMPLES / "sales.xlsx", read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


class TestShippedSamples:
    def test_english_file_has_the_export_headers_and_typed_cells(self, english_rows):
        header, body = english_rows[0], english_rows[1:]
        assert list(header) == EN_TX
        assert 15_000 < len(body) < 26_000
        ids = [row[2] for row in body]
        assert all(isinstance(i, str) and len(i) == 7 and i.isdigit() for i in ids if i is not None)
        assert sum(i is None for i in ids) == 2
        dates = [row[1] for row in body]
        assert sum(d == "n/a" for d in dates) == 1
        assert all(hasattr(d, "year") for d in dates if d != "n/a")
        amounts = [row[EN_TX.index("Amount")] for row in body]
        assert [a for a in amounts if isinstance(a, str)] == ["¥1,234.50"]

    def test_english_file_has_about_one_percent_duplicated_lines(self, english_rows):
        body = english_rows[1:]
        duplicates = len(body) - len(set(body))
        assert 0.005 * len(body) < duplicates < 0.015 * len(body)

    def test_customer_master_matches_the_english_file(self, english_rows):
        master = pd.read_csv(SAMPLES / "customers.csv", dtype={"customer_id": str, "phone": str}, encoding="utf-8-sig")
        assert list(master.columns) == [
            "customer_id",
            "name",
            "region",
            "salesperson",
            "signup_date",
            "phone",
            *VALUE_COMPONENTS,
            *COST_COMPONENTS,
        ]
        buyers = {row[2] for row in english_rows[1:] if row[2] is not None}
        assert buyers < set(master["customer_id"])

    def test_chinese_file_has_chinese_headers_and_text_dates(self):
        book = openpyxl.load_workbook(SAMPLES / "sales_zh.xlsx", read_only=True)
        rows = book.worksheets[0].iter_rows(values_only=True)
        assert list(next(rows)) == ZH_TX
        body = list(rows)
        assert pd.Series([row[1] for row in body]).str.fullmatch(ZH_DATE).all()
        assert all(isinstance(row[2], str) for row in body)

    @pytest.mark.parametrize("name", ["sales.xlsx", "sales_zh.xlsx", "customers.csv"])
    def test_each_file_is_under_two_megabytes(self, name):
        assert (SAMPLES / name).stat().st_size < 2_000_000
