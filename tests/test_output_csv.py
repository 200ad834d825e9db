"""The columnar CSV writer writes, byte for byte, what pandas' ``to_csv`` wrote before it (headers now
neutralised too), on the shipped sample, on formula-like and Chinese text, and on random tables."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.output import csv_columns, tables
from crmkit.output.csv_columns import CSV_FLOAT_FORMAT, format_g12

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
PREFIXES = ("=", "+", "-", "@", "\t", "\r")
INJECTED_IDS = ['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@x", "=1+1"]
INJECTED_HEADER = '=HYPERLINK("http://evil.example","点我")'


def legacy_csv(frame: pd.DataFrame) -> bytes:
    """The CSV the pandas writer produced (crmkit 0.1.0), headers neutralised like cells as they now are."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype)
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        risky = values.str.startswith(PREFIXES).fillna(False).astype(bool)
        if risky.any():
            values = values.astype(object).copy()
            values[risky] = "'" + values[risky].astype("str")
            out[col] = values
    out.columns = [f"'{name}" if str(name).startswith(PREFIXES) else str(name) for name in out.columns]
    text = out.to_csv(index=False, lineterminator="\r\n", float_format="%.12g")
    return "\ufeff".encode() + text.encode("utf-8")


def written(frame: pd.DataFrame, tmp_path: Path) -> bytes:
    path = tmp_path / "out.csv"
    tables.write_table(frame, path)
    return path.read_bytes()


# --- the sample, through the command line ---------------------------------------------------------------
def _segment_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: object) -> tuple[bytes, pd.DataFrame]:
    """Run `crmkit segment ... --out out.csv`; the CSV's bytes and the table handed to the writer."""
    handed: list[pd.DataFrame] = []

    def keep(frame: pd.DataFrame, path: Path) -> None:
        handed.append(frame)
        csv_columns.write_csv(frame, path)

    monkeypatch.setitem(tables.WRITERS, ".csv", keep)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, [str(a) for a in (*args, "--out", out, "--format", "json")])
    assert result.exit_code == 0, result.output
    return out.read_bytes(), handed[0]


