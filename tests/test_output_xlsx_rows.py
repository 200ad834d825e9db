"""The vectorised row writer: cell types, escaping, empty cells and well-formed sheet XML."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.output import xlsx_rows
from crmkit.output.excel import write_sheet
from crmkit.output.xlsx_rows import (
    MAX_CELL_CHARS,
    column_styles,
    normalise_column,
    row_xml,
)

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _rows(frame: pd.DataFrame, styles=None) -> ET.Element:
    body = b"".join(bytes(chunk) for chunk in row_xml(frame, styles or [None] * frame.shape[1]))
    return ET.fromstring(f'<sheetData xmlns="{NS[1:-1]}">'.encode() + body + b"</sheetData>")


def _unescape(text: str) -> str:
    """Excel's reading of ``_xHHHH_`` escapes in cell text."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _texts(sheet: ET.Element) -> list[str | None]:
    return [None if (t := c.find(f"{NS}is/{NS}t")) is None else _unescape(t.text or "") for c in sheet.iter(f"{NS}c")]


def test_cells_carry_types_references_and_column_styles():
    frame = pd.DataFrame({"a": pd.Series(["x", "=1+1"], dtype="str"), "b": [1.5, -2.0], "c": [True, False]})
    sheet = _rows(frame, [None, 7, 3])
    cells = [(c.get("r"), c.get("s"), c.get("t")) for c in sheet.iter(f"{NS}c")]
    assert cells == [
        ("A2", None, "inlineStr"),
        ("B2", "7", None),
        ("C2", "3", "b"),
        ("A3", None, "inlineStr"),
        ("B3", "7", None),
        ("C3", "3", "b"),
    ]
    assert [r.get("r") for r in sheet.iter(f"{NS}row")] == ["2", "3"]
    assert sheet.find(f".//{NS}f") is None
    assert [c.findtext(f"{NS}v") for c in sheet.iter(f"{NS}c") if c.get("t") != "inlineStr"] == ["1.5", "1", "-2", "0"]


def test_missing_and_infinite_values_leave_the_cell_out():
    frame = pd.DataFrame(
        {
            "a": [1.0, np.nan, np.inf],
            "b": pd.Series(["x", None, "z"], dtype="str"),
            "c": pd.array([1, None, 3], dtype="Int64"),
            "d": pd.to_datetime(["2024-01-01", None, None]),
        }
    )
    sheet = _rows(frame)
    assert [c.get("r") for c in sheet.iter(f"{NS}c")] == ["A2", "B2", "C2", "D2", "B4", "C4"]
    assert sheet.find(f"{NS}row[2]").findall(f"{NS}c") == []


def test_text_is_escaped_for_xml_and_excel():
    texts = ["a<b>&c", "tab\there\nline", "bell\x07", "cr\rx", "lit_x0041_eral", "  padded  ", "中文"]
    sheet = _rows(pd.DataFrame({"t": pd.Series(texts, dtype="str")}))
    assert _texts(sheet) == texts
    raw = [c.find(f"{NS}is/{NS}t").text for c in sheet.iter(f"{NS}c")]
    assert raw[2] == "bell_x0007_" and raw[3] == "cr_x000D_x" and raw[4] == "lit_x005F_x0041_eral"


def test_text_longer_than_excel_allows_is_cut_to_the_limit():
    sheet = _rows(pd.DataFrame({"t": ["é" * (MAX_CELL_CHARS + 10)]}))
    assert _texts(sheet) == ["é" * MAX_CELL_CHARS]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)), max_size=30)), min_size=1, max_size=8
    )
)
def test_any_text_round_trips_through_well_formed_xml(values):
    sheet = _rows(pd.DataFrame({"t": pd.Series(values, dtype="str")}))
    assert _texts(sheet) == [v for v in values if v is not None]
    assert sheet.find(f".//{NS}f") is None


def test_dates_become_serial_numbers_with_times_kept():
    frame = pd.DataFrame({"d": [pd.Timestamp("1900-03-01"), pd.Timestamp("2024-02-29 18:00")]})
    values = [float(c.findtext(f"{NS}v")) for c in _rows(frame).iter(f"{NS}c")]
    assert values == [61.0, 45351.75]


def test_normalise_column_gives_object_columns_their_real_type():
    assert normalise_column(pd.Series([dt.date(2024, 1, 2), None], dtype=object)).dtype.kind == "M"
    assert normalise_column(pd.Series([1, 2.5, None], dtype=object)).dtype.kind == "f"
    assert normalise_column(pd.Series(["a", None], dtype=object)).dtype == "str"
    aware = pd.Series(pd.to_datetime(["2024-01-01 10:00"]).tz_localize("Asia/Shanghai"))
    assert normalise_column(aware).iloc[0] == pd.Timestamp("2024-01-01 10:00")
    assert normalise_column(pd.Series(pd.Categorical(["x", "y"]))).tolist() == ["x", "y"]


def test_mixed_object_column_writes_numbers_as_numbers_and_the_rest_as_text(tmp_path):
    path = tmp_path / "mixed.xlsx"
    write_sheet(path, pd.DataFrame({"item": ["a", "b", "c", "d"], "value": [20000, "12 rows", 2.5, True]}))
    ws = openpyxl.load_workbook(path).active
    assert [(c.value, c.data_type) for c in ws["B"][1:]] == [(20000, "n"), ("12 rows", "s"), (2.5, "n"), ("True", "s")]


def test_sheet_xml_is_spliced_with_dimension_and_styles(tmp_path):
    path = tmp_path / "t.xlsx"
    frame = pd.DataFrame({"customer_id": ["A & B", "C"], "total_revenue": [1.0, 2.0]})
    write_sheet(path, frame)
    with zipfile.ZipFile(path) as package:
        parts = xlsx_rows.worksheet_parts(package)
        xml = package.read(parts["Customers"]).decode()
    assert '<dimension ref="A1:B3"/>' in xml
    # Text columns are indented, figure columns carry their number format: each its own style.
    text_style, money_style = column_styles(xml, 2)
    assert text_style is not None and money_style is not None and text_style != money_style
    ET.fromstring(xml)  # well formed
    assert "A &amp; B" in xml


def test_column_styles_reads_ranges():
    xml = '<cols><col min="1" max="2" width="9" style="4" customWidth="1"/><col min="4" max="4" width="3"/></cols>'
    assert column_styles(xml, 5) == [4, 4, None, None, None]


def test_write_behind_writes_in_order_and_raises_errors_from_either_side():
    written = []
    xlsx_rows._write_behind(iter([b"a", b"b", b"c"]), written.append)
    assert written == [b"a", b"b", b"c"]

    def full_disk(chunk):
        raise OSError("No space left on device")

    produced = []

    def chunks():
        for i in range(1000):
            produced.append(i)
            yield b"x"

    with pytest.raises(OSError, match="No space"):
        xlsx_rows._write_behind(chunks(), full_disk)
    assert len(produced) < 1000  # the builder stops once the writer has failed

    def broken():
        yield b"a"
        raise ValueError("bad column")

    with pytest.raises(ValueError, match="bad column"):
        xlsx_rows._write_behind(broken(), written.append)
