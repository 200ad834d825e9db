"""write_table: CSV/Parquet/JSON keep canonical names and values; CSV is safe to open in Excel."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crmkit.errors import OptionError, OutputError
from crmkit.output import tables
from crmkit.output.tables import write_json, write_table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(
                ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "王伟", "C-3"], dtype="str"
            ),
            "name": pd.Series(["张三", "李四", None, "O'Brien", "a=b", "\rCR", "ok"], dtype="str"),
            "total_revenue": [-2.0, 1234.5, np.nan, 0.0, 1e9, -0.5, 3.25],
            "n_orders": np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64),
            "first_purchase": pd.to_datetime(
                ["2024-01-05", "2023-12-31", None, "2024-02-29", "2024-03-01", "2020-01-01", "2021-06-30"]
            ),
            "tier": pd.Series(["platinum", "gold", "iron", "prospect", "gold", "iron", "iron"], dtype="str"),
            "lifecycle_stage": pd.Series(["growth"] * 7, dtype="str"),
        }
    )


def test_csv_has_a_bom_and_canonical_english_whatever_the_language(tmp_path, frame):
    path = tmp_path / "customers.csv"
    write_table(frame, path, lang="zh")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert list(back.columns) == list(frame.columns)
    assert back["tier"].tolist() == frame["tier"].tolist()
    assert back["name"].iloc[0] == "张三"
    assert back["first_purchase"].iloc[0] == "2024-01-05"


def test_csv_neutralises_formula_text_but_not_numbers(tmp_path, frame):
    path = tmp_path / "customers.csv"
    write_table(frame, path)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    ids = [row[0] for row in rows[1:]]
    assert ids == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "'\tTAB", "王伟", "C-3"]
    assert [row[1] for row in rows[1:]] == ["张三", "李四", "", "O'Brien", "a=b", "'\rCR", "ok"]
    assert [row[2] for row in rows[1:3]] == ["-2", "1234.5"]  # negative numbers stay numbers


def test_csv_floats_have_no_binary_noise_but_keep_twelve_digits(tmp_path):
    path = tmp_path / "x.csv"
    write_table(pd.DataFrame({"v": [0.1 + 0.2, 285.29999999999995, 1234567.891234, 2 / 3]}), path)
    assert path.read_text(encoding="utf-8-sig").splitlines()[1:5] == ["0.3", "285.3", "1234567.89123", "0.666666666667"]


def test_csv_neutralises_object_and_categorical_columns_without_changing_the_frame(tmp_path):
    frame = pd.DataFrame(
        {"a": ["=1", 5, None, "-x"], "b": pd.Categorical(["+", "ok", "ok", "@"]), "c": [-1, -2, -3, -4]}
    )
    before = frame.copy()
    path = tmp_path / "x.csv"
    write_table(frame, path)
    pd.testing.assert_frame_equal(frame, before)
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["a,b,c", "'=1,'+,-1", "5,ok,-2", ",ok,-3", "'-x,'@,-4"]


def test_parquet_round_trip_keeps_canonical_names_values_and_types(tmp_path, frame):
    path = tmp_path / "customers.parquet"
    write_table(frame, path, lang="zh")
    back = pd.read_parquet(path)
    assert list(back.columns) == list(frame.columns)
    assert back["tier"].tolist() == frame["tier"].tolist()
    assert back["customer_id"].tolist() == frame["customer_id"].tolist()  # no quote added: not a spreadsheet
    np.testing.assert_array_equal(back["total_revenue"].to_numpy(), frame["total_revenue"].to_numpy())
    assert (back["first_purchase"].dropna() == frame["first_purchase"].dropna()).all()


def test_parquet_writes_categorical_ids_as_text_and_keeps_other_categoricals(tmp_path):
    ids = [f"C{i:04d}" for i in range(50)][::-1]
    frame = pd.DataFrame(
        {
            "customer_id": pd.Categorical(ids),
            "tier": pd.Categorical(["gold", "iron"] * 25),
            "clv": np.linspace(0, 1, 50),
        }
    )
    path = tmp_path / "customers.parquet"
    write_table(frame, path)
    schema = pq.read_schema(path)
    assert schema.field("customer_id").type == pa.large_string()
    assert pa.types.is_dictionary(schema.field("tier").type)
    back = pd.read_parquet(path)
    assert back["customer_id"].tolist() == ids
    assert isinstance(back["tier"].dtype, pd.CategoricalDtype) and back["tier"].tolist() == frame["tier"].tolist()


def test_json_records_have_iso_dates_and_null_for_missing(tmp_path, frame):
    frame = frame.assign(
        total_margin=[np.inf, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], visited=pd.to_datetime(["2024-01-05 13:45"] * 7)
    )
    path = tmp_path / "customers.json"
    write_table(frame, path, lang="zh")
    records = json.loads(path.read_text(encoding="utf-8"))
    assert len(records) == 7 and list(records[0]) == list(frame.columns)
    assert records[0]["first_purchase"] == "2024-01-05"
    assert records[0]["visited"] == "2024-01-05T13:45:00"
    assert records[2]["first_purchase"] is None and records[2]["total_revenue"] is None
    assert records[0]["total_margin"] is None
    assert records[0]["tier"] == "platinum" and records[1]["name"] == "李四"
    back = pd.read_json(path, orient="records", dtype={"customer_id": str})
    assert back["customer_id"].tolist() == frame["customer_id"].tolist()


def test_xlsx_table_is_labelled_and_text_never_becomes_a_formula(tmp_path, frame):
    path = tmp_path / "customers.xlsx"
    write_table(frame, path, lang="zh")
    ws = openpyxl.load_workbook(path).active
    assert ws.title == "客户"
    assert [c.value for c in ws[1]][:3] == ["客户编号", "客户名称", "累计销售额"]
    ids = [ws.cell(row=r, column=1) for r in range(2, 9)]
    assert [c.value for c in ids] == frame["customer_id"].tolist()
    assert all(c.data_type == "s" for c in ids)
    assert ws["C2"].value == -2.0 and ws["C2"].data_type == "n"
    assert ws["F2"].value == "铂金"


def test_unknown_extension_lists_the_valid_ones(tmp_path, frame):
    with pytest.raises(OutputError, match="unknown file type '.txt'") as error:
        write_table(frame, tmp_path / "out.txt")
    assert ".csv, .parquet, .json, .xlsx" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_unknown_language_is_an_option_error(tmp_path, frame):
    with pytest.raises(OptionError, match="choose one of: en, zh"):
        write_table(frame, tmp_path / "out.csv", lang="fr")


def test_refuses_to_overwrite_an_input(tmp_path, frame):
    source = tmp_path / "sales.csv"
    source.write_text("customer_id\n1\n")
    with pytest.raises(OutputError, match="refusing to overwrite input file"):
        write_table(frame, source, inputs=[source])
    assert source.read_text() == "customer_id\n1\n"


def test_a_crash_while_writing_leaves_the_old_file_and_no_temporary(tmp_path, frame, monkeypatch):
    path = tmp_path / "customers.csv"
    path.write_bytes(b"old contents")

    def crash(df, temporary):
        temporary.write_bytes(b"customer_id,na")
        raise OSError("No space left on device")

    monkeypatch.setitem(tables.WRITERS, ".csv", crash)
    with pytest.raises(OutputError, match="customers.csv: No space left on device"):
        write_table(frame, path)
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["customers.csv"]


def test_write_json_documents(tmp_path):
    path = tmp_path / "model.json"
    write_json(
        {
            "model": "bgnbd",
            "params": {"r": np.float64(0.25), "alpha": float("nan")},
            "n": np.int64(3),
            "as_of": pd.Timestamp("2024-03-01"),
            "at": pd.Timestamp("2024-03-01 08:30"),
            "notes": ("是", None),
            "missing": pd.NaT,
        },
        path,
    )
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "model": "bgnbd",
        "params": {"r": 0.25, "alpha": None},
        "n": 3,
        "as_of": "2024-03-01",
        "at": "2024-03-01T08:30:00",
        "notes": ["是", None],
        "missing": None,
    }


def test_json_text_turns_every_missing_value_into_null():
    """NaN, NaT and pd.NA (a missing count read straight from an Int64 column) come out null, never '<NA>'."""
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "P"],
            "n_orders": pd.array([3, None], dtype="Int64"),
            "clv": [np.float64(12.5), np.nan],
            "active": [np.bool_(True), False],
            "last_purchase": [pd.Timestamp("2024-03-01"), pd.NaT],
        }
    )
    payload = {"records": frame.to_dict(orient="records"), "prospect_orders": frame.at[1, "n_orders"]}
    assert json.loads(tables.json_text(payload)) == {
        "records": [
            {"customer_id": "A", "n_orders": 3, "clv": 12.5, "active": True, "last_purchase": "2024-03-01"},
            {"customer_id": "P", "n_orders": None, "clv": None, "active": False, "last_purchase": None},
        ],
        "prospect_orders": None,
    }
