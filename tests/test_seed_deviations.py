"""Smaller mends from the seeds: grouping by a master-file column without exporting it, month-only exports in
``compare``, the workbook's printing, chart axis and headers, and ``--lang zh`` for choices, errors and notes."""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from typer.testing import CliRunner, Result

import crmkit
from crmkit.cli import app
from crmkit.datasets.sample import localise_sample, simulate_sales
from crmkit.output import labels
from crmkit.output.excel_style import FILTER_ARROW, text_width
from crmkit.output.tables import write_table

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
ENV = {
    "COLUMNS": "80",
    "LINES": "50",
    "NO_COLOR": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "CRMKIT_DEBUG": None,
}
runner = CliRunner()
#: Column key of each Chinese header label.
COLUMN_OF = {zh: key for key, (_, zh) in {**labels.COLUMN_LABELS, **labels.SUMMARY_LABELS}.items()}


def run(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def ok(*args: object) -> str:
    result = run(*args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.stdout


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return crmkit.read_transactions(SAMPLES / "sales.xlsx").frame


# --- grouping by a master-file column -------------------------------------------------------------------------
def test_group_by_a_master_column_without_exporting_it(tmp_path: Path) -> None:
    master = pd.read_csv(SAMPLES / "customers.csv", dtype=str, encoding="utf-8-sig")
    master["行业"] = [("制造", "零售", "医药")[i % 3] for i in range(len(master))]
    path, out = tmp_path / "master.csv", tmp_path / "customers_out.csv"
    master.to_csv(path, index=False)
    summary = json.loads(
        ok(
            "segment",
            SAMPLES / "sales.xlsx",
            "--customers",
            path,
            "--group-by",
            "行业",
            "--out",
            out,
            "-q",
            "--format",
            "json",
        )
    )
    groups = {row["行业"]: row for row in summary["groups"]}
    assert set(groups) == {"制造", "零售", "医药"}
    assert sum(row["customers"] for row in groups.values()) == summary["data"]["customers"]
    exported = pd.read_csv(out, encoding="utf-8-sig", nrows=1)
    assert "行业" not in exported.columns and "name" not in exported.columns  # grouping exports no attribute
    by_industry = json.loads(
        ok("retention", SAMPLES / "sales.xlsx", "--customers", path, "--group-by", "行业", "--format", "json", "-q")
    )
    assert {row["行业"] for row in by_industry["groups"]} == {"制造", "零售", "医药"}


# --- compare on month-only exports ----------------------------------------------------------------------------
def test_compare_explains_exports_that_each_hold_one_month(tmp_path: Path, sample: pd.DataFrame) -> None:
    may, june = tmp_path / "may.csv", tmp_path / "june.csv"
    dates = sample["order_date"]
    sample.loc[(dates >= "2024-05-01") & (dates <= "2024-05-31")].to_csv(may, index=False)
    sample.loc[(dates >= "2024-06-01") & (dates <= "2024-06-30")].to_csv(june, index=False)
    report = json.loads(ok("compare", may, june, "--no-model", "--format", "json"))
    (warning,) = report["warnings"]
    assert f"{june} starts on 2024-06-01, later than {may} (2024-05-01)" in warning
    assert "do not overlap" in warning and "--as-of 2024-05-31 --as-of 2024-06-30" in warning
    table = ok("compare", may, june, "--no-model", "-q")
    assert table.lstrip().startswith("Note:")  # read before the tables, since it changes what they mean
    # Full histories up to each month's end: nothing to explain.
    upto_may, upto_june = tmp_path / "upto_may.csv", tmp_path / "upto_june.csv"
    sample.loc[dates <= "2024-05-31"].to_csv(upto_may, index=False)
    sample.loc[dates <= "2024-06-30"].to_csv(upto_june, index=False)
    assert json.loads(ok("compare", upto_may, upto_june, "--no-model", "--format", "json"))["warnings"] == []


# --- the workbook: printing, the tier chart's axis, Chinese headers ---------------------------------------------
@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, openpyxl.Workbook]:
    """The shipped sample's workbook in Chinese, written and read back once."""
    path = tmp_path_factory.mktemp("book") / "客户分析.xlsx"
    ok("segment", SAMPLES / "sales.xlsx", "--customers", SAMPLES / "customers.csv", "--out", path, "--lang", "zh", "-q")
    return path, openpyxl.load_workbook(path)


def column_widths(ws) -> dict[int, float]:
    """Width of every column with one set (0 when hidden); openpyxl keeps a run of equal columns under its first."""
    widths = {}
    for dim in ws.column_dimensions.values():
        for col in range(dim.min, dim.max + 1):
            widths[col] = 0.0 if dim.hidden else dim.width
    return widths


def printed_pages(ws) -> tuple[int, int]:
    """(pages across, pages down) as Excel lays out A4 with the sheet's margins, print area, fit-to-width and
    repeated header row: columns of 7 pixels a character plus 5, rows of their height or 15 points."""
    a4 = (841.9, 595.3) if ws.page_setup.orientation == "landscape" else (595.3, 841.9)
    margins = ws.page_margins
    room = (a4[0] - 72 * (margins.left + margins.right), a4[1] - 72 * (margins.top + margins.bottom))
    area = ws.print_area or f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    first_col, first_row, last_col, last_row = range_boundaries(area.split("!")[-1].replace("$", ""))
    set_widths = column_widths(ws)
    widths = [0.75 * math.floor(7 * set_widths.get(col, 8.43) + 5) for col in range(first_col, last_col + 1)]
    widths = [0.0 if set_widths.get(col) == 0.0 else w for col, w in zip(range(first_col, last_col + 1), widths)]
    heights = [ws.row_dimensions[r].height or 15.0 for r in range(first_row, last_row + 1)]
    scale = 1.0
    if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage:
        scale = min(1.0, room[0] * (ws.page_setup.fitToWidth or 1) / sum(widths))

    def pages(sizes: list[float], space: float, repeated: float) -> int:
        count, used = 1, 0.0
        for size in sizes:
            if used + size > space and used > repeated:
                count, used = count + 1, repeated
            used += size
        return count

    breaks = len(ws.row_breaks.brk)
    return pages(widths, room[0] / scale, 0.0), pages(heights, room[1] / scale, heights[0]) + breaks


def test_the_workbook_prints_in_a_sane_number_of_pages(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    book = workbook[1]
    pages = {ws.title: printed_pages(ws) for ws in book}
    assert all(across == 1 for across, _ in pages.values()), str(pages)  # every sheet one page wide
    total = sum(across * down for across, down in pages.values())
    # 2,060 customers on Customers, 1,600 on Iron, about 900 at risk, 1,950 with a cross-sell offer: about 36 rows
    # a page at ~80% scale. (Printed across six pages at full size, Customers alone took 400 pages.)
    assert total <= 200, str(pages)
    customers = book["客户"]
    printed = [
        c.value.replace("\n", " ") for c in customers[1][: range_boundaries(customers.print_area.split("!")[1])[2]]
    ]
    assert printed == [  # the name too, with --include-attributes
        "客户编号",
        "价值等级",
        "价值排名",
        "累计销售额",
        "客户终身价值 (CLV)",
        "RFM 客户细分",
        "生命周期阶段",
        "流失风险等级",
        "流失风险金额",
        "最近购买日期",
        "销售员",
    ]
    summary = book["摘要"]
    hidden = [col for col, width in column_widths(summary).items() if width == 0.0]
    assert hidden and min(hidden) > range_boundaries(summary.print_area.split("!")[1])[2]


def test_the_revenue_by_tier_axis_starts_at_zero(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    with zipfile.ZipFile(workbook[0]) as package:
        charts = [package.read(name).decode("utf-8") for name in package.namelist() if name.startswith("xl/charts/")]
    (tiers,) = [xml for xml in charts if "各价值等级收入" in xml]
    value_axis = re.search(r"<c:valAx>.*?</c:valAx>", tiers, re.S).group(0)
    assert '<c:min val="0"/>' in value_axis


def test_chinese_headers_never_wrap_mid_word(workbook: tuple[Path, openpyxl.Workbook]) -> None:
    """A header on two lines is broken at a space, and each line fits its column, so Excel wraps nothing itself
    (it would break Chinese anywhere)."""
    book = workbook[1]
    wrapped = 0
    for name in ("客户", "铂金客户", "流失风险"):
        ws = book[name]
        widths = column_widths(ws)
        for cell in ws[1]:
            width = widths[cell.column]
            lines = cell.value.split("\n")
            wrapped += len(lines) > 1
            for line in lines:
                assert text_width(pd.Series([line])) + FILTER_ARROW <= width, (name, cell.value, width)
            assert labels.column_label(COLUMN_OF[cell.value.replace("\n", " ")], "zh") == cell.value.replace("\n", " ")
    assert wrapped  # some headers do go on two lines


# --- --lang zh: choices by their Chinese labels, errors and notes in Chinese --------------------------------------
def fails(*args: object) -> str:
    """Run crmkit expecting exit 2 and one error on stderr; the error's text."""
    result = run(*args)
    assert result.exit_code == 2, f"{result.output}\n{result.exception!r}"
    assert result.stdout == "" and "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 simulated customers (with a cost column and a customer master) as an English export."""
    folder = tmp_path_factory.mktemp("small")
    data = localise_sample(simulate_sales(200, seed=5), "en")
    write_table(data.transactions, folder / "sales.csv")
    write_table(data.customers, folder / "customers.csv")
    return folder


def test_choices_accept_their_chinese_labels(small: Path, tmp_path: Path) -> None:
    sales = small / "sales.csv"
    english = json.loads(ok("churn", sales, "--min-tier", "gold", "--format", "json"))
    chinese = json.loads(ok("churn", sales, "--min-tier", "黄金", "--format", "json"))
    assert chinese == english and {c["tier"] for c in chinese["customers"]} <= {"platinum", "gold"}
    weeks = json.loads(ok("segment", sales, "--time-unit", "周", "--tier-by", "毛利", "--format", "json", "--no-model"))
    assert weeks["data"]["time_unit"] == "week"
    profit = json.loads(ok("segment", sales, "--tier-by", "profit", "--format", "json", "--no-model"))
    assert weeks["tiers"] == profit["tiers"]
    quarters = json.loads(ok("retention", sales, "--period", "季度", "--format", "json"))
    assert quarters["periods"][0]["period"] == "2023-Q1"
    assert "客户留存" in ok("segment", sales, "--lang", "中文", "--no-model")
    # A group or a column named like a label is left alone: only choices are read as labels.
    master = pd.read_csv(small / "customers.csv", dtype=str, encoding="utf-8-sig").rename(columns={"Region": "月"})
    master.to_csv(tmp_path / "master.csv", index=False)
    groups = json.loads(
        ok("retention", sales, "--customers", tmp_path / "master.csv", "--group-by", "月", "--format", "json")
    )
    assert "月" in groups["groups"][0]


def test_errors_in_chinese(tmp_path: Path) -> None:
    no_columns = tmp_path / "no_columns.csv"
    no_columns.write_text("cust,when\nA,2024-01-01\n", encoding="utf-8")
    assert fails("segment", no_columns, "--lang", "zh").startswith(
        f"错误：{no_columns}：找不到必需的列 customer_id, order_date, amount；文件中的列有：'cust', 'when'\n"
        '提示：请用 --col customer_id="<header>" --col order_date="<header>" --col amount="<header>" 指明列名'
    )
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("Customer ID,Order Date,Amount\nA,05/03/2024,10\nB,06/04/2024,20\n", encoding="utf-8")
    message = fails("segment", ambiguous, "--lang", "zh")
    assert "'Order Date' 列：05/03/2024 这样的日期既可能是日/月也可能是月/日" in message
    assert "提示：请用 --date-order dmy" in message
    clean = tmp_path / "clean.csv"
    clean.write_text("Customer ID,Order Date,Amount\nA,2024-03-05,10\nA,2024-04-06,20\n", encoding="utf-8")
    assert fails("churn", clean, "--min-tier", "钻石", "--lang", "zh", "-q").startswith(
        "错误：--min-tier 的取值 '钻石' 无效；可选：platinum (铂金)、gold (黄金)、iron (铁)"
    )
    assert fails("segment", SAMPLES / "sales.xlsx", "--time-unit", "fortnight", "--lang", "zh").startswith(
        "错误：--time-unit 的取值 'fortnight' 无效；可选：day (天)、week (周)、month (月)"
    )
    # crmkit.toml's [output] lang = "zh" is enough; English stays English.
    (tmp_path / "crmkit.toml").write_text('[output]\nlang = "zh"\n', encoding="utf-8")
    assert fails("segment", tmp_path / "missing.csv").startswith(f"错误：{tmp_path / 'missing.csv'} 不存在")
    assert fails("segment", tmp_path / "missing.csv", "--lang", "en").startswith("Error: ")


def test_notes_in_chinese() -> None:
    flawed = Path("flawed.csv")  # in the test's own folder: short enough not to wrap at 80 columns
    flawed.write_text(
        "Customer ID,Order Date,Amount\nA,05/03/2024,10\nB,13/04/2024,20\nB,07/04/2024,x\n,07/04/2024,5\n",
        encoding="utf-8",
    )
    result = run("segment", flawed, "--lang", "zh")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:5] == [
        "已剔除 4 行中的 2 行：金额缺失或不是数字 1 行，客户编号为空 1 行。",
        f"  {flawed} 第 4 行：Amount 'x'（金额缺失或不是数字）",
        f"  {flawed} 第 5 行：Customer ID ''（客户编号为空）",
        "  用 --rejects FILE 写出每一条被剔除的行，或用 --strict 在遇到错误行时停止。",
        f"注意：{flawed}：日期按 dmy 读取（13/04/2024 只能按 日/月 解读）",
    ]
    # Nobody bought twice: the model is skipped, and the note says why in Chinese.
    assert "注意：未运行价值模型：没有客户重复购买过，无法拟合购买模型" in result.stdout.replace("\n", "")
    english = run("segment", flawed)
    assert "Note: value model skipped: no customer has a repeat purchase" in english.stdout.replace("\n", " ")


def test_every_chinese_message_form_fills_its_wording() -> None:
    for form, chinese in labels.MESSAGES_ZH:
        fields = set(re.findall(r"{(\w+)}", chinese))
        assert fields <= set(re.compile(form).groupindex), form
        assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