def test_sample_run_writes_the_same_bytes_as_the_pandas_writer(tmp_path, monkeypatch):
    data, frame = _segment_csv(
        tmp_path, monkeypatch, "segment", SAMPLES / "sales.xlsx", "--customers", SAMPLES / "customers.csv"
    )
    assert len(frame) > 2000 and frame.shape[1] > 40
    assert data == legacy_csv(frame)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample with five ids that start like formulas, Chinese names and regions (some holding a comma, a
    quote or a line break) and a master-file column whose name is a formula."""
    folder = tmp_path_factory.mktemp("injected")
    sales = pd.read_excel(SAMPLES / "sales.xlsx", dtype=str, engine="calamine")
    customers = pd.read_csv(SAMPLES / "customers.csv", dtype=str, encoding="utf-8-sig")
    ids = sorted(customers["customer_id"])[: len(INJECTED_IDS)]
    renamed = dict(zip(ids, INJECTED_IDS))
    sales["Customer ID"] = sales["Customer ID"].replace(renamed)
    customers["customer_id"] = customers["customer_id"].replace(renamed)
    customers.loc[customers.index[:40], "name"] = ["王伟", "李娜, 华东", '张"强"', "刘\n芳"] * 10
    customers.loc[customers.index[:40], "region"] = "华东"
    customers[INJECTED_HEADER] = "=1+1"
    sales_path, customers_path = folder / "sales.csv", folder / "customers.csv"
    sales.to_csv(sales_path, index=False)
    customers.to_csv(customers_path, index=False)
    return sales_path, customers_path


def test_formula_like_ids_chinese_text_and_a_formula_header_match_the_pandas_writer(tmp_path, monkeypatch, injected):
    sales, customers = injected
    data, frame = _segment_csv(
        tmp_path, monkeypatch, "segment", sales, "--customers", customers, "--include-attributes"
    )
    assert data == legacy_csv(frame)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert f"'{INJECTED_HEADER}" in rows[0]
    assert {f"'{text}" for text in INJECTED_IDS} <= {row[0] for row in rows[1:]}
    assert {"王伟", "李娜, 华东", '张"强"', "刘\n芳"} <= {cell for row in rows[1:] for cell in row}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_workbook_writes_a_formula_like_header_as_text(tmp_path, injected, lang):
    """The workbook needs no quote: xlsxwriter writes every header as a string cell, never a formula."""
    sales, customers = injected
    out = tmp_path / "report.xlsx"
    args = ["segment", sales, "--customers", customers, "--include-attributes", "--out", out, "--lang", lang]
    result = CliRunner().invoke(app, [str(a) for a in (*args, "--format", "json")])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out, read_only=True).worksheets[1]
    header = next(sheet.iter_rows(min_row=1, max_row=1))
    cells = [cell for cell in header if cell.value == INJECTED_HEADER]
    assert len(cells) == 1 and cells[0].data_type == "s"


# --- small tables: every kind of column ----------------------------------------------------------------
def test_text_cells_and_headers_are_neutralised_and_quoted_like_the_csv_module(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "王伟"]),
            "=cmd|' /C calc'!A0": ["a,b", 'say "hi"', "line\nbreak", "cr\rinside", "", None, "C-3"],
            "-2": pd.Categorical(["+", "ok", None, "@", "ok", "=", "ok"]),
            "objects": pd.Series(["=1", 5, None, "-x", 2.5, 0.1 + 0.2, True], dtype=object),
        }
    )
    data = written(frame, tmp_path)
    assert data == legacy_csv(frame)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["customer_id", "'=cmd|' /C calc'!A0", "'-2", "objects"]
    assert [row[0] for row in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tTAB",
        "'\rCR",
        "王伟",
    ]
    assert [row[3] for row in rows[1:]] == ["'=1", "5", "", "'-x", "2.5", "0.30000000000000004", "True"]


def test_numbers_dates_and_missing_values_match_the_pandas_writer(tmp_path):
    frame = pd.DataFrame(
        {
            "total_revenue": [-2.0, 1234.5, np.nan, 0.0, 1e9, -0.5, np.inf],
            "p_alive": [1e-5, 0.3 + 1e-17, 2 / 3, -0.0, 123456789012.5, 1e12, 9.99999999999995e-5],
            "n_orders": np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64),
            "value_rank": pd.array([1, None, 3, 4, 5, 6, -7], dtype="Int64"),
            "r_score": np.array([1, 2, 3, 4, 5, 1, 2], dtype=np.int8),
            "margin": pd.array([1.5, None, 0.1 + 0.2, 4, 5, 6, 7], dtype="Float64"),
            "active": [True, False, True, True, False, False, True],
            "maybe": pd.array([True, None, False, True, None, None, True], dtype="boolean"),
            "first_purchase": pd.to_datetime(
                ["2024-01-05", "2023-12-31", None, "2024-02-29", "2024-03-01", "2020-01-01", "2021-06-30"]
            ),
            "visited": pd.to_datetime(["2024-01-05 13:45", None] + ["2023-01-01 00:00:01"] * 5, format="ISO8601"),
            "stamp_ms": pd.to_datetime(["2024-01-05 13:45:00.5", None] + ["1969-12-31 23:59:59"] * 5, format="ISO8601"),
            "gap": pd.to_timedelta([1, None, 3, 4, 5, 6, 7], unit="D"),
            "zoned": pd.to_datetime(["2024-01-05"] * 7).tz_localize("Asia/Shanghai"),
        }
    )
    assert written(frame, tmp_path) == legacy_csv(frame)


def test_arrow_backed_columns_in_several_chunks_match_the_pandas_writer(tmp_path):
    def chunked(values: list, dtype: pd.ArrowDtype) -> pd.Series:
        half = len(values) // 2
        parts = [pd.Series(values[:half], dtype=dtype), pd.Series(values[half:], dtype=dtype)]
        return pd.concat(parts, ignore_index=True)

    frame = pd.DataFrame(
        {
            "id": chunked(["=1", "a,b", None, "王伟"], pd.ArrowDtype(pa.string())),
            "n": chunked([1, None, -3, 4], pd.ArrowDtype(pa.int64())),
            "x": chunked([0.1 + 0.2, None, 1e-5, 2.5], pd.ArrowDtype(pa.float64())),
            "ok": chunked([True, None, False, True], pd.ArrowDtype(pa.bool_())),
        }
    )
    assert written(frame, tmp_path) == legacy_csv(frame)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("finest", ["", ".5", ".000001", ".000000001"])
def test_datetimes_show_the_digits_their_finest_value_needs(tmp_path, unit, finest):
    values = pd.Series(pd.to_datetime(["2024-01-05 13:45:00", f"2024-01-05 00:00:00{finest}", None], format="ISO8601"))
    if unit == "s" or (unit == "ms" and len(finest) > 4) or (unit == "us" and len(finest) > 7):
        values = values.dt.floor({"s": "s", "ms": "ms", "us": "us"}[unit])
    frame = pd.DataFrame({"at": values.astype(f"datetime64[{unit}]"), "n": 1})
    assert written(frame, tmp_path) == legacy_csv(frame)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["", None, "x"]}),
        pd.DataFrame({"": [1.5, np.nan]}),
        pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype=float)}),
        pd.DataFrame(columns=["source_file", "source_row", "reason"]),
        pd.DataFrame({0: [1], 1: ["x"]}),
        pd.DataFrame(index=range(3)),
    ],
    ids=["one-text-column", "one-unnamed-float-column", "no-rows", "no-rows-object", "integer-names", "no-columns"],
)
def test_edge_shapes_match_the_pandas_writer(tmp_path, frame):
    assert written(frame, tmp_path) == legacy_csv(frame)


def test_many_rows_are_written_in_blocks_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_columns, "BLOCK_ROWS", 7)
    n = 100
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{i:05d}" for i in range(n)]).astype("category"),
            "v": np.linspace(-3, 3, n) / 7,
            "d": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )
    assert written(frame, tmp_path) == legacy_csv(frame)


TEXT = st.text(alphabet=st.sampled_from(list("ab=+-@\t\r\n,\"' 王伟0.5e")), max_size=6)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.5, 285.3, 1e-5, 1e12, 2 / 3])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.none() | TEXT, min_size=1, max_size=12),
    data=st.data(),
)
def test_random_tables_match_the_pandas_writer(tmp_path_factory, texts, data):
    n = len(texts)
    floats = data.draw(st.lists(FLOATS, min_size=n, max_size=n))
    integers = data.draw(st.lists(st.none() | st.integers(-(2**62), 2**62), min_size=n, max_size=n))
    days = data.draw(st.lists(st.none() | st.integers(-200_000, 2_900_000), min_size=n, max_size=n))
    seconds = data.draw(st.lists(st.integers(0, 86_399), min_size=n, max_size=n))
    half = len(texts) // 2  # text in two Arrow chunks, as pandas holds it after a concat or a Parquet read
    frame = pd.DataFrame(
        {
            "text": pd.concat(
                [pd.Series(texts[:half], dtype="str"), pd.Series(texts[half:], dtype="str")], ignore_index=True
            ),
            "category": pd.Series(texts, dtype="category"),
            "float": floats,
            "int": pd.array(integers, dtype="Int64"),
            "date": pd.Series([None if d is None else np.datetime64(d, "D") for d in days], dtype="datetime64[s]"),
            "time": pd.Series(
                [None if d is None else np.datetime64(d * 86_400 + s, "s") for d, s in zip(days, seconds)],
                dtype="datetime64[s]",
            ),
        }
    )
    assert written(frame, tmp_path_factory.mktemp("csv")) == legacy_csv(frame)


# --- floats ---------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 40), elements=st.floats(allow_nan=True, allow_infinity=True)))
@example(np.array([0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e22, 1e-11, 1e33, 123456789012.5, 0.1 + 0.2]))
def test_float_text_is_percent_12g(numbers):
    assert format_g12(numbers).to_pylist() == [
        None if math.isnan(v) else CSV_FLOAT_FORMAT % v for v in numbers.tolist()
    ]


def test_twelve_digit_ties_and_powers_of_ten_round_as_printf_does():
    rng = np.random.default_rng(5)
    digits = rng.integers(10**11, 10**12, 20_000)
    ties = (digits * 10 + 5) / 10.0 ** rng.integers(0, 16, len(digits))  # a 5 in the 13th digit
    powers = 10.0 ** np.arange(-20, 25)
    near = np.concatenate([np.nextafter(powers, 0), powers, np.nextafter(powers, np.inf)])
    for numbers in (ties, -ties, near, near * 9.999999999995):
        assert format_g12(numbers).to_pylist() == [CSV_FLOAT_FORMAT % v for v in numbers.tolist()]
