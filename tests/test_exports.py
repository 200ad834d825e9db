"""Exports as analysts download them: Shopify, Taobao/Tmall, Kingdee/Yonyou, European CSV.

Every test writes a file shaped like the real export and checks the exact revenue, customers and orders that
come out, plus what the report says was decided (header row, encoding, decimal mark, revenue basis, statuses).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.errors import BadValueError, OptionError
from crmkit.ingest import StatusRules, load_customers, load_transactions, match_customers
from crmkit.ingest.columns import TRANSACTION_ALIASES, match_columns
from crmkit.scoring.summary import customer_summary


# --- helpers ---------------------------------------------------------------------------
def write_csv(path: Path, rows: list[list[object]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def per_customer(data) -> dict[str, tuple[float, int]]:
    """customer → (revenue, orders), as segment scores them."""
    summary = customer_summary(data.frame)
    return {
        row.customer_id: (round(row.total_revenue, 2), int(row.n_orders)) for row in summary.itertuples(index=False)
    }


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def balanced(data) -> None:
    """Nothing lost: every row read is used or dropped, and every dropped row is in the rejects with a reason."""
    report = data.report
    assert report.rows_read == report.rows_used + report.rows_dropped
    assert len(data.rejects) == report.rows_dropped and (data.rejects["reason"] != "").all()


# --- Shopify ---------------------------------------------------------------------------
SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem sku",
    "Billing Name",
    "Billing Zip",
    "Notes",
    "Refunded Amount",
    "Id",
]


def shopify_line(**cells: str) -> list[str]:
    return [cells.get(h.replace(" ", "_").lower(), "") for h in SHOPIFY_HEADER]


def order(name: str, email: str, status: str, paid: str, total: str, items: list[tuple[str, str, str]], **more):
    """An order as Shopify writes it: order-level fields on the first line only, one line per item."""
    created = more.pop("created", paid or "2024-03-01 09:00:00 +0800")
    lines = []
    for i, (qty, product, price) in enumerate(items):
        first = i == 0
        lines.append(
            shopify_line(
                name=name,
                email=email,
                financial_status=status if first else "",
                paid_at=paid if first else "",
                currency="CNY" if first else "",
                subtotal=total if first else "",
                total=total if first else "",
                created_at=created,
                lineitem_quantity=qty,
                lineitem_name=product,
                lineitem_price=price,
                lineitem_sku=f"SKU-{product}",
                billing_name="Li Wei" if first else "",
                billing_zip="'200001" if first else "",
                refunded_amount=more.get("refunded", "0.00") if first else "",
                notes=more.get("notes", "") if first else "",
                id=str(abs(hash(name)) % 10**9) if first else "",
            )
        )
    return lines


@pytest.fixture
def shopify(tmp_path: Path) -> Path:
    rows = [
        SHOPIFY_HEADER,
        # paid, three items; paid just after midnight Beijing time: the date stays 2024-03-05
        *order(
            "#1001",
            "li.wei@example.com",
            "paid",
            "2024-03-05 00:22:31 +0800",
            "158.00",
            [("1", "Longjing", "60.00"), ("2", "Cup", "24.00"), ("1", "Tray", "50.00")],
            notes="gift wrap,\nplease",
        ),
        *order(
            "#1002",
            "li.wei@example.com",
            "partially_refunded",
            "2024-04-01 10:00:00 +0800",
            "100.00",
            [("2", "Pu'er", "50.00")],
            refunded="30.00",
        ),
        *order("#1003", "zoe@example.com", "paid", "2024-04-02 23:59:00 -0500", "45.50", [("1", "Cup", "45.50")]),
        *order(
            "#1004",
            "zoe@example.com",
            "refunded",
            "2024-04-03 10:00:00 +0000",
            "80.00",
            [("1", "Tray", "80.00")],
            refunded="80.00",
        ),
        *order("#1005", "max@example.com", "voided", "", "60.00", [("1", "Longjing", "60.00")]),
        *order("#1006", "max@example.com", "pending", "", "12.00", [("1", "Cup", "12.00"), ("1", "Tray", "0.00")]),
        *order("#1007", "max@example.com", "authorized", "", "33.00", [("1", "Cup", "33.00")]),
        *order("#1008", "max@example.com", "paid", "2024-05-01 08:00:00 +0800", "20.00", [("1", "Cup", "20.00")]),
    ]
    return write_csv(tmp_path / "orders_export.csv", rows)


class TestShopify:
    def test_revenue_is_each_paid_orders_total_once_net_of_refunds(self, shopify):
        data = load_transactions([shopify])
        assert per_customer(data) == {
            "li.wei@example.com": (158.0 + 70.0, 2),  # #1002 keeps its net 100 − 30
            "max@example.com": (20.0, 1),
            "zoe@example.com": (45.5, 1),  # #1004 refunded in full: excluded
        }
        assert data.report.excluded_orders == {"refunded": 1, "voided": 1, "pending": 1, "authorized": 1}
        assert data.report.drop_counts == {"order excluded by status": 5}  # #1006 has two lines
        balanced(data)

    def test_the_wall_clock_date_is_kept_whatever_the_offset(self, shopify):
        frame = load_transactions([shopify]).frame
        days = frame.groupby("order_id", observed=True)["order_date"].first().dt.strftime("%Y-%m-%d %H:%M")
        assert days.to_dict() == {
            "#1001": "2024-03-05 00:22",  # 2024-03-04 in UTC
            "#1002": "2024-04-01 10:00",
            "#1003": "2024-04-02 23:59",  # 2024-04-03 in UTC
            "#1008": "2024-05-01 08:00",
        }

    def test_the_layout_is_recognised_and_said(self, shopify):
        data = load_transactions([shopify])
        file = data.report.files[0]
        assert file.mapping == {
            "order_id": "Name",
            "customer_id": "Email",
            "order_date": "Paid at",
            "amount": "Total",
            "quantity": "Lineitem quantity",
            "product": "Lineitem name",
            "status": "Financial Status",
            "refund": "Refunded Amount",
        }
        dialect = file.dialect
        assert (dialect.layout, dialect.order_totals, dialect.orders_by) == ("shopify", True, "order id")
        assert dialect.amount_basis == "order total: tax and shipping included"
        assert dialect.other_amounts == {"Subtotal": "before tax and shipping"}
        assert dialect.encoding == "utf-8" and dialect.separator == "," and dialect.header_row == 1
        products = data.frame.loc[data.frame["order_id"] == "#1001", ["product", "amount"]]
        assert products.to_numpy().tolist() == [["Longjing", 158.0], ["Cup", 0.0], ["Tray", 0.0]]

    def test_inspect_findings(self, shopify):
        code, stdout, stderr = run("inspect", shopify, "--format", "json")
        assert code == 0, stderr
        findings = {f["kind"]: (f["count"], f["detail"]) for f in json.loads(stdout)["findings"]}
        assert findings == {
            "excluded by status": (
                5,
                "lines of orders that are not revenue: refunded 1, voided 1, pending 1, authorized 1",
            ),
            "order items": (2, "further lines of an order whose amount is on its first line"),
        }

    def test_segment_end_to_end(self, shopify, tmp_path):
        rejects, out = tmp_path / "rejects.csv", tmp_path / "customers.csv"
        code, stdout, stderr = run(
            "segment", shopify, "--no-model", "--format", "json", "--rejects", rejects, "--out", out
        )
        assert code == 0, stderr
        summary = json.loads(stdout)
        assert summary["data"]["customers"] == 3
        assert sum(t["revenue"] for t in summary["tiers"]) == pytest.approx(293.5)
        scored = pd.read_csv(out, dtype={"customer_id": str}).set_index("customer_id")
        assert scored["n_orders"].to_dict() == {"li.wei@example.com": 2, "max@example.com": 1, "zoe@example.com": 1}
        dropped = pd.read_csv(rejects, dtype=str)
        assert dropped["value"].tolist() == ["refunded", "voided", "pending", "pending", "authorized"]
        assert dropped["source_row"].tolist() == ["8", "9", "10", "11", "12"]  # #1001's note spans lines 2-3


# --- Taobao / Tmall --------------------------------------------------------------------
TAOBAO_HEADER = [
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "总金额",
    "买家实际支付金额",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "宝贝种类",
    "宝贝总数量",
    "店铺名称",
    "退款金额",
]


def taobao(number, buyer, paid_amount, status, created, paid, title, refund="0.00", quantity="1"):
    return [
        f'="{number}"',  # long numbers wrapped so Excel keeps them
        buyer,
        f"{buyer}@alipay",
        paid_amount,
        "0.00",
        paid_amount,
        paid_amount,
        status,
        "",
        "张三",
        created,
        paid,
        title,
        "1",
        quantity,
        "茶香小铺",
        refund,
    ]


@pytest.fixture
def tmall(tmp_path: Path) -> Path:
    rows = [
        TAOBAO_HEADER,
        taobao(
            "3301000000000001",
            "茶友小王",
            "198.00",
            "交易成功",
            "2024-06-18 00:05:00",
            "2024-06-18 00:06:10",
            "西湖龙井 明前特级 250g",
        ),
        taobao("3301000000000002", "茶友小王", "88.00", "交易关闭", "2024-06-19 10:00:00", "", "普洱"),
        taobao(
            "3301000000000003",
            "潇潇",
            "120.00",
            "交易成功",
            "2024-06-20 10:00:00",
            "2024-06-20 10:01:00",
            "白茶礼盒",
            refund="40.00",
        ),
        taobao("3301000000000004", "潇潇", "66.00", "等待买家付款", "2024-06-21 10:00:00", "", "茶杯"),
        taobao(
            "3301000000000005",
            "潇潇",
            "35.50",
            "卖家已发货，等待买家确认",
            "2024-06-22 10:00:00",
            "2024-06-22 10:00:30",
            "茶杯",
        ),
        taobao(
            "3301000000000006",
            "阿杰",
            "50.00",
            "交易成功",
            "2024-06-23 10:00:00",
            "2024-06-23 10:00:30",
            "茶盘",
            refund="50.00",
        ),
    ]
    return write_csv(tmp_path / "ExportOrderList.csv", rows, encoding="gb18030")


class TestTaobao:
    def test_paid_minus_refund_for_orders_that_are_revenue(self, tmall):
        data = load_transactions([tmall])
        assert per_customer(data) == {"潇潇": (80.0 + 35.5, 2), "茶友小王": (198.0, 1)}
        assert data.report.excluded_orders == {"交易关闭": 1, "等待买家付款": 1, "refunded in full": 1}
        assert set(data.frame["order_id"]) == {"3301000000000001", "3301000000000003", "3301000000000005"}
        balanced(data)

    def test_headers_encoding_and_basis(self, tmall):
        file = load_transactions([tmall]).report.files[0]
        assert file.mapping == {
            "customer_id": "买家会员名",
            "order_date": "订单付款时间",
            "amount": "买家实际支付金额",
            "order_id": "订单编号",
            "quantity": "宝贝总数量",
            "product": "宝贝标题",
            "status": "订单状态",
            "refund": "退款金额",
        }
        assert file.dialect.encoding == "gb18030"
        assert file.dialect.amount_basis == "paid by the buyer"
        assert file.dialect.other_amounts == {"总金额": "order total before discounts"}

    def test_status_lists_come_from_crmkit_toml(self, tmall):
        rules = StatusRules.from_config({"cancelled": ["交易关闭"], "unpaid": [], "refunded": "全额退款"})
        data = load_transactions([tmall], status=rules)
        assert data.report.excluded_orders == {"交易关闭": 1, "refunded in full": 1}
        # 等待买家付款 is no longer excluded, but it has no payment time: dropped for that, and said so
        assert data.rejects.loc[data.rejects["reason"] != "order excluded by status", "order_id"].tolist() == [
            '="3301000000000004"'
        ]
        assert data.report.drop_counts["missing or unparseable order_date"] == 1

    @pytest.mark.parametrize(
        ("table", "match"),
        [({"closed": ["x"]}, "unknown \\[status\\] setting"), ({"unpaid": [1, 2]}, "list of status texts")],
    )
    def test_bad_status_tables_are_refused(self, table, match):
        with pytest.raises(OptionError, match=match):
            StatusRules.from_config(table)

    def test_config_file_status_table_through_the_cli(self, tmall, tmp_path):
        config = tmp_path / "crmkit.toml"
        config.write_text("[status]\nunpaid = []\n", encoding="utf-8")
        code, stdout, stderr = run("inspect", tmall, "--config", config, "--format", "json")
        assert code == 0, stderr
        assert json.loads(stdout)["excluded_orders"] == {"交易关闭": 1, "refunded in full": 1}
        config.write_text('[status]\ncancel = ["交易关闭"]\n', encoding="utf-8")
        code, _, stderr = run("inspect", tmall, "--config", config)
        assert code == 2 and "unknown [status] setting(s) cancel" in stderr


# --- Kingdee / Yonyou ------------------------------------------------------------------
KINGDEE_HEADER = [
    "单据日期",
    "单据编号",
    "客户编码",
    "客户名称",
    "物料编码",
    "物料名称",
    "数量",
    "单价",
    "金额",
    "税额",
    "价税合计",
]


def kingdee_book(path: Path, lines: list[list[object]], *, merge_customer: str | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "销售出库单序时簿"
    sheet.append(["销售出库单序时簿"])
    sheet.merge_cells("A1:K1")
    sheet.append(["日期", "2024-01-01", "至", "2024-12-31"])
    sheet.append(["客户", "全部"])
    sheet.append(KINGDEE_HEADER)
    for line in lines:
        sheet.append(line)
    if merge_customer:
        sheet.merge_cells(merge_customer)
    quantity = sum(line[6] for line in lines)
    sheet.append(["合计", None, None, None, None, None, quantity, None, 0, 0, 0])
    book.save(path)
    return path


KINGDEE_LINES = [
    [dt.datetime(2024, 1, 5), "XSCK-0001", "C001", "华东茶行", "M01", "龙井", 2, 50, 100, 13, 113],
    [dt.datetime(2024, 1, 5), "XSCK-0001", None, "华东茶行", "M02", "茶杯", 2, 50, 100, 13, 113],  # merged above
    [dt.datetime(2024, 1, 5), "XSCK-0001", "C001", "华东茶行", "M03", "茶盘", 2, 50, 100, 13, 113],
    [dt.datetime(2024, 2, 5), "XSCK-0002", "C002", "华南茶行", "M01", "龙井", 1, 50, 50, 6.5, 56.5],
    [dt.datetime(2024, 3, 9), "XSTH-0001", "C002", "华南茶行", "M01", "龙井", -1, 50, -50, -6.5, -56.5],  # a return
]


class TestKingdee:
    def test_title_date_range_merged_cells_and_totals_row(self, tmp_path):
        path = kingdee_book(tmp_path / "销售出库单.xlsx", KINGDEE_LINES, merge_customer="C5:C6")
        data = load_transactions([path])
        assert per_customer(data) == {"C001": (300.0, 1), "C002": (0.0, 1)}
        file = data.report.files[0]
        assert (file.dialect.header_row, file.dialect.header_found) == (4, "detected")
        assert file.dialect.amount_basis == "before tax"
        assert file.dialect.other_amounts == {"价税合计": "tax included"}
        assert data.report.drop_counts == {"totals row": 1}
        assert data.rejects[["source_row", "reason", "value"]].to_numpy().tolist() == [["10", "totals row", "合计"]]
        # The merged 客户编码 cell is read as Excel shows it (no line had to take its order's customer), and the
        # revenue basis chosen is said, with the way to the other one.
        assert data.report.warnings == [
            f"{path}: revenue is 金额 (before tax); the file also has 价税合计 (tax included): --col amount=价税合计"
        ]
        balanced(data)

    def test_tax_included_revenue_on_request(self, tmp_path):
        path = kingdee_book(tmp_path / "k.xlsx", KINGDEE_LINES, merge_customer="C5:C6")
        data = load_transactions([path], columns={"amount": "价税合计"})
        assert per_customer(data) == {"C001": (339.0, 1), "C002": (0.0, 1)}
        assert data.report.files[0].dialect.amount_basis == "tax included"
        assert data.report.files[0].dialect.other_amounts == {"金额": "before tax"}

    def test_header_row_forced_when_detection_cannot(self, tmp_path):
        book = Workbook()
        sheet = book.active
        sheet.append(["往来单位销售统计"])
        sheet.append(["日期", "2024-01-01", "至", "2024-12-31"])
        sheet.append(["往来单位代码", "业务日期", "本币金额"])
        sheet.append(["K1", dt.datetime(2024, 1, 5), 10])
        book.save(tmp_path / "yonyou.xlsx")
        columns = {"customer_id": "往来单位代码", "order_date": "业务日期", "amount": "本币金额"}
        data = load_transactions([tmp_path / "yonyou.xlsx"], columns=columns, header_row=3)
        assert per_customer(data) == {"K1": (10.0, 1)}
        assert data.report.files[0].dialect.header_found == "--header-row"
        code, _, stderr = run("inspect", tmp_path / "yonyou.xlsx")
        assert code == 2 and "--header-row N" in " ".join(stderr.split())
        with pytest.raises(OptionError, match="header_row=0"):
            load_transactions([tmp_path / "yonyou.xlsx"], header_row=0)

    def test_header_row_in_a_csv_report(self, tmp_path):
        rows = [["销售明细表"], ["日期", "2024-01-01", "至", "2024-12-31"], [], [*KINGDEE_HEADER[:3], "金额"]]
        rows += [["2024-01-05", "XS1", "C9", "12.5"], ["合计", "", "", "12.5"]]
        data = load_transactions([write_csv(tmp_path / "report.csv", rows, encoding="gb18030")])
        assert per_customer(data) == {"C9": (12.5, 1)}
        assert data.report.files[0].dialect.header_row == 4
        assert data.rejects["source_row"].tolist() == ["6"] and data.rejects["reason"].tolist() == ["totals row"]


# --- European CSV ----------------------------------------------------------------------
class TestEuropean:
    ROWS = [
        ["Kundennummer", "Kunde", "Rechnungsdatum", "Rechnungsnummer", "Artikel", "Menge", "Betrag"],
        ["K-001", "Müller GmbH", "31.12.2024", "R-1", "Tee", "1.000", "1.234,56"],
        ["K-002", "Zoë Café", "01.12.2024", "R-2", "Tasse", "2", "1.500"],  # 1500, not 1.5
        ["K-003", "Ångström AB", "13.11.2024", "R-3", "Kanne", "3", "12,5"],
        ["K-001", "Müller GmbH", "02.01.2024", "R-4", "Tee", "1", "-20,00"],
    ]
    COLUMNS = {"customer_id": "Kundennummer", "order_date": "Rechnungsdatum", "amount": "Betrag"}

    def test_decimal_commas_dates_and_windows_1252(self, tmp_path):
        path = write_csv(tmp_path / "umsatz.csv", self.ROWS, encoding="cp1252", delimiter=";")
        data = load_transactions(
            [path], columns={**self.COLUMNS, "order_id": "Rechnungsnummer", "quantity": "Menge", "product": "Artikel"}
        )
        assert per_customer(data) == {"K-001": (1214.56, 1), "K-002": (1500.0, 1), "K-003": (12.5, 1)}
        assert data.frame["quantity"].tolist() == [1000.0, 2.0, 3.0, 1.0]
        dialect = data.report.files[0].dialect
        assert (dialect.encoding, dialect.separator, dialect.date_order) == ("windows-1252", ";", "dmy")
        assert dialect.decimal == {"Betrag": ",", "Menge": ","}

    def test_names_stay_as_written(self, tmp_path):
        path = write_csv(tmp_path / "umsatz.csv", self.ROWS, encoding="cp1252", delimiter=";")
        data = load_transactions([path], columns={**self.COLUMNS, "customer_id": "Kunde"})
        assert sorted(data.frame["customer_id"].unique()) == ["Müller GmbH", "Zoë Café", "Ångström AB"]

    def test_inspect_shows_the_dialect(self, tmp_path):
        path = write_csv(tmp_path / "umsatz.csv", self.ROWS, encoding="cp1252", delimiter=";")
        args = [f"--col={k}={v}" for k, v in self.COLUMNS.items()]
        code, stdout, stderr = run("inspect", path, *args)
        assert code == 0, stderr
        shown = " ".join(stdout.split())
        for fragment in (
            "header row 1 (detected",
            "separator ;",
            "encoding windows-1252",
            "decimal mark , in Betrag",
            "date style day/month 4; order dmy",
            "revenue Betrag",
            "no order-id column: one order per customer and day",
        ):
            assert fragment in shown
        record = json.loads(run("inspect", path, *args, "--format", "json")[1])
        assert record["files"][0]["dialect"]["decimal"] == {"Betrag": ","}


# --- decimal marks ---------------------------------------------------------------------
class TestDecimalMarks:
    def test_an_undecidable_column_is_refused_with_samples_and_the_option(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["A", "2024-01-05", "1.500"], ["B", "2024-01-06", "2.250"]]
        path = write_csv(tmp_path / "eu.csv", rows, delimiter=";")
        with pytest.raises(BadValueError) as caught:
            load_transactions([path])
        message = str(caught.value)
        assert str(path) in message and "'amount'" in message and "'1.500'" in message and "decimal=','" in message
        assert per_customer(load_transactions([path], decimal=","))["A"] == (1500.0, 1)
        assert per_customer(load_transactions([path], decimal="."))["A"] == (1.5, 1)
        with pytest.raises(OptionError, match="decimal=';'"):
            load_transactions([path], decimal=";")
        settled = write_csv(tmp_path / "settled.csv", [*rows, ["C", "2024-01-07", "1.234,56"]], delimiter=";")
        with pytest.raises(BadValueError, match="decimal='.' contradicts the data: '1.234,56'"):
            load_transactions([settled], decimal=".")

    def test_a_comma_separated_file_writes_dots(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["A", "2024-01-05", "1,500"], ["B", "2024-01-06", "2,250"]]
        data = load_transactions([write_csv(tmp_path / "en.csv", rows)])
        assert per_customer(data) == {"A": (1500.0, 1), "B": (2250.0, 1)}

    def test_the_decimal_option_through_the_cli(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["A", "2024-01-05", "1.500"]]
        path = write_csv(tmp_path / "eu.csv", rows, delimiter=";")
        code, _, stderr = run("inspect", path)
        assert code == 2 and "--decimal" in stderr
        code, stdout, _ = run("inspect", path, "--decimal", ",", "--format", "json")
        assert code == 0 and json.loads(stdout)["files"][0]["dialect"]["decimal"] == {"amount": ","}


# --- lines, orders, headers ------------------------------------------------------------
class TestLinesAndOrders:
    def test_a_repeat_is_a_line_equal_in_every_column(self, tmp_path):
        rows = [
            ["单据编号", "客户编码", "单据日期", "金额", "物料编码", "行号"],
            ["XS1", "C1", "2024-01-05", "10", "M1", "1"],
            ["XS1", "C1", "2024-01-05", "10", "M2", "2"],  # another product at the same price: kept
            ["XS1", "C1", "2024-01-05", "10", "M3", "3"],
            ["XS1", "C1", "2024-01-05", "10", "M3", "3"],  # the same line again: a repeat
        ]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert per_customer(data) == {"C1": (30.0, 1)}
        assert data.report.drop_counts == {"repeated order line": 1}
        assert data.rejects["source_row"].tolist() == ["5"]

    def test_repeats_across_overlapping_monthly_workbooks(self, tmp_path):
        header = ["Order ID", "Customer ID", "Order Date", "Amount", "SKU"]
        lines = [["SO1", "A", dt.datetime(2024, 1, 31), 10, "T1"], ["SO1", "A", dt.datetime(2024, 1, 31), 10, "T2"]]
        for name, extra in (("jan.xlsx", []), ("feb.xlsx", [["SO2", "A", dt.datetime(2024, 2, 3), 5, "T1"]])):
            book = Workbook()
            for line in [header, *lines, *extra]:
                book.active.append(line)
            book.save(tmp_path / name)
        data = load_transactions([tmp_path / "jan.xlsx", tmp_path / "feb.xlsx"])
        assert per_customer(data) == {"A": (25.0, 2)}
        assert data.report.drop_counts == {"repeated order line": 2}

    def test_without_an_order_id_orders_are_purchase_days(self, tmp_path):
        rows = [
            ["customer_id", "order_date", "amount"],
            ["A", "2024-01-05 09:00", "10"],
            ["A", "2024-01-05 15:00", "5"],
            ["A", "2024-01-09", "7"],
            ["B", "2024-01-05", "3"],
        ]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert per_customer(data) == {"A": (22.0, 2), "B": (3.0, 1)}
        assert data.report.files[0].dialect.orders_by == "customer and day"
        code, stdout, _ = run("inspect", tmp_path / "o.csv")
        assert code == 0 and "no order-id column: one order per customer and day" in " ".join(stdout.split())

    @pytest.mark.parametrize(
        ("header", "canonical"),
        [
            ("单据编号", "order_id"),
            ("客户编码", "customer_id"),
            ("单据日期", "order_date"),
            ("物料名称", "product"),
            ("买家会员名", "customer_id"),
            ("订单付款时间", "order_date"),
            ("买家实际支付金额", "amount"),
            ("Email", "customer_id"),
            ("Paid at", "order_date"),
            ("订单状态", "status"),
            ("Financial Status", "status"),
            ("退款金额", "refund"),
            ("Refunded Amount", "refund"),
        ],
    )
    def test_export_headers_are_recognised(self, header, canonical):
        assert match_columns([header], TRANSACTION_ALIASES, {}) == {canonical: header}

    def test_name_is_the_order_only_in_a_shopify_export(self):
        assert match_columns(["Name", "Email", "Total"], TRANSACTION_ALIASES, {}).get("order_id") is None
        shopify = ["Name", "Email", "Financial Status", "Paid at", "Total", "Lineitem name"]
        assert match_columns(shopify, TRANSACTION_ALIASES, {})["order_id"] == "Name"

    def test_a_totals_row_is_never_a_customer(self, tmp_path):
        rows = [
            ["客户编码", "单据日期", "金额"],
            ["C1", "2024-01-05", "10"],
            ["小计", "2024-01-05", "10"],  # a dated subtotal under the customer id column
            ["C2", "2024-01-06", "5"],
            ["GRAND TOTAL:", "", "15"],
        ]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert per_customer(data) == {"C1": (10.0, 1), "C2": (5.0, 1)}
        assert data.rejects[["source_row", "reason", "value"]].to_numpy().tolist() == [
            ["3", "totals row", "小计"],
            ["5", "totals row", "GRAND TOTAL:"],
        ]

    def test_customers_with_only_returns_are_named(self, tmp_path):
        rows = [["customer_id", "order_date", "amount"], ["A", "2024-01-05", "10"], ["R", "2024-01-06", "-4"]]
        data = load_transactions([write_csv(tmp_path / "o.csv", rows)])
        assert any("1 customer(s) have only returns" in w and "'R'" in w for w in data.report.warnings)


# --- customer master -------------------------------------------------------------------
class TestMasterMatch:
    def test_a_master_whose_ids_barely_match_is_not_used(self, tmp_path):
        tx = [["customer_id", "order_date", "amount"]] + [[f"C{i:06d}", "2024-01-05", "1"] for i in range(1, 11)]
        master = [["customer_id", "name"]] + [[f"C-{i:06d}", f"n{i}"] for i in range(1, 31)] + [["C000001", "x"]]
        data = load_transactions([write_csv(tmp_path / "tx.csv", tx)])
        customers = load_customers(write_csv(tmp_path / "master.csv", master))
        assert match_customers(data, customers) is None
        note = data.report.warnings[-1]
        assert "only 1 of 10 customers (10%)" in note
        assert "'C000002'" in note and "'C-000001'" in note
        code, stdout, stderr = run("segment", tmp_path / "tx.csv", "--customers", tmp_path / "master.csv", "--no-model")
        assert code == 0 and "Prospect" not in stdout and "was not used" in " ".join(stderr.split())

    def test_a_master_with_the_same_ids_is_used(self, tmp_path):
        tx = [["customer_id", "order_date", "amount"], ["C1", "2024-01-05", "1"], ["C2", "2024-01-05", "1"]]
        data = load_transactions([write_csv(tmp_path / "tx.csv", tx)])
        customers = load_customers(write_csv(tmp_path / "m.csv", [["customer_id"], ["C1"], ["C2"], ["P9"]]))
        assert match_customers(data, customers) is customers
