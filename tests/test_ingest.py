"""Reading real files: every format, header aliases, ids, dates, amounts, bad rows, config and the customer master.

Every test writes its input files into ``tmp_path`` and reads them back through the public API.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from crmkit.errors import (
    BadValueError,
    CrmkitError,
    InputFileError,
    MissingColumnsError,
    OptionError,
)
from crmkit.ingest import csvfile
from crmkit.ingest.config import load_config
from crmkit.ingest.customers import load_customers
from crmkit.ingest.files import expand_paths
from crmkit.ingest.inspect import inspect_transactions
from crmkit.ingest.transactions import load_transactions

JAN_5 = pd.Timestamp("2024-01-05")


# --- helpers ---------------------------------------------------------------------------
def write_csv(path: Path, rows: list[list[object]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """Write rows (the first is the header) as delimited text in the given encoding."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path, sheets: dict[str, list[list[object]]], number_formats: dict[str, dict[str, str]] | None = None
) -> Path:
    """Write a workbook: sheet name → rows; ``number_formats`` sheet → {cell range like 'A2:A4': format}."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cells, fmt in (number_formats or {}).get(name, {}).items():
            for line in sheet[cells]:
                for cell in line:
                    cell.number_format = fmt
    book.save(path)
    return path


def records(frame: pd.DataFrame, columns: tuple[str, ...] = ("customer_id", "order_date", "amount")) -> list[tuple]:
    """Rows of the canonical frame as plain tuples (ids as text, dates as Timestamps, missing as None)."""
    out = []
    for row in frame[list(columns)].itertuples(index=False):
        out.append(tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in row))
    return out


BASIC = [
    ["customer_id", "order_date", "amount"],
    ["0001234", "2024-01-05", "10.5"],
    ["0000056", "2024-01-06", "20"],
    ["0001234", "2024-02-01", "-3"],
]
BASIC_RECORDS = [
    ("0001234", JAN_5, 10.5),
    ("0000056", pd.Timestamp("2024-01-06"), 20.0),
    ("0001234", pd.Timestamp("2024-02-01"), -3.0),
]


# --- formats ---------------------------------------------------------------------------
class TestCsvFormats:
    def test_utf8_csv_gives_the_canonical_frame(self, tmp_path):
        path = write_csv(tmp_path / "orders.csv", BASIC)
        data = load_transactions([path])
        assert records(data.frame) == BASIC_RECORDS
        assert isinstance(data.frame["customer_id"].dtype, pd.CategoricalDtype)
        assert data.frame["order_date"].dtype == "datetime64[ns]"
        assert data.frame["amount"].dtype == "float64"
        file = data.report.files[0]
        assert (file.path, file.format, file.dialect.encoding, file.rows) == (str(path), "csv", "utf-8", 3)
        assert (data.report.rows_read, data.report.rows_used, data.report.rows_dropped) == (3, 3, 0)
        assert data.rejects.empty and data.report.drop_counts == {} and data.report.examples == []

    def test_utf8_with_bom_maps_the_first_header(self, tmp_path):
        path = write_csv(tmp_path / "bom.csv", BASIC, encoding="utf-8-sig")
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        data = load_transactions([path])
        assert records(data.frame) == BASIC_RECORDS
        assert data.report.files[0].dialect.encoding == "utf-8 (BOM)"
        assert data.report.files[0].mapping["customer_id"] == "customer_id"

    @pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
    def test_chinese_encodings_decode_headers_and_values(self, tmp_path, encoding):
        rows = [
            ["客户编号", "下单时间", "实付金额", "商品名称", "区域"],
            ["0007", "2024/3/1", "12.5", "龙井绿茶", "华东"],
            ["0008", "2024/3/2", "1,000", "普洱", "华南"],
        ]
        path = write_csv(tmp_path / "订单.csv", rows, encoding=encoding)
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
        data = load_transactions([path])
        assert data.report.files[0].dialect.encoding == "gb18030"
        assert data.report.files[0].mapping == {
            "customer_id": "客户编号",
            "order_date": "下单时间",
            "amount": "实付金额",
            "product": "商品名称",
            "region": "区域",
        }
        assert records(data.frame, ("customer_id", "order_date", "amount", "product", "region")) == [
            ("0007", pd.Timestamp("2024-03-01"), 12.5, "龙井绿茶", "华东"),
            ("0008", pd.Timestamp("2024-03-02"), 1000.0, "普洱", "华南"),
        ]

    def test_tsv(self, tmp_path):
        path = write_csv(tmp_path / "orders.tsv", BASIC, delimiter="\t")
        data = load_transactions([path])
        assert records(data.frame) == BASIC_RECORDS
        assert data.report.files[0].format == "tsv"

    def test_semicolon_csv(self, tmp_path):
        rows = [["Customer ID", "Order Date", "Amount"], ["A1", "2024-01-05", "¥1,234.50"], ["A2", "2024-01-06", "7"]]
        path = write_csv(tmp_path / "orders.csv", rows, delimiter=";")
        data = load_transactions([path])
        assert records(data.frame) == [("A1", JAN_5, 1234.5), ("A2", pd.Timestamp("2024-01-06"), 7.0)]
        assert data.report.files[0].format == "csv"

    def test_semicolon_csv_with_decimal_commas_reads_the_comma_as_decimal_mark(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["A1", "2024-01-05", "12,50"], ["A2", "2024-01-06", "7"]]
        data = load_transactions([write_csv(tmp_path / "eu.csv", rows, delimiter=";")])
        assert records(data.frame) == [("A1", JAN_5, 12.5), ("A2", pd.Timestamp("2024-01-06"), 7.0)]
        assert data.report.files[0].dialect.decimal == {"amount": ","}


class TestLateSurprises:
    """What the CSV reader meets after its first block or after the first megabyte (where the encoding was
    guessed): nothing is dropped or misread, and the report names the encoding actually read."""

    @staticmethod
    def _big_csv(tmp_path: Path, tail: list[list[str]]) -> Path:
        head = "customer_id,order_date,amount,region\n" + "".join(
            f"C{i:05d},2024-01-05,10.5,east\n" for i in range(40_000)
        )  # 1.2 MB of plain ASCII
        path = tmp_path / "big.csv"
        path.write_bytes(head.encode() + "".join(",".join(row) + "\n" for row in tail).encode("gb18030"))
        return path

    @pytest.mark.parametrize("late_text, late_chinese", [(True, False), (False, True), (True, True)])
    def test_late_text_amounts_and_late_gb18030(self, tmp_path, monkeypatch, late_text, late_chinese):
        monkeypatch.setattr(csvfile, "CSV_BLOCK_BYTES", 1 << 16)  # many blocks
        tail = [["C99999", "2024-01-06", "(35.00)" if late_text else "12.5", "华东" if late_chinese else "west"]]
        data = load_transactions([self._big_csv(tmp_path, tail)])
        assert len(data.frame) == 40_001 and data.report.drop_counts == {}
        last = data.frame.loc[data.frame["customer_id"] == "C99999"].iloc[0]
        assert last["amount"] == (-35.0 if late_text else 12.5)
        assert last["region"] == ("华东" if late_chinese else "west")
        assert data.report.files[0].dialect.encoding == ("gb18030" if late_chinese else "utf-8")


class TestExcel:
    def test_first_sheet_by_default_and_sheet_by_name(self, tmp_path):
        path = write_xlsx(
            tmp_path / "book.xlsx",
            {
                "Orders": [["customer_id", "order_date", "amount"], ["A", dt.datetime(2024, 1, 5), 10]],
                "Returns": [["customer_id", "order_date", "amount"], ["B", dt.datetime(2024, 2, 1), -4]],
            },
        )
        first = load_transactions([path])
        assert records(first.frame) == [("A", JAN_5, 10.0)]
        assert first.report.files[0].sheet == "Orders" and first.report.files[0].format == "xlsx"
        chosen = load_transactions([path], sheet="Returns")
        assert records(chosen.frame) == [("B", pd.Timestamp("2024-02-01"), -4.0)]
        assert chosen.report.files[0].sheet == "Returns"

    def test_first_data_row_is_spreadsheet_row_2(self, tmp_path):
        path = write_xlsx(
            tmp_path / "book.xlsx",
            {
                "S": [
                    ["customer_id", "order_date", "amount"],
                    ["A", dt.datetime(2024, 1, 5), "?"],
                    ["B", dt.datetime(2024, 1, 5), 4],
                ]
            },
        )
        data = load_transactions([path])
        assert [(e["file"], e["row"], e["column"], e["value"]) for e in data.report.examples] == [
            (str(path), 2, "amount", "?")
        ]

    def test_unknown_sheet_lists_the_sheets(self, tmp_path):
        path = write_xlsx(tmp_path / "book.xlsx", {"Orders": BASIC, "Notes": [["x"]]})
        with pytest.raises(InputFileError) as caught:
            load_transactions([path], sheet="2024")
        message = str(caught.value)
        assert str(path) in message and "'2024'" in message and "Orders, Notes" in message

    def test_title_row_above_the_header_and_spreadsheet_row_numbers(self, tmp_path):
        path = write_xlsx(
            tmp_path / "report.xlsx",
            {
                "Sheet1": [
                    ["2024 年销售明细"],
                    [None],
                    ["客户编号", "下单时间", "销售额"],
                    ["C1", dt.datetime(2024, 1, 5), 10],  # spreadsheet row 4
                    [None, dt.datetime(2024, 1, 6), 11],  # row 5: no id
                    ["C3", dt.datetime(2024, 1, 7), "n/a"],  # row 6: no amount
                ]
            },
        )
        data = load_transactions([path])
        assert records(data.frame) == [("C1", JAN_5, 10.0)]
        assert [(e["row"], e["column"], e["value"]) for e in data.report.examples] == [
            (5, "客户编号", ""),
            (6, "销售额", "n/a"),
        ]

    def test_real_dates_serials_and_text_dates_in_one_column(self, tmp_path):
        path = write_xlsx(
            tmp_path / "dates.xlsx",
            {
                "S": [
                    ["customer_id", "order_date", "amount"],
                    ["A", dt.datetime(2024, 1, 5, 13, 45), 1],
                    ["B", dt.date(2024, 1, 5), 1],
                    ["C", 45296, 1],  # an Excel serial typed as a plain number
                    ["D", "2024/1/5", 1],
                    ["E", 20240105, 1],
                ]
            },
        )
        data = load_transactions([path])
        assert data.frame["order_date"].tolist() == [pd.Timestamp("2024-01-05 13:45")] + [JAN_5] * 4
        assert data.report.files[0].dialect.date_styles == {"date": 2, "excel serial": 1, "y/m/d": 1, "yyyymmdd": 1}

    def test_zero_number_format_restores_leading_zeros(self, tmp_path):
        path = write_xlsx(
            tmp_path / "ids.xlsx",
            {
                "S": [
                    ["customer_id", "order_date", "amount"],
                    [1234, dt.datetime(2024, 1, 5), 1],
                    [56, dt.datetime(2024, 1, 6), 2],
                    [7654321, dt.datetime(2024, 1, 7), 3],
                ]
            },
            number_formats={"S": {"A2:A4": "0000000"}},
        )
        data = load_transactions([path])
        assert data.frame["customer_id"].tolist() == ["0001234", "0000056", "7654321"]

    def test_text_ids_keep_zeros_and_numeric_ids_never_get_dot_zero(self, tmp_path):
        path = write_xlsx(
            tmp_path / "ids.xlsx",
            {
                "S": [
                    ["customer_id", "order_date", "amount", "order_id"],
                    ["0001234", dt.datetime(2024, 1, 5), 1, 900001],
                    [12345, dt.datetime(2024, 1, 5), 2, 900002.0],
                    [12345.0, dt.datetime(2024, 1, 6), 3, "900003"],
                ]
            },
        )
        frame = load_transactions([path]).frame
        assert frame["customer_id"].tolist() == ["0001234", "12345", "12345"]
        assert list(frame["customer_id"].cat.categories) == ["0001234", "12345"]
        assert frame["order_id"].tolist() == ["900001", "900002", "900003"]


class TestParquet:
    def test_string_ids_and_date_column(self, tmp_path):
        table = pa.table(
            {
                "Customer ID": ["007", "042"],
                "InvoiceDate": pa.array([dt.date(2024, 1, 5), dt.date(2024, 1, 6)]),
                "Sales": [1.5, 2.0],
            }
        )
        pq.write_table(table, tmp_path / "o.parquet")
        data = load_transactions([tmp_path / "o.parquet"])
        assert records(data.frame) == [("007", JAN_5, 1.5), ("042", pd.Timestamp("2024-01-06"), 2.0)]
        assert data.report.files[0].format == "parquet" and data.report.files[0].rows == 2

    def test_integer_ids_and_timestamp_column(self, tmp_path):
        table = pa.table(
            {
                "customer_id": pa.array([12345, 7], pa.int64()),
                "order_date": pa.array([dt.datetime(2024, 1, 5, 13, 45), dt.datetime(2024, 1, 6)], pa.timestamp("us")),
                "amount": pa.array([3, 4], pa.int32()),
            }
        )
        pq.write_table(table, tmp_path / "o.parquet")
        frame = load_transactions([tmp_path / "o.parquet"]).frame
        assert records(frame) == [
            ("12345", pd.Timestamp("2024-01-05 13:45"), 3.0),
            ("7", pd.Timestamp("2024-01-06"), 4.0),
        ]
        assert frame["order_date"].dtype == "datetime64[ns]"

    def test_timezone_aware_timestamps_become_local_wall_clock(self, tmp_path):
        instant = pd.Timestamp("2024-01-05 05:45", tz="UTC")  # 13:45 in Shanghai
        table = pa.table(
            {
                "customer_id": ["A"],
                "amount": [1.0],
                "order_date": pa.array([instant.to_pydatetime()], pa.timestamp("us", tz="Asia/Shanghai")),
            }
        )
        pq.write_table(table, tmp_path / "o.parquet")
        assert load_transactions([tmp_path / "o.parquet"]).frame["order_date"].tolist() == [
            pd.Timestamp("2024-01-05 13:45")
        ]


class TestSeveralFiles:
    def test_files_of_different_formats_are_concatenated_in_order(self, tmp_path):
        csv_path = write_csv(tmp_path / "a.csv", BASIC)
        xlsx_path = write_xlsx(tmp_path / "b.xlsx", {"S": [["客户编号", "日期", "金额"], ["0001234", "2024-03-01", 5]]})
        data = load_transactions([csv_path, xlsx_path])
        assert records(data.frame) == [*BASIC_RECORDS, ("0001234", pd.Timestamp("2024-03-01"), 5.0)]
        assert [f.path for f in data.report.files] == [str(csv_path), str(xlsx_path)]
        assert data.report.rows_read == 4
        assert sorted(data.frame["customer_id"].cat.categories) == ["0000056", "0001234"]

    def test_a_folder_of_monthly_files_counts_an_overlapping_line_once(self, tmp_path):
        folder = tmp_path / "monthly"
        folder.mkdir()
        header = ["order_id", "customer_id", "order_date", "amount", "product"]
        write_csv(
            folder / "2024-01.csv",
            [header, ["O1", "1", "2024-01-30", "10", "tea"], ["O2", "2", "2024-01-31", "7", "tea"]],
        )
        write_csv(
            folder / "2024-02.csv",
            [header, ["O2", "2", "2024-01-31", "7", "tea"], ["O3", "3", "2024-02-01", "8", "cup"]],
        )
        (folder / "~$2024-02.xlsx").write_bytes(b"lock file")  # Excel lock files are skipped
        (folder / "readme.md").write_text("not data")
        assert [p.name for p in expand_paths([folder])] == ["2024-01.csv", "2024-02.csv"]
        data = load_transactions([folder])
        assert data.frame["order_id"].tolist() == ["O1", "O2", "O3"]
        assert data.frame["amount"].sum() == 25
        assert data.report.drop_counts == {"repeated order line": 1}
        assert (data.report.rows_read, data.report.rows_used, data.report.rows_dropped) == (4, 3, 1)
        repeat = data.rejects.iloc[0]
        assert (repeat["source_file"], repeat["source_row"], repeat["reason"]) == (
            str(folder / "2024-02.csv"),
            "2",
            "repeated order line",
        )

    def test_overlapping_files_are_fine_under_strict(self, tmp_path):
        rows = [["order_id", "customer_id", "order_date", "amount"], ["O1", "1", "2024-01-05", "10"]]
        data = load_transactions(
            [write_csv(tmp_path / "a.csv", rows), write_csv(tmp_path / "b.csv", rows)], strict=True
        )
        assert len(data.frame) == 1

    def test_an_empty_folder_is_an_input_error(self, tmp_path):
        (tmp_path / "notes.txt.bak").write_text("x")
        with pytest.raises(InputFileError, match="holds no CSV"):
            load_transactions([tmp_path])


# --- headers ---------------------------------------------------------------------------
class TestHeaders:
    @pytest.mark.parametrize(
        ("id_header", "date_header", "amount_header"),
        [
            ("CUSTOMER ID", "InvoiceDate", "Sales"),
            ("customerid", "下单时间", "销售额"),
            ("客户编号", "日期", "实付金额"),
            ("会员号", "invoice date", "SALES"),
        ],
    )
    def test_english_and_chinese_aliases(self, tmp_path, id_header, date_header, amount_header):
        path = write_csv(tmp_path / "o.csv", [[id_header, date_header, amount_header], ["0001", "2024-01-05", "9"]])
        data = load_transactions([path])
        assert data.report.files[0].mapping == {
            "customer_id": id_header,
            "order_date": date_header,
            "amount": amount_header,
        }
        assert records(data.frame) == [("0001", JAN_5, 9.0)]

    @pytest.mark.parametrize("name_header", ["客户名称", "Customer Name"])
    def test_customer_name_is_not_the_id(self, tmp_path, name_header):
        both = write_csv(
            tmp_path / "both.csv", [[name_header, "客户编号", "日期", "金额"], ["张三", "0001", "2024-01-05", "9"]]
        )
        assert load_transactions([both]).frame["customer_id"].tolist() == ["0001"]
        only_name = write_csv(tmp_path / "name.csv", [[name_header, "日期", "金额"], ["张三", "2024-01-05", "9"]])
        with pytest.raises(MissingColumnsError, match="customer_id"):
            load_transactions([only_name])

    def test_column_override(self, tmp_path):
        path = write_csv(
            tmp_path / "o.csv", [["客户编号", "日期", "实付金额", "实收金额"], ["1", "2024-01-05", "90", "100"]]
        )
        assert load_transactions([path]).frame["amount"].tolist() == [90.0]
        assert load_transactions([path], columns={"amount": "实收金额"}).frame["amount"].tolist() == [100.0]

    def test_override_naming_a_missing_header(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", [["客户编号", "日期", "金额"], ["1", "2024-01-05", "9"]])
        with pytest.raises(MissingColumnsError) as caught:
            load_transactions([path], columns={"amount": "实收金额"})
        message = str(caught.value)
        assert str(path) in message and "'实收金额'" in message
        assert "columns found: '客户编号', '日期', '金额'" in message

    def test_unknown_canonical_key_is_an_option_error(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", BASIC)
        with pytest.raises(OptionError, match="revenue"):
            load_transactions([path], columns={"revenue": "amount"})

    def test_missing_required_column_names_file_columns_and_fix(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", [["Client", "Date", "Amount"], ["1", "2024-01-05", "9"]])
        with pytest.raises(MissingColumnsError) as caught:
            load_transactions([path])
        error = caught.value
        assert str(path) in error.message and "customer_id" in error.message
        assert "columns found: 'Client', 'Date', 'Amount'" in error.message
        assert "columns={'customer_id': '<header>'}" in str(error)
        assert error.exit_code == 2 and isinstance(error, CrmkitError)

    def test_override_helps_find_the_header_under_a_title_row(self, tmp_path):
        path = write_xlsx(
            tmp_path / "o.xlsx", {"S": [["月度流水"], ["编码", "时间", "实收"], ["0001", "2024-01-05", 3]]}
        )
        data = load_transactions([path], columns={"customer_id": "编码", "order_date": "时间", "amount": "实收"})
        assert records(data.frame) == [("0001", JAN_5, 3.0)]


# --- ids -------------------------------------------------------------------------------
class TestIds:
    def test_csv_ids_keep_leading_zeros_even_when_all_digits(self, tmp_path):
        path = write_csv(
            tmp_path / "o.csv",
            [
                ["customer_id", "order_date", "amount", "order_id"],
                ["0001234", "2024-01-05", "1", "000789"],
                ["0000001", "2024-01-05", "1", "000790"],
            ],
        )
        frame = load_transactions([path]).frame
        assert frame["customer_id"].tolist() == ["0001234", "0000001"]
        assert frame["order_id"].tolist() == ["000789", "000790"]

    def test_ids_are_trimmed(self, tmp_path):
        path = write_csv(
            tmp_path / "o.csv",
            [["customer_id", "order_date", "amount"], [" A7 ", "2024-01-05", "1"], ["A7", "2024-01-06", "1"]],
        )
        frame = load_transactions([path]).frame
        assert frame["customer_id"].tolist() == ["A7", "A7"]
        assert list(frame["customer_id"].cat.categories) == ["A7"]


# --- dates -----------------------------------------------------------------------------
class TestDates:
    def test_date_styles_in_one_file(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"]] + [
            [str(i), raw, "1"]
            for i, raw in enumerate(["2024-01-05", "2024/1/5", "2024-01-05 13:45", "2024年1月5日", "45296", "20240105"])
        ]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert data.frame["order_date"].tolist() == [
            JAN_5,
            JAN_5,
            pd.Timestamp("2024-01-05 13:45"),
            JAN_5,
            JAN_5,
            JAN_5,
        ]
        assert data.report.files[0].dialect.date_styles == {
            "iso": 2,
            "y/m/d": 1,
            "年月日": 1,
            "excel serial": 1,
            "yyyymmdd": 1,
        }
        assert data.report.rows_dropped == 0

    def test_day_month_order_is_detected_per_file(self, tmp_path):
        header = ["customer_id", "order_date", "amount"]
        dmy = write_csv(tmp_path / "uk.csv", [header, ["1", "13/01/2024", "1"], ["2", "02/01/2024", "1"]])
        mdy = write_csv(tmp_path / "us.csv", [header, ["3", "01/13/2024", "1"], ["4", "02/01/2024", "1"]])
        data = load_transactions([dmy, mdy])
        assert data.frame["order_date"].tolist() == [
            pd.Timestamp("2024-01-13"),
            pd.Timestamp("2024-01-02"),
            pd.Timestamp("2024-01-13"),
            pd.Timestamp("2024-02-01"),
        ]
        assert [f.dialect.date_order for f in data.report.files] == ["dmy", "mdy"]
        notes = [w for w in data.report.warnings if "dates read as" in w]
        assert len(notes) == 2
        assert str(dmy) in notes[0] and "dmy" in notes[0]
        assert "13/01/2024" in notes[0]
        assert str(mdy) in notes[1] and "mdy" in notes[1]

    def test_ambiguous_only_file_asks_for_date_order(self, tmp_path):
        path = write_csv(
            tmp_path / "o.csv",
            [["customer_id", "order_date", "amount"], ["1", "01/02/2024", "1"], ["2", "03/04/2024", "1"]],
        )
        with pytest.raises(BadValueError) as caught:
            load_transactions([path])
        assert str(path) in str(caught.value) and "date_order='dmy'" in str(caught.value)
        assert load_transactions([path], date_order="dmy").frame["order_date"].tolist() == [
            pd.Timestamp("2024-02-01"),
            pd.Timestamp("2024-04-03"),
        ]
        given_mdy = load_transactions([path], date_order="mdy")
        assert given_mdy.frame["order_date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-04")]
        assert given_mdy.report.files[0].dialect.date_order == "mdy"
        assert not [w for w in given_mdy.report.warnings if "dates read as" in w]

    def test_date_order_contradicting_the_data(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", [["customer_id", "order_date", "amount"], ["1", "13/01/2024", "1"]])
        with pytest.raises(BadValueError, match="contradicts") as caught:
            load_transactions([path], date_order="mdy")
        assert str(path) in str(caught.value)
        assert load_transactions([path], date_order="dmy").frame["order_date"].tolist() == [pd.Timestamp("2024-01-13")]

    def test_unknown_date_order_is_an_option_error(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", [["customer_id", "order_date", "amount"], ["1", "01/02/2024", "1"]])
        with pytest.raises(OptionError):
            load_transactions([path], date_order="ymd")


# --- amounts ---------------------------------------------------------------------------
def test_amounts_with_currency_thousands_and_accounting_negatives(tmp_path):
    rows = [
        ["customer_id", "order_date", "amount"],
        ["1", "2024-01-05", "¥1,234.50"],
        ["1", "2024-01-05", "$12"],
        ["1", "2024-01-05", "(35.00)"],
        ["1", "2024-01-05", "-20"],
        ["1", "2024-01-05", "0"],
    ]
    data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
    assert data.frame["amount"].tolist() == [1234.5, 12.0, -35.0, -20.0, 0.0]
    assert data.report.rows_dropped == 0


# --- bad rows --------------------------------------------------------------------------
class TestBadRows:
    ROWS = [
        ["Customer ID", "InvoiceDate", "Sales"],
        ["A", "2024-01-05", "10"],  # row 2: fine
        ["", "2024-01-05", "11"],  # row 3: no id
        ["B", "someday", "12"],  # row 4: bad date
        ["C", "2024-01-05", "abc"],  # row 5: bad amount
        ["D", "", "13"],  # row 6: missing date
        ["E", "2024-01-06", ""],  # row 7: missing amount
    ]

    def test_dropped_rows_are_counted_with_examples_and_rejects(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", self.ROWS)
        data = load_transactions([path])
        assert records(data.frame) == [("A", JAN_5, 10.0)]
        report = data.report
        assert report.drop_counts == {
            "empty customer_id": 1,
            "missing or unparseable order_date": 2,
            "missing or non-numeric amount": 2,
        }
        assert (report.rows_read, report.rows_used, report.rows_dropped) == (6, 1, 5)
        assert [(e["file"], e["row"], e["column"], e["value"]) for e in report.examples] == [
            (str(path), 3, "Customer ID", ""),
            (str(path), 4, "InvoiceDate", "someday"),
            (str(path), 6, "InvoiceDate", ""),
            (str(path), 5, "Sales", "abc"),
            (str(path), 7, "Sales", ""),
        ]
        rejects = data.rejects
        assert rejects["source_row"].tolist() == ["3", "4", "5", "6", "7"]
        assert rejects["reason"].tolist() == [
            "empty customer_id",
            "missing or unparseable order_date",
            "missing or non-numeric amount",
            "missing or unparseable order_date",
            "missing or non-numeric amount",
        ]
        assert set(rejects["source_file"]) == {str(path)}
        assert rejects.loc[1, "order_date"] == "someday" and rejects.loc[1, "customer_id"] == "B"

    def test_examples_are_capped_but_counts_are_complete(self, tmp_path):
        rows = (
            [["customer_id", "order_date", "amount"]]
            + [[str(i), "2024-01-05", "x"] for i in range(10)]
            + [["ok", "2024-01-05", "1"]]
        )
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert data.report.drop_counts == {"missing or non-numeric amount": 10}
        assert [e["row"] for e in data.report.examples] == [2, 3, 4]
        assert len(data.rejects) == 10

    def test_strict_names_file_row_and_column(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", self.ROWS)
        with pytest.raises(BadValueError) as caught:
            load_transactions([path], strict=True)
        message = str(caught.value)
        assert f"{path} row 3, column 'Customer ID'" in message
        assert message.startswith("5 bad row(s)")

    def test_strict_with_clean_data_loads(self, tmp_path):
        assert len(load_transactions([write_csv(tmp_path / "o.csv", BASIC)], strict=True).frame) == 3

    def test_no_usable_rows(self, tmp_path):
        path = write_csv(
            tmp_path / "o.csv", [["customer_id", "order_date", "amount"], ["", "2024-01-05", "1"], ["A", "never", "1"]]
        )
        with pytest.raises(BadValueError, match="no usable rows") as caught:
            load_transactions([path])
        assert str(path) in str(caught.value)

    def test_header_only_file_has_no_usable_rows(self, tmp_path):
        path = write_csv(tmp_path / "o.csv", [["customer_id", "order_date", "amount"]])
        with pytest.raises(BadValueError, match="no usable rows"):
            load_transactions([path])


# --- repeated lines --------------------------------------------------------------------
class TestRepeatedLines:
    def test_identical_lines_of_one_order_count_once_and_different_lines_stay(self, tmp_path):
        rows = [
            ["订单号", "客户编号", "日期", "金额", "商品"],
            ["SO-1", "1", "2024-01-05", "10", "tea"],
            ["SO-1", "1", "2024-01-05", "10", "tea"],  # exported twice
            ["SO-1", "1", "2024-01-05", "10", "cup"],  # a second product on the same order
            ["SO-2", "1", "2024-01-06", "10", "tea"],
        ]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert records(data.frame, ("order_id", "product")) == [("SO-1", "tea"), ("SO-1", "cup"), ("SO-2", "tea")]
        assert data.report.drop_counts == {"repeated order line": 1}
        assert data.rejects["source_row"].tolist() == ["3"]

    def test_without_an_order_id_identical_lines_are_kept(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["1", "2024-01-05", "10"], ["1", "2024-01-05", "10"]]
        assert len(load_transactions([write_csv(tmp_path / "o.csv", rows)]).frame) == 2


# --- unreadable inputs -----------------------------------------------------------------
class TestUnreadable:
    def test_missing_path(self, tmp_path):
        with pytest.raises(InputFileError, match="does not exist") as caught:
            load_transactions([tmp_path / "nope.csv"])
        assert str(tmp_path / "nope.csv") in str(caught.value)

    @pytest.mark.parametrize(
        ("name", "content", "match"),
        [
            ("empty.csv", b"", "empty"),
            ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), r"\.xls"),
            ("orders.json", b"[]", "unsupported"),
            ("noext", b"customer_id,order_date,amount\n", "unsupported"),
            ("broken.xlsx", None, "xlsx"),
            ("broken.parquet", None, "parquet"),
        ],
    )
    def test_unreadable_files_are_input_errors_naming_the_file(self, tmp_path, name, content, match):
        path = tmp_path / name
        path.write_bytes(content if content is not None else random.Random(7).randbytes(4096))
        with pytest.raises(InputFileError, match=match) as caught:
            load_transactions([path])
        assert str(path) in str(caught.value)
        assert caught.value.exit_code == 2

    def test_no_paths(self):
        with pytest.raises(InputFileError, match="no input files"):
            load_transactions([])

    def test_workbook_of_charts_only(self, tmp_path):
        book = Workbook()
        book.create_chartsheet("Chart")
        book.remove(book.active)
        book.save(tmp_path / "charts.xlsx")
        with pytest.raises(InputFileError, match="no worksheet"):
            load_transactions([tmp_path / "charts.xlsx"])


# --- config ----------------------------------------------------------------------------
class TestConfig:
    def test_default_file_in_the_working_folder(self, tmp_path, monkeypatch):
        (tmp_path / "crmkit.toml").write_text(
            '[columns]\namount = "实收金额"\n\n[tiers]\ncuts = [1, 15]\n', encoding="utf-8"
        )
        monkeypatch.chdir(tmp_path)
        assert load_config(None) == {"columns": {"amount": "实收金额"}, "tiers": {"cuts": [1, 15]}}

    def test_no_default_file_is_an_empty_config(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        assert load_config(None) == {}

    def test_explicit_path(self, tmp_path):
        path = tmp_path / "other.toml"
        path.write_text('[rfm]\nscheme = "cn8"\n')
        assert load_config(path) == {"rfm": {"scheme": "cn8"}}

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("[columns\namount = 1\n", "not valid TOML"),
            ("[colums]\namount = 'x'\n", r"unknown table\(s\) \[colums\]"),
            ("columns = 'amount'\n", "must be a table"),
            ("[tiers]\nplatinum = 0.01\n", r"unknown \[tiers\] setting\(s\) platinum; valid: mode, cuts, by"),
            ("[value]\ndiscount = 0.1\n", r"unknown \[value\] setting\(s\) discount; valid: model, horizon"),
            ("[output]\nlanguage = 'zh'\n", r"unknown \[output\] setting\(s\) language; valid: lang"),
            ("[delivered_value]\nprice = 2\n", r"unknown \[delivered_value\] setting\(s\) price"),
        ],
    )
    def test_bad_config_is_an_input_error(self, tmp_path, text, match):
        path = tmp_path / "crmkit.toml"
        path.write_text(text)
        with pytest.raises(InputFileError, match=match) as caught:
            load_config(path)
        assert str(path) in str(caught.value)

    def test_missing_config_file(self, tmp_path):
        with pytest.raises(InputFileError, match="does not exist"):
            load_config(tmp_path / "nope.toml")


# --- customer master -------------------------------------------------------------------
class TestCustomers:
    HEADER = [
        "会员号",
        "客户名称",
        "区域",
        "注册日期",
        "产品价值",
        "服务价值",
        "人员价值",
        "形象价值",
        "货币成本",
        "时间成本",
        "精力成本",
        "体力成本",
        "VIP等级",
    ]

    def test_chinese_aliases_components_and_extra_columns(self, tmp_path):
        path = write_csv(
            tmp_path / "客户.csv",
            [
                self.HEADER,
                ["0001", "张三", "华东", "2023/5/1", "8", "7", "6", "5", "¥1,200", "3", "2", "1", "金卡"],
                ["0002", "李四", "华北", "2023-06-01", "9", "8", "7", "6", "100", "4", "3", "2", "银卡"],
            ],
        )
        data = load_customers(path)
        frame = data.frame
        assert list(frame.columns) == [
            "customer_id",
            "name",
            "region",
            "signup_date",
            "product_value",
            "service_value",
            "personnel_value",
            "image_value",
            "monetary_cost",
            "time_cost",
            "energy_cost",
            "physical_cost",
            "VIP等级",
        ]
        assert frame["customer_id"].tolist() == ["0001", "0002"]
        assert frame["name"].tolist() == ["张三", "李四"]
        assert frame["signup_date"].tolist() == [pd.Timestamp("2023-05-01"), pd.Timestamp("2023-06-01")]
        assert frame["monetary_cost"].tolist() == [1200.0, 100.0]
        assert frame["physical_cost"].tolist() == [1.0, 2.0]
        assert frame["VIP等级"].tolist() == ["金卡", "银卡"]
        assert data.report.warnings == []

    def test_english_aliases_and_gbk(self, tmp_path):
        path = write_csv(
            tmp_path / "c.csv",
            [
                ["Customer ID", "Customer Name", "Signup Date", "Mobile", "Tier"],
                ["00012", "王五", "2023-01-01", "013800000000", "gold"],
            ],
            encoding="gbk",
        )
        frame = load_customers(path).frame
        assert frame.iloc[0].to_dict() == {
            "customer_id": "00012",
            "name": "王五",
            "signup_date": pd.Timestamp("2023-01-01"),
            "phone": "013800000000",
            "Tier": "gold",
        }

    def test_duplicate_and_empty_ids(self, tmp_path):
        path = write_csv(
            tmp_path / "c.csv",
            [["客户编号", "客户名称"], ["0001", "first"], ["", "nobody"], ["0002", "other"], ["0001", "second"]],
        )
        data = load_customers(path)
        assert data.frame["customer_id"].tolist() == ["0001", "0002"]
        assert data.frame["name"].tolist() == ["first", "other"]
        warnings = " | ".join(data.report.warnings)
        assert "1 row(s) without a customer id skipped" in warnings
        assert "1 repeated customer id(s); the first row of each is used" in warnings

    def test_xlsx_master_with_a_title_row_and_extra_columns(self, tmp_path):
        path = write_xlsx(
            tmp_path / "c.xlsx",
            {
                "客户": [
                    ["客户名单"],
                    ["客户编号", "客户名称", "VIP等级"],
                    ["0001", "张三", "金卡"],
                    [2, "李四", "银卡"],
                ]
            },
        )
        frame = load_customers(path).frame
        assert records(frame, ("customer_id", "name", "VIP等级")) == [("0001", "张三", "金卡"), ("2", "李四", "银卡")]

    def test_id_override_and_missing_id(self, tmp_path):
        path = write_csv(tmp_path / "c.csv", [["编号", "Customer Name"], ["0009", "Ann"]])
        with pytest.raises(MissingColumnsError, match="customer_id") as caught:
            load_customers(path)
        assert str(path) in str(caught.value)
        assert load_customers(path, columns={"customer_id": "编号"}).frame["customer_id"].tolist() == ["0009"]

    def test_unusable_component_values_are_left_empty_with_a_warning(self, tmp_path):
        path = write_csv(tmp_path / "c.csv", [["客户编号", "产品价值"], ["1", "high"], ["2", "7"]])
        data = load_customers(path)
        assert data.frame["product_value"].isna().tolist() == [True, False]
        assert any("product_value" in w for w in data.report.warnings)


# --- invariants ------------------------------------------------------------------------
ROW = st.tuples(
    st.integers(min_value=0, max_value=30).map(lambda n: f"{n:05d}"),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2025, 12, 31)),
    st.sampled_from(["{d:%Y-%m-%d}", "{d.year}/{d.month}/{d.day}", "{d.year}年{d.month}月{d.day}日"]),
    st.integers(min_value=-50_000, max_value=500_000),
    st.sampled_from(["{x:.2f}", "¥{x:,.2f}"]),
    st.sampled_from(["SO-1", "SO-2", "SO-3", ""]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=25), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_row_order_does_not_change_the_canonical_frame(tmp_path, rows, seed):
    lines = [
        [cid, date_style.format(d=day), amount_style.format(x=cents / 100), order]
        for cid, day, date_style, cents, amount_style, order in rows
    ]
    shuffled = lines[:]
    random.Random(seed).shuffle(shuffled)
    header = ["客户编号", "下单时间", "实付金额", "订单号"]
    frames = []
    for name, body in (("as_written.csv", lines), ("shuffled.csv", shuffled)):
        frame = load_transactions([write_csv(tmp_path / name, [header, *body])]).frame
        frame = frame.astype({"customer_id": "str", "order_id": "str"})
        frames.append(frame.sort_values(list(frame.columns), ignore_index=True))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    # Nothing is lost but lines of an order that repeat once read (the same day, cents and order id).
    with_order = {(cid, day, cents, order) for cid, day, _, cents, _, order in rows if order}
    assert len(frames[0]) == len(with_order) + sum(1 for row in rows if not row[5])


# --- inspect ---------------------------------------------------------------------------
class TestInspect:
    def test_findings(self, tmp_path):
        rows = [
            ["customer_id", "order_date", "amount"],
            ["1", "2024-01-01", "10"],
            ["1", "2024/01/02", "-4"],  # a return, in a second date style
            ["2", "2024-01-03", "0"],  # zero amount
            ["3", "2030-01-01", "5"],  # future
            ["4", "2024-01-05", "-2"],  # only a return
            ["5", "", "3"],
        ]  # dropped
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        findings = {f["kind"]: f for f in inspect_transactions(data, today=pd.Timestamp("2024-06-30"))}
        assert {kind: f["count"] for kind, f in findings.items()} == {
            "dropped rows": 1,
            "returns": 2,
            "zero amounts": 1,
            "future dates": 1,
            "mixed date formats": 5,
            "customers with only returns": 1,
        }
        assert "-6.00" in findings["returns"]["detail"]
        assert "2024-06-30" in findings["future dates"]["detail"]
        assert (
            "iso 4" in findings["mixed date formats"]["detail"]
            and "y/m/d 1" in findings["mixed date formats"]["detail"]
        )

    def test_today_decides_what_is_future(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["1", "2024-07-01", "10"], ["1", "2024-07-05", "10"]]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        counts = {f["kind"]: f["count"] for f in inspect_transactions(data, today=pd.Timestamp("2024-07-02"))}
        assert counts == {"future dates": 1}

    def test_clean_data_has_no_findings(self, tmp_path):
        data = load_transactions([write_csv(tmp_path / "o.csv", BASIC[:3])])
        assert inspect_transactions(data, today=pd.Timestamp("2024-06-30")) == []


def test_every_error_is_a_crmkit_error_with_exit_code_2(tmp_path):
    errors = []
    for call in (
        lambda: load_transactions([tmp_path / "missing.csv"]),
        lambda: load_transactions([write_csv(tmp_path / "o.csv", [["a", "b"], ["1", "2"]])]),
        lambda: load_transactions([write_csv(tmp_path / "p.csv", BASIC)], columns={"bogus": "x"}),
    ):
        with pytest.raises(CrmkitError) as caught:
            call()
        errors.append(caught.value)
    assert [type(e) for e in errors] == [InputFileError, MissingColumnsError, OptionError]
    assert all(e.exit_code == 2 for e in errors)


def test_customer_master_with_ambiguous_signup_dates_takes_the_date_order(tmp_path):
    path = write_csv(tmp_path / "c.csv", [["客户编号", "注册日期"], ["1", "05/03/2024"], ["2", "06/04/2024"]])
    with pytest.raises(BadValueError, match="date_order="):
        load_customers(path)
    frame = load_customers(path, date_order="dmy").frame
    assert frame["signup_date"].tolist() == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-04-06")]
