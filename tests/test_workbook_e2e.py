"""The analyst workbook from a real run: `crmkit segment ... --out report.xlsx [--lang zh]`, read back with openpyxl.

Simulated sales and customer files (150 buyers plus prospects; five customer ids
and one name look like formulas) go through the command line in-process, so the
workbook holds what ingest, the scorers and the pipeline really produce.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner, Result

from crmkit.cli import app
from crmkit.datasets.sample import simulate_sales
from crmkit.output import excel, xlsx_rows

INJECTED_IDS = ['=HYPERLINK("http://evil.example")', "+1", "-2", "@x", "=1+1"]
INJECTED_NAME = '=cmd|" /C calc"!A0'
CJK = re.compile(r"[\u4e00-\u9fff]")
SHEETS = {
    "en": [
        "Summary",
        "Customers",
        "Platinum",
        "Gold",
        "Iron",
        "At risk",
        "Lost key accounts",
        "Cross-sell",
        "Data quality",
        "Definitions",
    ],
    "zh": [
        "摘要",
        "客户",
        "铂金客户",
        "黄金客户",
        "铁客户",
        "流失风险",
        "流失中的重点客户",
        "交叉销售",
        "数据质量",
        "说明",
    ],
}
#: Canonical column → (English header, Chinese header, number format) on the Customers sheet.
COLUMNS = {
    "customer_id": ("Customer ID", "客户编号", "General"),
    "total_revenue": ("Total revenue", "累计销售额", "#,##0.00"),
    "clv": ("Customer lifetime value (CLV)", "客户终身价值 (CLV)", "#,##0.00"),
    "value_at_risk": ("Value at risk", "流失风险金额", "#,##0.00"),
    "p_alive": ("Probability still active", "仍活跃概率", "0.0%"),
    "churn_risk": ("Churn risk", "流失概率", "0.0%"),
    "last_purchase": ("Last purchase", "最近购买日期", "yyyy-mm-dd"),
    "expected_next_purchase": ("Expected next purchase", "预计下次购买日期", "yyyy-mm-dd"),
    "n_orders": ("Orders", "订单数", "#,##0"),
    "frequency": ("Repeat purchases", "重复购买次数", "#,##0"),  # whole days: no decimals
    "usual_gap_days": ("Usual gap (days)", "通常购买间隔 (天)", "0.00"),
    "tier": ("Value tier", "价值等级", "General"),
    "lifecycle_stage": ("Lifecycle stage", "生命周期阶段", "General"),
    "churn_band": ("Churn risk band", "流失风险等级", "General"),
    "name": ("Name", "客户名称", "General"),
}
TIERS = {"en": {"Platinum", "Gold", "Iron", "Prospect"}, "zh": {"铂金", "黄金", "铁", "潜在客户"}}
STAGES = {
    "en": {"Acquisition", "Growth", "Maturity", "Decline", "Termination"},
    "zh": {"潜在获取期", "成长期", "成熟期", "衰退期", "终止期"},
}

runner = CliRunner()


def crmkit(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100", "CRMKIT_DEBUG": None})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Sales and customer CSVs in which five ids and one name start like formulas."""
    folder = tmp_path_factory.mktemp("e2e")
    sample = simulate_sales(150, seed=11)
    tx, customers = sample.transactions.copy(), sample.customers.copy()
    renamed = dict(zip(sorted(tx["customer_id"].unique())[: len(INJECTED_IDS)], INJECTED_IDS))
    tx["customer_id"] = tx["customer_id"].replace(renamed)
    customers["customer_id"] = customers["customer_id"].replace(renamed)
    customers.loc[customers["customer_id"] == "+1", "name"] = INJECTED_NAME
    paths = SimpleNamespace(
        folder=folder,
        sales=folder / "sales.csv",
        customers=folder / "customers.csv",
        n_customers=customers["customer_id"].nunique(),
    )
    tx.to_csv(paths.sales, index=False)
    customers.to_csv(paths.customers, index=False)
    return paths


