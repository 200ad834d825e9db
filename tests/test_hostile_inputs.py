"""Files that used to crash crmkit or lose rows: each now gives exit 0 with every dropped row reported, or exit 2
with a message naming the file, the line and the fix. Never exit 1.

Bombs are written small: the limits they hit are lowered for the test, the checks are the same.
"""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.errors import InputFileError
from crmkit.ingest import excel, load_transactions
from crmkit.ingest.encoding import detect_encoding

HEADER = "customer_id,order_date,amount\n"


def inspect(path: Path, *args: object) -> tuple[int, str]:
    """Exit code and stderr of `crmkit inspect`."""
    result = CliRunner().invoke(app, ["inspect", str(path), *map(str, args)], env={"COLUMNS": "200"})
    return result.exit_code, " ".join(result.stderr.split())


def refused(path: Path, *fragments: str) -> None:
    code, stderr = inspect(path)
    assert code == 2, stderr
    assert stderr.startswith(f"Error: {path}"), stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


def book(path: Path, rows: list[list[object]], **cells: object) -> Path:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    for ref, value in cells.items():
        workbook.active[ref] = value
    workbook.save(path)
    return path


def rewrite_sheet(path: Path, out: Path, change) -> Path:
    """A copy of the workbook with its sheet's XML bytes passed through ``change`` (written as a stream)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                with target.open(item.filename, "w", force_zip64=True) as stream:
                    for piece in change(data):
                        stream.write(piece)
            else:
                target.writestr(item, data)
    return out


# --- quotes, rows and line numbers -----------------------------------------------------
def test_an_unclosed_quote_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(HEADER + 'A,2024-01-05,10\nB,2024-01-06,"11\nC,2024-01-07,12\nD,2024-01-08,13\nE,2024-01-09,14\n')
    refused(path, "line 3: a quote opened on this line is never closed", "lines 3–6", "close or remove the quote")


def test_row_numbers_are_editor_lines_after_blank_lines_and_multiline_cells(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        'customer_id,order_date,amount,note\n\nA,2024-01-05,10,"two\nlines"\n\n\nB,2024-01-06,x,ok\r\n'
        'C,someday,1,"a\n\nb"\nD,2024-01-07,2,\n\n'
    )
    data = load_transactions([path])
    assert data.rejects[["source_row", "value"]].to_numpy().tolist() == [["7", "x"], ["8", "someday"]]
    assert (data.report.rows_read, data.report.rows_used) == (4, 2)


def test_a_bad_byte_in_a_column_not_used_does_not_stop_the_line_count(tmp_path):
    path = tmp_path / "o.csv"
    head = "customer_id,order_date,amount,note\n" + "".join(f"C{i:06d},2024-01-05,10,ok\n" for i in range(50_000))
    path.write_bytes(head.encode() + b"X,2024-01-06,5,bad\xff\n\nY,2024-01-07,x,ok\n")
    data = load_transactions([path])
    assert data.rejects[["source_row", "value"]].to_numpy().tolist() == [["50004", "x"]]


def test_rows_with_the_wrong_number_of_fields_are_dropped_with_their_line(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(HEADER + "A,2024-01-05,10\nB,2024-01-06\nC,2024-01-07,1,2\n   \nD,2024-01-08,5\n")
    data = load_transactions([path])
    assert data.frame["customer_id"].tolist() == ["A", "D"]
    assert data.rejects[["source_row", "reason", "value"]].to_numpy().tolist() == [
        ["3", "wrong number of fields", "B,2024-01-06"],
        ["4", "wrong number of fields", "C,2024-01-07,1,2"],
        ["5", "wrong number of fields", "   "],
    ]
    assert data.report.rows_read == data.report.rows_used + data.report.rows_dropped == 5


def test_a_header_line_over_128_kb(tmp_path):
    path = tmp_path / "wide.csv"
    others = [f"attribute {i} " + "x" * 200 for i in range(800)]
    path.write_text(HEADER.strip() + "," + ",".join(others) + "\nA,2024-01-05,10" + "," * 800 + "\n")
    assert path.stat().st_size > 160_000
    data = load_transactions([path])
    assert data.frame["amount"].tolist() == [10.0] and len(data.report.files[0].dialect.decimal) == 0


# --- dates ---------------------------------------------------------------------------
FAR = ["9999-12-31", "1600-01-01", "2262-04-12", "1899-12-31"]


def test_dates_out_of_range_in_csv_are_dropped_not_the_run(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(HEADER + "A,2024-01-05,10\n" + "".join(f"B,{d},1\n" for d in FAR))
    data = load_transactions([path])
    assert data.report.drop_counts == {"order_date out of range": 4}
    assert data.rejects["value"].tolist() == FAR and data.rejects["source_row"].tolist() == ["3", "4", "5", "6"]


def test_dates_out_of_range_in_excel_and_parquet(tmp_path):
    xlsx = book(tmp_path / "o.xlsx", [["customer_id", "order_date", "amount"], ["A", dt.datetime(2024, 1, 5), 1]])
    xlsx = book(
        xlsx,
        [
            ["customer_id", "order_date", "amount"],
            ["A", dt.datetime(2024, 1, 5), 1],
            ["B", dt.datetime(9999, 12, 31), 2],
            ["C", "1600-01-01", 3],
        ],
    )
    data = load_transactions([xlsx])
    assert data.report.drop_counts == {"order_date out of range": 2} and len(data.frame) == 1
    dates = pa.array([dt.date(2024, 1, 5), dt.date(9999, 12, 31), dt.date(1600, 1, 1)])
    stamps = pa.array(
        [dt.datetime(2024, 1, 5), dt.datetime(9999, 12, 31), dt.datetime(2262, 4, 12)], pa.timestamp("us")
    )
    for name, column in (("d.parquet", dates), ("t.parquet", stamps)):
        pq.write_table(
            pa.table({"customer_id": ["A", "B", "C"], "order_date": column, "amount": [1.0, 2.0, 3.0]}), tmp_path / name
        )
        data = load_transactions([tmp_path / name])
        assert data.report.drop_counts == {"order_date out of range": 2}
        assert data.frame["customer_id"].tolist() == ["A"] and data.rejects["source_row"].tolist() == ["2", "3"]


def test_one_junk_date_does_not_refuse_the_file(tmp_path):
    iso = tmp_path / "iso.csv"
    iso.write_text(HEADER + "A,2024-01-05,10\nB,31/31/2024,1\nC,2024-01-07,1\n")
    data = load_transactions([iso])
    assert data.rejects[["source_row", "value"]].to_numpy().tolist() == [["3", "31/31/2024"]]
    day_first = tmp_path / "dmy.csv"
    day_first.write_text(HEADER + "".join(f"C{d},{d:02d}/01/2024,1\n" for d in range(1, 29)) * 5 + "X,01/13/2024,1\n")
    data = load_transactions([day_first])
    assert data.report.files[0].dialect.date_order == "dmy"
    assert data.rejects["value"].tolist() == ["01/13/2024"]
    assert any("'01/13/2024' only fit the other day/month order" in w for w in data.report.warnings)


# --- encodings -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("Müller", "cp1252", "cp1252"),
        ("Zoë", "cp1252", "cp1252"),
        ("Ångström", "cp1252", "cp1252"),
        ("Crème brûlée", "cp1252", "cp1252"),
        ("张三", "gbk", "gb18030"),
        ("华东茶行 龙井", "gb18030", "gb18030"),
        ("Müller", "utf-8", "utf-8"),
        ("张三", "utf-8", "utf-8"),
    ],
)
def test_the_encoding_is_decided_by_evidence(tmp_path, text, encoding, expected):
    path = tmp_path / "o.csv"
    path.write_bytes(f"customer_id,order_date,amount\n{text},2024-01-05,1\n".encode(encoding))
    assert detect_encoding(path) == expected
    assert load_transactions([path]).frame["customer_id"].tolist() == [text]


def test_a_bom_then_a_bad_byte(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(codecs.BOM_UTF8 + HEADER.encode() + b"A,2024-01-05,10\nB,2024-01-06,1\xff1\n")
    refused(path, "line 3: bytes b'\\xff1' cannot be read as utf-8 (BOM)", "save it as 'CSV UTF-8'")


def test_a_bad_byte_after_the_first_megabyte(tmp_path):
    plain = (HEADER + "".join(f"C{i:06d},2024-01-05,10\n" for i in range(60_000))).encode()
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(plain + "张三,2024-01-06,5\n".encode() + b"Y,2024-01-07,\xff\n")
    refused(utf8, "line 60003: bytes b'\\xff' cannot be read as utf-8")
    legacy = tmp_path / "gbk.csv"
    legacy.write_bytes(plain + "张三,2024-01-06,5\n".encode("gb18030") + b"Y,2024-01-07,\xff\xff\n")
    refused(legacy, "line 60003: bytes b'\\xff\\xff' cannot be read as gb18030")
    late = tmp_path / "late.csv"
    late.write_bytes(plain + "Müller,2024-01-06,5\n".encode("cp1252"))
    data = load_transactions([late])
    assert data.report.files[0].dialect.encoding == "windows-1252" and "Müller" in set(data.frame["customer_id"])


# --- Excel ---------------------------------------------------------------------------
def test_a_lone_cell_at_xfd1048576_is_refused_not_an_abort(tmp_path):
    path = book(
        tmp_path / "far.xlsx",
        [["customer_id", "order_date", "amount"], ["A", dt.datetime(2024, 1, 5), 1]],
        XFD1048576="x",
    )
    refused(path, "cells reach row 1,048,576 and column XFD", "Ctrl+End")


def test_a_sheet_expanding_past_excels_rows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "EXCEL_ROWS", 50_000)
    small = book(tmp_path / "ok.xlsx", [["customer_id", "order_date", "amount"], ["A", dt.datetime(2024, 1, 5), 1]])

    def expand(data: bytes):
        head, tail = data.split(b"</sheetData>")
        yield head
        for _ in range(6):
            yield b"<row><c><v>1</v></c></row>" * 10_000
        yield b"</sheetData>" + tail

    bomb = rewrite_sheet(small, tmp_path / "bomb.xlsx", expand)
    assert bomb.stat().st_size < 20_000
    refused(bomb, "more than an Excel sheet holds")


def test_too_many_cells_and_padding_are_refused(tmp_path, monkeypatch):
    rows = [["customer_id", "order_date", "amount"]] + [[f"C{i}", dt.datetime(2024, 1, 5), 1] for i in range(300)]
    small = book(tmp_path / "ok.xlsx", rows)
    assert len(load_transactions([small]).frame) == 300
    monkeypatch.setattr(excel, "MAX_SHEET_CELLS", 200)
    refused(small, "over the limit of 200", "export CSV")
    monkeypatch.setattr(excel, "MAX_SHEET_CELLS", 30_000_000)
    monkeypatch.setattr(excel, "MAX_BLANK_BYTES", 8 << 20)

    def pad(data: bytes):
        head, tail = data.split(b"</sheetData>")
        yield head
        for _ in range(16):
            yield b" " * (1 << 20)
        yield b"</sheetData>" + tail

    padded = rewrite_sheet(small, tmp_path / "padded.xlsx", pad)
    refused(padded, "MB of nothing but blank space")
    monkeypatch.setattr(excel, "MAX_PART_BYTES", 4 << 20)
    refused(padded, "xl/worksheets/sheet1.xml is over", "once decompressed")


@pytest.mark.parametrize("damage", ["truncated xml", "bad compressed data"])
def test_a_damaged_part_inside_an_xlsx(tmp_path, damage):
    path = book(tmp_path / "ok.xlsx", [["customer_id", "order_date", "amount"], ["A", dt.datetime(2024, 1, 5), 1]])
    if damage == "truncated xml":
        path = rewrite_sheet(path, tmp_path / "bad.xlsx", lambda data: [data[: len(data) // 2]])
    else:
        raw = bytearray(path.read_bytes())
        start = raw.find(b"xl/worksheets/sheet1.xml") + 60
        raw[start : start + 20] = bytes(20)
        path = tmp_path / "bad.xlsx"
        path.write_bytes(bytes(raw))
    refused(path, "is not a readable .xlsx workbook", "save it again")


def test_merged_cells_in_the_data_take_their_value(tmp_path):
    path = book(
        tmp_path / "m.xlsx",
        [
            ["customer_id", "order_date", "amount"],
            ["A", dt.datetime(2024, 1, 5), 1],
            [None, dt.datetime(2024, 1, 6), 2],
        ],
    )
    workbook = __import__("openpyxl").load_workbook(path)
    workbook.active.merge_cells("A2:A3")
    workbook.save(path)
    assert load_transactions([path]).frame["customer_id"].tolist() == ["A", "A"]


# --- Parquet -------------------------------------------------------------------------
def test_nested_parquet_columns(tmp_path):
    table = pa.table(
        {
            "customer_id": pa.array([{"id": "A"}, {"id": "B"}]),
            "order_date": pa.array([dt.date(2024, 1, 5)] * 2),
            "amount": [1.0, 2.0],
            "tags": pa.array([[1], [2, 3]]),
        }
    )
    pq.write_table(table, tmp_path / "nested.parquet")
    refused(tmp_path / "nested.parquet", "column 'customer_id' (read as customer_id) holds nested values", "--col")
    pq.write_table(table.set_column(0, "customer_id", pa.array(["A", "B"])), tmp_path / "ok.parquet")
    assert load_transactions([tmp_path / "ok.parquet"]).frame["customer_id"].tolist() == ["A", "B"]


def test_refusals_are_input_errors_and_a_quote_left_open_on_the_last_line_swallows_nothing(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(HEADER + 'A,2024-01-05,"10\nB,2024-01-06,11\n')
    with pytest.raises(InputFileError) as caught:
        load_transactions([path])
    assert caught.value.exit_code == 2 and "line 2" in str(caught.value)
    path.write_text(HEADER + 'A,2024-01-05,10\nB,2024-01-06,"11\n')
    assert load_transactions([path]).frame["amount"].tolist() == [10.0, 11.0]
