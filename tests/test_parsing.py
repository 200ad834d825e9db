"""Raw export values to canonical ones: headers, ids, amounts and dates (hand-checked values and invariants)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmkit.errors import BadValueError, CrmkitError, OptionError
from crmkit.ingest.columns import (
    CUSTOMER_ALIASES,
    TRANSACTION_ALIASES,
    canonical_name,
    check_override_keys,
    match_columns,
    normalise_header,
)
from crmkit.ingest.dates import parse_date, parse_dates
from crmkit.ingest.ids import _fixed_width_ids, clean_ids
from crmkit.ingest.numbers import parse_numbers

JAN_5 = pd.Timestamp("2024-01-05")


def _objects(values: list) -> pd.Series:
    return pd.Series(values, dtype=object)


def _ids(values: pd.Series, **kwargs) -> list:
    """Cleaned ids as plain Python values (None for missing)."""
    cleaned = clean_ids(values, **kwargs)
    return [None if pd.isna(v) else v for v in cleaned.tolist()]


# --- headers ----------------------------------------------------------------------
class TestHeaders:
    @pytest.mark.parametrize(
        "header", ["Customer ID", "customer_id", "CUSTOMERID", "customer-id", " Customer.ID ", "ＣＵＳＴＯＭＥＲ　ＩＤ"]
    )
    def test_normalise_header_ignores_case_width_and_punctuation(self, header):
        assert normalise_header(header) == "customerid"

    def test_normalise_header_drops_chinese_brackets_and_colons(self):
        assert normalise_header("金额（元）") == "金额元"
        assert normalise_header("日期：") == "日期"

    @pytest.mark.parametrize(
        ("header", "canonical"),
        [
            ("CUSTOMER ID", "customer_id"),
            ("customerid", "customer_id"),
            ("客户编号", "customer_id"),
            ("会员号", "customer_id"),
            ("InvoiceDate", "order_date"),
            ("下单时间", "order_date"),
            ("日期", "order_date"),
            ("Sales", "amount"),
            ("销售额", "amount"),
            ("实付金额", "amount"),
            ("Invoice", "order_id"),
            ("订单号", "order_id"),
            ("Qty", "quantity"),
            ("毛利", "margin"),
            ("SKU", "product"),
            ("渠道", "channel"),
            ("业务员", "salesperson"),
            ("大区", "region"),
        ],
    )
    def test_each_alias_maps_to_its_canonical_column(self, header, canonical):
        assert match_columns([header], TRANSACTION_ALIASES, {}) == {canonical: header}

    @pytest.mark.parametrize("name_header", ["客户名称", "Customer Name"])
    def test_a_customer_name_is_never_the_id(self, name_header):
        assert "customer_id" not in match_columns([name_header, "日期", "金额"], TRANSACTION_ALIASES, {})
        mapping = match_columns([name_header, "客户编号", "日期", "金额"], TRANSACTION_ALIASES, {})
        assert mapping["customer_id"] == "客户编号"

    def test_name_is_recognised_in_the_customer_master(self):
        assert match_columns(["客户编号", "客户名称"], CUSTOMER_ALIASES, {}) == {
            "customer_id": "客户编号",
            "name": "客户名称",
        }

    def test_override_beats_aliases_and_its_header_is_used_once(self):
        headers = ["客户编号", "日期", "实付金额", "实收金额"]
        assert match_columns(headers, TRANSACTION_ALIASES, {})["amount"] == "实付金额"
        mapping = match_columns(headers, TRANSACTION_ALIASES, {"amount": "实收金额"})
        assert mapping["amount"] == "实收金额"
        assert list(mapping.values()).count("实收金额") == 1

    def test_override_header_matches_case_insensitively(self):
        mapping = match_columns(["Net Paid", "Client ID", "Date"], TRANSACTION_ALIASES, {"amount": "net_paid"})
        assert mapping == {"amount": "Net Paid", "customer_id": "Client ID", "order_date": "Date"}

    def test_override_naming_a_missing_header_is_left_out(self):
        mapping = match_columns(["客户编号", "日期", "金额"], TRANSACTION_ALIASES, {"amount": "实收金额"})
        assert "amount" not in mapping  # not silently replaced by the '金额' alias

    def test_a_header_is_claimed_by_one_column_only(self):
        # '销售' is a salesperson alias; '销售额' is an amount alias: neither steals the other.
        mapping = match_columns(["客户编号", "日期", "销售额", "销售"], TRANSACTION_ALIASES, {})
        assert mapping["amount"] == "销售额" and mapping["salesperson"] == "销售"

    def test_unknown_override_key_is_an_option_error(self):
        with pytest.raises(OptionError, match="customerid") as caught:
            check_override_keys({"customerid": "x"}, TRANSACTION_ALIASES)
        assert "customer_id" in str(caught.value)  # the hint lists the canonical names
        check_override_keys({"amount": "实收金额"}, TRANSACTION_ALIASES)


# --- ids --------------------------------------------------------------------------
class TestCleanIds:
    def test_numbers_lose_the_spurious_decimal(self):
        assert _ids(pd.Series([12345.0, 7.0, np.nan, 1.5])) == ["12345", "7", None, "1.5"]

    def test_text_keeps_leading_zeros_and_is_trimmed(self):
        assert _ids(_objects(["0001234", " 7 ", "7", "", None, "  "])) == ["0001234", "7", "7", None, None, None]

    def test_mixed_numbers_and_text_give_one_category_per_id(self):
        cleaned = clean_ids(_objects([12345, 12345.0, "12345", " 12345", "A-1"]))
        assert cleaned.tolist() == ["12345"] * 4 + ["A-1"]
        assert list(cleaned.cat.categories) == ["12345", "A-1"]

    def test_zero_pad_restores_hidden_zeros_on_digits_only(self):
        assert _ids(pd.Series([1234, 56, 7654321]), zero_pad=7) == ["0001234", "0000056", "7654321"]
        assert _ids(_objects(["1234", "AB-1"]), zero_pad=7) == ["0001234", "AB-1"]

    def test_categorical_input_is_cleaned_by_category(self):
        raw = pd.Series(pd.Categorical([" a", "a", None, "b "]))
        assert _ids(raw) == ["a", "a", None, "b"]

    def test_result_is_categorical_text_on_the_same_index(self):
        raw = pd.Series(["x", "y"], index=[10, 20])
        cleaned = clean_ids(raw)
        assert isinstance(cleaned.dtype, pd.CategoricalDtype)
        assert list(cleaned.index) == [10, 20]

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1), min_size=1, max_size=20))
    def test_integer_floats_never_get_a_decimal_suffix(self, numbers):
        cleaned = _ids(pd.Series(numbers, dtype="float64"))
        assert cleaned == [str(n) for n in numbers]
        assert not any(text.endswith(".0") for text in cleaned)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
    @example([2.0**53, 1e15 + 0.5, 9.9e15, -(2.0**60), 1e300])  # integers above 2**53 print without '.0' too
    def test_no_float_id_ends_in_dot_zero(self, numbers):
        cleaned = _ids(pd.Series(numbers, dtype="float64"))
        assert not any(text.endswith(".0") for text in cleaned)


# --- numbers ----------------------------------------------------------------------
class TestParseNumbers:
    def test_currency_thousands_and_accounting_negatives(self):
        parsed = parse_numbers(
            _objects(["¥1,234.50", "$12", "(35.00)", "-20", "12元", "RMB 5", "€3.5", "1 200", "(¥35.00)", "￥8"])
        )
        np.testing.assert_array_equal(parsed.values, [1234.5, 12, -35, -20, 12, 5, 3.5, 1200, -35, 8])
        assert not parsed.bad.any()

    def test_empty_is_missing_but_not_bad_and_text_is_bad(self):
        parsed = parse_numbers(_objects(["", None, "abc", "  ", "3"]))
        np.testing.assert_array_equal(parsed.values, [np.nan, np.nan, np.nan, np.nan, 3.0])
        assert parsed.bad.tolist() == [False, False, True, False, False]

    def test_the_decimal_mark_is_decided_from_the_whole_column(self):
        comma = parse_numbers(_objects(["12,50", "1.234,50", "1,5", "1.500", "(3,00)", "7"]))
        np.testing.assert_array_equal(comma.values, [12.5, 1234.5, 1.5, 1500, -3, 7])
        assert comma.decimal == "," and not comma.bad.any()
        dot = parse_numbers(_objects(["1,234", "-1,234,567.5", "1，234", "(1,000)", "1.500"]))
        np.testing.assert_array_equal(dot.values, [1234, -1234567.5, 1234, -1000, 1.5])
        assert dot.decimal == "."

    def test_a_column_using_both_marks_is_refused_with_examples(self):
        with pytest.raises(BadValueError, match="both decimal marks") as caught:
            parse_numbers(_objects(["12,50", "1,234.50"]), where="f.csv, column 'x': ")
        assert (
            "'12,50'" in str(caught.value) and "'1,234.50'" in str(caught.value) and "decimal=','" in str(caught.value)
        )

    def test_a_column_that_cannot_tell_takes_the_file_mark_or_is_refused(self):
        either = _objects(["1.500", "2.250", "3"])
        with pytest.raises(BadValueError, match="could mean 1500") as caught:
            parse_numbers(either, where="f.csv, column 'x': ")
        assert "1.5 (a decimal mark)" in str(caught.value) and "decimal=','" in str(caught.value)
        np.testing.assert_array_equal(parse_numbers(either, fallback=",").values, [1500, 2250, 3])
        np.testing.assert_array_equal(parse_numbers(either, decimal=".").values, [1.5, 2.25, 3])
        np.testing.assert_array_equal(parse_numbers(_objects(["0.500", "12"])).values, [0.5, 12])  # no group of 0

    def test_numeric_columns_pass_through(self):
        parsed = parse_numbers(pd.Series([1, 2, 3], dtype="int64"))
        np.testing.assert_array_equal(parsed.values, [1.0, 2.0, 3.0])
        assert parsed.values.dtype == np.float64 and not parsed.bad.any()

    def test_repeated_values_map_back_to_every_row(self):
        parsed = parse_numbers(_objects(["$5", "x", "$5", None, "x"]))
        np.testing.assert_array_equal(parsed.values, [5, np.nan, 5, np.nan, np.nan])
        assert parsed.bad.tolist() == [False, True, False, False, True]

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=1, max_size=20),
        st.sampled_from(["¥{:,.2f}", "${:,.2f}", "{:,.2f}元", "RMB {:,.2f}"]),
    )
    def test_formatted_numbers_round_trip(self, numbers, style):
        parsed = parse_numbers(_objects([style.format(x) for x in numbers]))
        expected = [float(f"{x:.2f}") for x in numbers]
        np.testing.assert_allclose(parsed.values, expected, rtol=0, atol=1e-6)
        assert not parsed.bad.any()

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.floats(min_value=0.005, max_value=1e9, allow_nan=False), min_size=1, max_size=20))
    def test_parenthesised_amounts_are_negative(self, numbers):
        parsed = parse_numbers(_objects([f"(¥{x:,.2f})" for x in numbers]))
        np.testing.assert_allclose(parsed.values, [-float(f"{x:.2f}") for x in numbers], rtol=0, atol=1e-6)


# --- dates ------------------------------------------------------------------------
class TestParseDates:
    @pytest.mark.parametrize(
        ("raw", "style", "expected"),
        [
            ("2024-01-05", "iso", JAN_5),
            ("2024-1-5", "iso", JAN_5),
            ("2024-01-05 13:45", "iso", pd.Timestamp("2024-01-05 13:45")),
            ("2024-01-05T13:45:10", "iso", pd.Timestamp("2024-01-05 13:45:10")),
            ("2024-01-05T13:45:00+08:00", "iso", pd.Timestamp("2024-01-05 13:45")),  # wall clock kept
            ("2024/1/5", "y/m/d", JAN_5),
            ("2024.01.05", "y/m/d", JAN_5),
            ("2024年1月5日", "年月日", JAN_5),
            ("2024年1月5日 13:45", "年月日", pd.Timestamp("2024-01-05 13:45")),
            ("20240105", "yyyymmdd", JAN_5),
            ("45296", "excel serial", JAN_5),
            ("45296.5", "excel serial", pd.Timestamp("2024-01-05 12:00")),
            ("5 Jan 2024", "text", JAN_5),
        ],
    )
    def test_each_text_style(self, raw, style, expected):
        parsed = parse_dates(_objects([raw]))
        assert parsed.values.iloc[0] == expected
        assert parsed.styles == {style: 1}
        assert not parsed.bad.any()

    def test_numbers_are_excel_serials_or_yyyymmdd(self):
        parsed = parse_dates(pd.Series([45296, 45296.5, 20240105, 5, 12345678]))
        assert parsed.values.tolist()[:3] == [JAN_5, pd.Timestamp("2024-01-05 12:00"), JAN_5]
        assert parsed.bad.tolist() == [False, False, False, True, True]  # 5 is no date, nor is 12345678
        assert parsed.styles == {"excel serial": 2, "yyyymmdd": 1}

    def test_real_dates_pass_through_and_lose_their_timezone(self):
        naive = pd.Series(pd.to_datetime(["2024-01-05 13:45", None]))
        parsed = parse_dates(naive)
        assert parsed.values.iloc[0] == pd.Timestamp("2024-01-05 13:45") and pd.isna(parsed.values.iloc[1])
        assert not parsed.bad.any() and parsed.styles == {"date": 1}
        aware = pd.Series(pd.to_datetime(["2024-01-05 13:45"]).tz_localize("Asia/Shanghai"))
        assert parse_dates(aware).values.iloc[0] == pd.Timestamp("2024-01-05 13:45")

    def test_python_dates_in_an_object_column(self):
        import datetime as dt

        parsed = parse_dates(_objects([dt.datetime(2024, 1, 5, 13, 45), dt.date(2024, 1, 5), "2024-01-05"]))
        assert parsed.values.tolist() == [pd.Timestamp("2024-01-05 13:45"), JAN_5, JAN_5]
        assert parsed.styles == {"date": 2, "iso": 1}

    def test_missing_is_not_bad_but_nonsense_is(self):
        parsed = parse_dates(_objects([None, "", "hello", "2024-02-30", "2024-01-05"]))
        assert parsed.bad.tolist() == [False, False, True, True, False]
        assert parsed.values.isna().tolist() == [True, True, True, True, False]

    def test_day_first_detected_from_a_day_above_12(self):
        parsed = parse_dates(_objects(["13/01/2024", "02/01/2024", "02/01/2024"]))
        assert parsed.values.tolist() == [
            pd.Timestamp("2024-01-13"),
            pd.Timestamp("2024-01-02"),
            pd.Timestamp("2024-01-02"),
        ]
        assert parsed.date_order == "dmy" and "13/01/2024" in parsed.order_evidence

    def test_month_first_detected_from_a_day_above_12(self):
        parsed = parse_dates(_objects(["01/13/2024", "02/01/2024"]))
        assert parsed.values.tolist() == [pd.Timestamp("2024-01-13"), pd.Timestamp("2024-02-01")]
        assert parsed.date_order == "mdy" and parsed.styles == {"day/month": 2}

    def test_ambiguous_dates_need_a_date_order(self):
        with pytest.raises(BadValueError, match="date_order='dmy'") as caught:
            parse_dates(_objects(["01/02/2024", "03/04/2024"]), where="f.csv, column 'd': ")
        assert str(caught.value).startswith("f.csv, column 'd': ")
        assert parse_dates(_objects(["01/02/2024"]), date_order="dmy").values.iloc[0] == pd.Timestamp("2024-02-01")
        assert parse_dates(_objects(["01/02/2024"]), date_order="mdy").values.iloc[0] == pd.Timestamp("2024-01-02")

    def test_a_date_order_contradicting_the_data_is_an_error(self):
        with pytest.raises(BadValueError, match="contradicts"):
            parse_dates(_objects(["13/01/2024"]), date_order="mdy")
        assert parse_dates(_objects(["13/01/2024"]), date_order="dmy").date_order == "dmy"

    def test_both_orders_in_one_column_is_an_error(self):
        with pytest.raises(BadValueError, match="mix day/month"):
            parse_dates(_objects(["13/01/2024", "01/13/2024"]))

    def test_a_date_fitting_neither_order_is_bad_not_evidence(self):
        parsed = parse_dates(_objects(["13/13/2024", "13/01/2024"]))
        assert parsed.bad.tolist() == [True, False]
        assert parsed.date_order == "dmy"

    def test_unknown_date_order_is_an_option_error(self):
        with pytest.raises(OptionError, match="ymd"):
            parse_dates(_objects(["01/02/2024"]), date_order="ymd")

    def test_distinct_values_map_back_to_every_row(self):
        raw = _objects(["2024/1/5", None, "2024/1/5", "bad", "2024/1/5"])
        parsed = parse_dates(raw)
        assert parsed.values.tolist()[::2] == [JAN_5] * 3
        assert parsed.styles == {"y/m/d": 3} and parsed.bad.tolist() == [False, False, False, True, False]


class TestParseDate:
    @pytest.mark.parametrize("text", ["2024-06-30", "2024/6/30", "2024年6月30日", "20240630", "30/06/2024"])
    def test_unambiguous_styles(self, text):
        assert parse_date(text) == pd.Timestamp("2024-06-30")

    def test_ambiguous_or_garbage_is_an_option_error_naming_the_option(self):
        with pytest.raises(OptionError, match="--date-order|day/month"):
            parse_date("05/03/2024")
        with pytest.raises(OptionError, match="--since 'soon' is not a date"):
            parse_date("soon", option="--since")

    def test_errors_exit_with_code_2(self):
        with pytest.raises(CrmkitError) as caught:
            parse_date("garbage")
        assert caught.value.exit_code == 2


def test_full_width_numbers_are_read_and_infinity_is_not_an_amount():
    parsed = parse_numbers(pd.Series(["１２３", "（35.00）", "￥1，234.50", "inf", "1e999"], dtype=object))
    np.testing.assert_array_equal(parsed.values[:3], [123.0, -35.0, 1234.5])
    assert parsed.bad.tolist() == [False, False, False, True, True]


@pytest.mark.parametrize(
    "cells, numbers, bad",
    [
        ([4, 2.5, None, float("inf")], [4.0, 2.5, np.nan, np.nan], [False, False, False, True]),  # spreadsheet numbers
        ([4.0, "¥3", None, True], [4.0, 3.0, np.nan, np.nan], [False, False, False, True]),  # mixed: read as text
    ],
)
def test_cells_holding_numbers_are_taken_as_they_are(cells, numbers, bad):
    parsed = parse_numbers(pd.Series(cells, dtype=object))
    np.testing.assert_array_equal(parsed.values, numbers)
    assert parsed.bad.tolist() == bad


def test_canonical_name_maps_known_headers_and_keeps_others():
    assert [canonical_name(h) for h in ("区域", "Sales Rep", "销售员", "VIP等级", "region")] == [
        "region",
        "salesperson",
        "salesperson",
        "VIP等级",
        "region",
    ]


_FIXED_WIDTH_SHAPED = st.tuples(st.sampled_from(["", "C", "VIP-", "会员"]), st.integers(1, 9)).flatmap(
    lambda shape: st.lists(
        st.integers(0, 10 ** shape[1] - 1).map(lambda n: f"{shape[0]}{n:0{shape[1]}d}"), min_size=1, max_size=60
    )
)
_FIXED_WIDTH_IDS = st.one_of(
    _FIXED_WIDTH_SHAPED,
    st.lists(st.sampled_from(["001", "01", " 001", "A01", "B1", "1 ", "２", "10"]), min_size=1, max_size=30),
)
_TEXT_TYPES = st.sampled_from([pa.string(), pa.large_string()])


def _two_chunks(ids: list[str], cut: int, text_type: pa.DataType) -> pa.ChunkedArray:
    """Two chunks, the second a slice of a longer array (non-zero offset), as a multi-block CSV read gives."""
    cut = min(cut, len(ids))
    return pa.chunked_array([pa.array(ids[:cut], type=text_type), pa.array(["pad", *ids[cut:]], type=text_type)[1:]])


@settings(max_examples=120, deadline=None)
@given(_FIXED_WIDTH_IDS, st.integers(0, 60), _TEXT_TYPES)
def test_arrow_ids_give_the_same_categories_as_the_general_path(ids, cut, text_type):
    arrow = pd.Series(pd.arrays.ArrowStringArray(_two_chunks(ids, cut, text_type)))
    fast, general = clean_ids(arrow), clean_ids(pd.Series(ids, dtype=object))
    assert fast.tolist() == general.tolist()
    assert list(fast.cat.categories) == sorted(set(general.dropna()))


@settings(max_examples=60, deadline=None)
@given(_FIXED_WIDTH_SHAPED, st.integers(0, 60), _TEXT_TYPES)
def test_fixed_width_ids_are_ranked_as_numbers_from_their_bytes(ids, cut, text_type):
    codes, categories = _fixed_width_ids(_two_chunks(ids, cut, text_type))
    assert [categories[code] for code in codes] == ids
    assert list(categories) == sorted(set(ids))
