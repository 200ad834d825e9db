"""Generated CSV files with junk cells, odd dates, damaged quotes, blank lines and four encodings, run through the
command line: crmkit answers with exit 0 (every row read is used or dropped, every dropped row in --rejects with
its reason) or exit 2 (a message), never exit 1."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.output.labels import DROP_REASON_LABELS

JUNK = ["", " ", "n/a", "-", "合计", "Total", "=1+1", "NaN", "1e999", "None", '"', "Müller", "张三", "a\nb", "\t"]
#: Text of the kinds exports hold: ASCII, Latin letters with accents, common Chinese characters.
WORDS = st.text(alphabet="abcXYZ019 ,.;-/()¥$€'äöüßéëÅ张三李四客户金额日期合计", max_size=8)

DATE_STYLES = ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S +0800", "%Y%m%d"]
JUNK_DATES = st.one_of(
    st.sampled_from(["31/31/2024", "2024-02-30", "13/13/2024", "0000-00-00", "9999-12-31", "1600-01-01", *JUNK]),
    st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(str),
    WORDS,
)
AMOUNT_STYLES = ["{:.2f}", "{:,.2f}", "¥{:,.2f}", "({:.2f})", "{:.3f}", "{:.0f}"]
JUNK_AMOUNTS = st.one_of(st.sampled_from(["1.500", "1,500", "1.234,56", "12,5", *JUNK]), WORDS)
HEADERS = [
    ["customer_id", "order_date", "amount"],
    ["客户编号", "下单时间", "实付金额", "订单号"],
    ["Customer ID", "Order Date", "Amount", "Status", "Refund"],
    ["Kunde", "Datum", "Betrag", "customer_id", "order_date", "amount"],
]
STATUSES = ["paid", "voided", "pending", "交易成功", "交易关闭", "refunded", ""]


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` nine times in ten, else ``bad``."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 0 else good)


@st.composite
def csv_files(draw) -> tuple[bytes, str]:
    """A file as an export writes it (one date and number style), with junk cells, misshapen rows, damaged
    quotes, blank lines and stray bytes mixed in."""
    header = draw(st.sampled_from(HEADERS))
    date_style = draw(st.sampled_from(DATE_STYLES))
    amount_style, comma = draw(st.sampled_from(AMOUNT_STYLES)), draw(st.booleans())
    day = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2024, 12, 31))
    number = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(amount_style.format)
    if comma:
        number = number.map(lambda text: text.translate(str.maketrans(",.", ".,")))
    good = {
        "id": mostly(st.sampled_from(["C001", "C002", "0007", "c-9", '="123"', "'0042", "Müller", "张三"]), WORDS),
        "date": mostly(day.map(lambda d: d.strftime(date_style)), JUNK_DATES),
        "amount": mostly(number, JUNK_AMOUNTS),
        "other": mostly(st.sampled_from(STATUSES), WORDS),
    }
    kinds = ["id", "date", "amount"] + ["other"] * (len(header) - 3)
    if header[0] == "Kunde":
        kinds = ["other"] * 3 + ["id", "date", "amount"]
    row = st.tuples(*(good[kind] for kind in kinds)).map(list)
    misshapen = st.lists(st.one_of(good["id"], good["amount"]), max_size=len(header) + 2)
    rows = draw(st.lists(mostly(row, misshapen), max_size=12))
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerows([header, *rows])
    text = buffer.getvalue()
    for _ in range(draw(st.integers(0, 2))):  # damage: a stray quote, blank lines, a lone CR or NUL, a BOM
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "\n\n", "\r", "\x00", "\ufeff"])) + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # a byte no encoding expects
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\x81", b"\xa1", b"\xe4\xb8"])) + data[at:]
    return data, ".tsv" if separator == "\t" and draw(st.booleans()) else ".csv"


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(file=csv_files())
def test_any_csv_gives_exit_0_with_every_row_accounted_for_or_exit_2(tmp_path: Path, file: tuple[bytes, str]):
    data, suffix = file
    path, rejects = tmp_path / f"export{suffix}", tmp_path / "rejects.csv"
    path.write_bytes(data)
    rejects.unlink(missing_ok=True)
    result = CliRunner().invoke(
        app, ["segment", str(path), "--no-model", "--format", "json", "--rejects", str(rejects), "-q"]
    )
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("Error:") and "Internal error" not in result.stderr
        return
    counts = json.loads(result.stdout)["data"]
    assert counts["rows_read"] == counts["rows_used"] + counts["rows_dropped"]
    dropped = pd.read_csv(rejects, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(dropped) == counts["rows_dropped"]
    assert dropped["reason"].isin(list(DROP_REASON_LABELS)).all()