def segment(files: SimpleNamespace, out: Path, *extra: object) -> Result:
    result = crmkit(
        "segment",
        files.sales,
        "--customers",
        files.customers,
        "--include-attributes",
        "--group-by",
        "salesperson",
        "--out",
        out,
        *extra,
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module", params=["en", "zh"])
def book(request: pytest.FixtureRequest, files: SimpleNamespace) -> SimpleNamespace:
    lang = request.param
    path = files.folder / f"report_{lang}.xlsx"
    segment(files, path, "--lang", lang)
    return SimpleNamespace(lang=lang, path=path, wb=openpyxl.load_workbook(path))


def headers(ws) -> list[str]:
    """The header row as text: a header shown on two lines reads as one (the line break stands for a space)."""
    return [cell.value.replace("\n", " ") if isinstance(cell.value, str) else cell.value for cell in ws[1]]


def column_values(ws, header: str) -> list:
    letter = get_column_letter(headers(ws).index(header) + 1)
    return [cell.value for cell in ws[letter][1:]]


def shown(lang: str, key: str) -> str:
    english, chinese, _ = COLUMNS[key]
    return english if lang == "en" else chinese


def test_sheet_names_in_each_language(book):
    assert book.wb.sheetnames == SHEETS[book.lang]


def test_cross_sell_sheet_formats_shares_and_money(book):
    ws = book.wb[SHEETS[book.lang][7]]
    formats = {header: ws.cell(row=2, column=i + 1).number_format for i, header in enumerate(headers(ws))}
    confidence, value = (
        ("Confidence of offer 1", "Expected value of offer 1")
        if book.lang == "en"
        else (
            "推荐 1 的置信度",
            "推荐 1 的预期价值",
        )
    )
    assert (formats[confidence], formats[value]) == ("0.0%", "#,##0.00")


def test_customer_headers_and_vocabulary_in_each_language(book, files):
    ws = book.wb[SHEETS[book.lang][1]]
    names = headers(ws)
    assert ws.max_row == files.n_customers + 1
    for key in COLUMNS:
        assert shown(book.lang, key) in names, key
    if book.lang == "zh":
        # Every header has Chinese in it, except the user's own columns and "RFM" abbreviations.
        assert all(CJK.search(name) for name in names), [n for n in names if not CJK.search(n)]
    assert set(column_values(ws, shown(book.lang, "tier"))) == TIERS[book.lang]
    assert set(column_values(ws, shown(book.lang, "lifecycle_stage"))) <= STAGES[book.lang]
    assert len(set(column_values(ws, shown(book.lang, "lifecycle_stage")))) >= 3


def test_customer_sheet_number_formats(book):
    ws = book.wb[SHEETS[book.lang][1]]
    for key, (*_, expected) in COLUMNS.items():
        column = headers(ws).index(shown(book.lang, key)) + 1
        cells = [ws.cell(row=r, column=column) for r in range(2, ws.max_row + 1)]
        present = [c for c in cells if c.value is not None]
        assert present, key
        assert {c.number_format for c in present} == {expected}, key
        if expected == "yyyy-mm-dd":
            assert all(c.is_date for c in present), key


def test_table_sheets_frozen_filtered_and_sized(book):
    for name in SHEETS[book.lang][1:6]:
        ws = book.wb[name]
        assert ws.freeze_panes == "B2", name  # header row and the customer id column stay in view
        assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}", name
        assert ws.print_title_rows == "$1:$1", name
        for index, header in enumerate(headers(ws), start=1):
            width = ws.column_dimensions[get_column_letter(index)].width
            assert width >= 6, (name, header)
    # The lists for the sales team print one page wide; the full customer table may not.
    for name in SHEETS[book.lang][2:6]:
        setup = book.wb[name].page_setup
        assert book.wb[name].sheet_properties.pageSetUpPr.fitToPage and setup.fitToHeight == 0
        assert setup.fitToWidth in (None, 1) and setup.orientation == "landscape" and setup.paperSize == 9


def test_tier_and_churn_band_colours(book):
    ws = book.wb[SHEETS[book.lang][1]]
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in ws.conditional_formatting}
    tier = get_column_letter(headers(ws).index(shown(book.lang, "tier")) + 1)
    band = get_column_letter(headers(ws).index(shown(book.lang, "churn_band")) + 1)
    assert {f.strip('"') for f in rules[f"{tier}2:{tier}{ws.max_row}"]} == TIERS[book.lang]
    assert len(rules[f"{band}2:{band}{ws.max_row}"]) == 3


def test_tier_sheets_partition_the_buyers(book, files):
    wb, lang = book.wb, book.lang
    customers = wb[SHEETS[lang][1]]
    tiers = dict(
        zip(column_values(customers, shown(lang, "customer_id")), column_values(customers, shown(lang, "tier")))
    )
    listed = []
    for name, tier in zip(SHEETS[lang][2:5], ("Platinum", "Gold", "Iron") if lang == "en" else ("铂金", "黄金", "铁")):
        ids = column_values(wb[name], shown(lang, "customer_id"))
        assert ids and all(tiers[i] == tier for i in ids)
        listed += ids
    assert sorted(listed) == sorted(i for i, t in tiers.items() if t in TIERS[lang] - {"Prospect", "潜在客户"})


def test_at_risk_sheet_most_value_first(book):
    ws = book.wb[SHEETS[book.lang][5]]
    values = column_values(ws, shown(book.lang, "value_at_risk"))
    assert len(values) > 5 and values == sorted(values, reverse=True) and min(values) > 0


def test_lost_key_accounts_sheet_by_historic_profit(book):
    ws = book.wb[SHEETS[book.lang][6]]
    tiers = set(column_values(ws, shown(book.lang, "tier")))
    stages = set(column_values(ws, shown(book.lang, "lifecycle_stage")))
    profit = column_values(ws, "累计毛利" if book.lang == "zh" else "Total margin")
    assert profit and profit == sorted(profit, reverse=True)
    assert tiers <= ({"铂金", "黄金"} if book.lang == "zh" else {"Platinum", "Gold"})
    assert stages <= ({"衰退期", "终止期"} if book.lang == "zh" else {"Decline", "Termination"})
    actions = set(column_values(ws, "下一步行动" if book.lang == "zh" else "Next action"))
    assert actions and actions <= (
        {"挽回", "挽留", "发展", "维持"} if book.lang == "zh" else {"Win back", "Retain", "Develop", "Maintain"}
    )


def test_no_cell_is_a_formula_and_formula_like_text_survives(book):
    for ws in book.wb.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row), ws.title
    customers = book.wb[SHEETS[book.lang][1]]
    ids = column_values(customers, shown(book.lang, "customer_id"))
    for text in INJECTED_IDS:
        assert text in ids
    assert INJECTED_NAME in column_values(customers, shown(book.lang, "name"))
    id_cells = [c for c in customers["A"][1:] if c.value in INJECTED_IDS]
    assert len(id_cells) == len(INJECTED_IDS) and all(c.data_type == "s" for c in id_cells)


def test_summary_tables_charts_and_groups(book, files):
    ws = book.wb[SHEETS[book.lang][0]]
    cells = {row[0].value: [c.value for c in row[1:9]] for row in ws.iter_rows() if isinstance(row[0].value, str)}
    zh = book.lang == "zh"
    # Churn band table: customers and value at risk per band.
    for band in ("低", "中", "高") if zh else ("Low", "Medium", "High"):
        customers, value_at_risk = cells[band][:2]
        assert customers >= 0 and value_at_risk >= 0
    # Lifecycle table (prospects included) and the per-salesperson rollup (buyers only), headed in the language.
    assert sum(cells[stage][0] for stage in STAGES[book.lang] if stage in cells) == files.n_customers
    group_header = cells["销售员" if zh else "Salesperson"]
    assert group_header[:2] == (["客户数", "收入"] if zh else ["Customers", "Revenue"])
    group_rows = [
        row
        for row in ws.iter_rows(min_row=_row_of(ws, "销售员" if zh else "Salesperson") + 1)
        if isinstance(row[0].value, str)
    ]
    assert sum(row[1].value for row in group_rows) == 150
    # Three charts, all above the rollup table (nothing overlaps it).
    charts = ws._charts
    assert len(charts) == 3
    assert max(chart.anchor._from.row for chart in charts) + 17 < _row_of(ws, "销售员" if zh else "Salesperson")
    titles = [_chart_text(chart.title) for chart in charts]
    assert titles == (
        ["帕累托曲线：客户占比与价值占比", "各价值等级收入", "各生命周期阶段客户数"]
        if zh
        else [
            "Pareto curve: share of value by share of customers",
            "Revenue by value tier",
            "Customers by lifecycle stage",
        ]
    )


def test_pareto_chart_marks_the_80_20_point(book):
    with zipfile.ZipFile(book.path) as package:
        chart = package.read("xl/charts/chart1.xml").decode("utf-8")
    # The point's legend entry names the share of customers making 80% of value.
    assert re.search(r"\d+\.\d% (of customers make 80% of value|的客户贡献了 80% 的价值)", chart)
    assert chart.count("<c:ser>") == 4  # curve, equal-share diagonal, guide lines, 80/20 point


def test_data_quality_and_definitions_in_the_language(book):
    wb, zh = book.wb, book.lang == "zh"
    quality = wb[SHEETS[book.lang][8]]
    items = column_values(quality, "项目" if zh else "Item")
    assert items[:3] == (["读取行数", "使用行数", "剔除行数"] if zh else ["Rows read", "Rows used", "Rows dropped"])
    definitions = wb[SHEETS[book.lang][9]]
    keys = column_values(definitions, "字段名" if zh else "Field")
    for key in (
        "value_at_risk",
        "value_if_active",
        "next_action",
        "win_back",
        "let_go",
        "usual_gap_days",
        "top5_share",
        "at_risk",
        "acquisition",
        "high",
        "offer_1_value",
    ):
        assert key in keys
    meanings = column_values(definitions, "含义" if zh else "Meaning")
    assert all(meaning for key, meaning in zip(keys, meanings) if key)
    # The next-action rules in force, in order, after the actions themselves; and how segments and stages differ.
    terms = column_values(definitions, "名称" if zh else "Term")
    first = terms.index("1. 挽回" if zh else "1. Win back")
    assert terms[first + 5] == ("6. 维持" if zh else "6. Maintain")
    rule = meanings[first]
    assert rule == ("等级 铂金或黄金；阶段 终止期" if zh else "tier Platinum or Gold; stage Termination")
    explained = meanings[keys.index("next_action")]
    assert ("与其他客户比较" in explained and "自身节奏" in explained) if zh else "own rhythm" in explained
    if zh:
        assert all(CJK.search(m) for m in meanings if m and m != "直接取自输入数据。")


def test_machine_formats_stay_canonical_english_with_lang_zh(files):
    out = files.folder / "customers_zh.csv"
    segment(files, out, "--lang", "zh")
    frame = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert {"customer_id", "tier", "lifecycle_stage", "churn_band", "value_at_risk"} <= set(frame.columns)
    assert set(frame["tier"]) <= {"platinum", "gold", "iron", "prospect"}
    assert set(frame["lifecycle_stage"].dropna()) <= {"acquisition", "growth", "maturity", "decline", "termination"}


def test_long_tables_split_across_numbered_sheets_never_cut(files, monkeypatch):
    monkeypatch.setattr(excel, "EXCEL_MAX_ROWS", 61)  # 60 customers per sheet
    path = files.folder / "split.xlsx"
    segment(files, path)
    wb = openpyxl.load_workbook(path)
    parts = [name for name in wb.sheetnames if re.fullmatch(r"Customers( \(\d+\))?", name)]
    assert parts == ["Customers", "Customers (2)", "Customers (3)"]
    ids = [c.value for name in parts for c in wb[name]["A"][1:]]
    assert len(ids) == len(set(ids)) == files.n_customers
    assert all(headers(wb[name])[0] == "Customer ID" and wb[name].freeze_panes == "B2" for name in parts)


def test_a_crash_mid_write_leaves_the_old_workbook_byte_identical(files, monkeypatch):
    path = files.folder / "kept.xlsx"
    segment(files, path)
    before = path.read_bytes()
    real = xlsx_rows.row_xml

    def crash_after_first_chunk(frame, styles, **kwargs):
        yield next(real(frame, styles, **kwargs))
        raise OSError("disk full")

    monkeypatch.setattr(xlsx_rows, "row_xml", crash_after_first_chunk)
    result = crmkit("segment", files.sales, "--out", path, "--lang", "zh")
    assert result.exit_code != 0
    assert path.read_bytes() == before
    assert not [p.name for p in files.folder.iterdir() if p.name.startswith(".kept.xlsx")]


@pytest.mark.parametrize("which", ["sales", "customers"])
def test_writing_over_an_input_is_refused(files, which):
    target = getattr(files, which)
    before = target.read_bytes()
    result = crmkit("segment", files.sales, "--customers", files.customers, "--out", target)
    assert result.exit_code == 2
    assert "refusing to overwrite input file" in result.output
    assert target.read_bytes() == before


def _row_of(ws, text: str) -> int:
    return next(row[0].row for row in ws.iter_rows() if row[0].value == text)


def _chart_text(title) -> str:
    return "".join(run.t for paragraph in title.tx.rich.p for run in (paragraph.r or []))
