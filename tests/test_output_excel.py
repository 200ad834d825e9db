"""The analyst workbook, read back with openpyxl: sheets, labels, formats, charts, text safety, splitting."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from crmkit.errors import OptionError, OutputError
from crmkit.models import GammaGammaModel, TransactionModel
from crmkit.output import excel, xlsx_rows
from crmkit.output.excel import tier_list, write_sheets, write_workbook
from crmkit.pipeline.results import (
    BandRow,
    CurvePoint,
    DataSummary,
    GroupCount,
    ModelSummary,
    ParetoFigures,
    ScoreResult,
    Summary,
    TierRow,
)
from crmkit.scoring.churn import at_risk
from crmkit.scoring.value import ValueFit

INJECTED = ['=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)"]


def make_customers(n: int = 60, seed: int = 3) -> pd.DataFrame:
    """Customers with attributes, RFM, tiers, CLV, lifecycle and churn; four ids look like formulas."""
    rng = np.random.default_rng(seed)
    revenue = np.round(rng.lognormal(6, 1.2, n), 2)
    revenue[5] = -120.5
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-revenue, kind="stable")] = np.arange(1, n + 1)
    ids = [f"C{i:04d}" for i in range(n)]
    ids[:4] = INJECTED
    risk = rng.random(n)
    clv = np.round(revenue * 1.3, 2)
    last = pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "name": pd.Series([f"客户{i}" for i in range(n)], dtype="str"),
            "region": pd.Series(rng.choice(["华东", "华北"], n), dtype="str"),
            "first_purchase": last - pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "last_purchase": last,
            "n_orders": rng.integers(1, 30, n),
            "frequency": rng.integers(0, 29, n),
            "total_revenue": revenue,
            "r_score": rng.integers(1, 6, n),
            "segment": pd.Series(rng.choice(["champions", "lost", "at_risk"], n), dtype="str"),
            "tier": pd.Series(np.where(rank <= 6, "platinum", np.where(rank <= 18, "gold", "iron")), dtype="str"),
            "value_rank": rank,
            "p_alive": rng.random(n),
            "clv": clv,
            "lifecycle_stage": pd.Series(rng.choice(["growth", "maturity", "decline"], n), dtype="str"),
            "churn_risk": risk,
            "churn_band": pd.Series(np.where(risk > 0.7, "high", np.where(risk > 0.4, "medium", "low")), dtype="str"),
            "value_at_risk": np.round(clv * risk, 2),
            "usual_gap_days": np.round(rng.random(n) * 60, 2),
            "loyalty_card": pd.Series([f"LC{i}" for i in range(n)], dtype="str"),
        }
    )


def make_summary(customers: pd.DataFrame, groups: pd.DataFrame | None = None) -> Summary:
    curve = tuple(CurvePoint(s, min(1.0, 1.6 * s - 0.6 * s * s)) for s in np.linspace(0, 1, 101))
    tiers = tuple(
        TierRow(t, int((customers["tier"] == t).sum()), 0.1, 1000.0 * i, 0.3, 50.0)
        for i, t in enumerate(("platinum", "gold", "iron"), 1)
    )
    fit = ValueFit(
        TransactionModel("bgnbd", {"r": 0.24, "alpha": 4.4}, -123.4, 60, warnings=("few repeat buyers",)),
        GammaGammaModel(6.2, 3.7, 15.4, 60),
        "week",
        "12m",
        52.2,
        0.1,
        None,
    )
    return Summary(
        data=DataSummary(
            1000,
            990,
            10,
            {"unparseable date": 10},
            len(customers),
            0,
            "2022-01-03",
            "2024-06-30",
            "2024-06-30",
            0,
            "week",
        ),
        tiers=tiers,
        pareto=ParetoFigures(0.72, 17, 0.283, 0.64, curve),
        segments=(GroupCount("champions", 20, 5000.0),),
        lifecycle=tuple(GroupCount(s, 20, 100.0) for s in ("growth", "maturity", "decline")),
        churn=tuple(BandRow(b, 20, 10.0) for b in ("low", "medium", "high")),
        model=ModelSummary(fit, "2024-06-30"),
        warnings=("=cmd|' /C calc'!A0 looked like a formula in the input",),
        groups=groups,
    )


def make_result(
    customers: pd.DataFrame, summary: Summary | None = None, data_quality: pd.DataFrame | None = None
) -> ScoreResult:
    """A scoring result around ``customers``: the at-risk list picked as the pipeline picks it."""
    if summary is None:
        summary = Summary(
            DataSummary(0, 0, 0, {}, len(customers), 0, None, None, None, 0, "day"),
            (),
            ParetoFigures(None, None, None, None),
            (),
            (),
            (),
            None,
        )
    needed = {"tier", "churn_band", "lifecycle_stage", "value_at_risk"}
    risky = at_risk(customers, columns=None) if needed <= set(customers.columns) else pd.DataFrame()
    quality = data_quality if data_quality is not None else pd.DataFrame(columns=["item", "detail", "value"])
    return ScoreResult(customers, summary, pd.DataFrame(), risky, quality)


DATA_QUALITY = pd.DataFrame(
    {
        "item": ["rows_read", "dropped", "file"],
        "detail": [None, "unparseable date", "sales.csv (csv, utf-8)"],
        "value": ["1000", "10", "1000"],
    }
)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return make_customers()


@pytest.fixture(scope="module", params=["en", "zh"])
def book(request, tmp_path_factory, customers):
    path = tmp_path_factory.mktemp(request.param) / "analysis.xlsx"
    write_workbook(path, make_result(customers, make_summary(customers), DATA_QUALITY), lang=request.param)
    return request.param, openpyxl.load_workbook(path)


SHEETS = {
    "en": ["Summary", "Customers", "Platinum", "Gold", "Iron", "At risk", "Data quality", "Definitions"],
    "zh": ["摘要", "客户", "铂金客户", "黄金客户", "铁客户", "流失风险", "数据质量", "说明"],
}
#: The Customers sheet starts with the columns it prints (then the rest in the table's order).
HEADERS = {
    "en": ["Customer ID", "Name", "Value tier", "Value rank", "Total revenue", "Customer lifetime value (CLV)"],
    "zh": ["客户编号", "客户名称", "价值等级", "价值排名", "累计销售额", "客户终身价值 (CLV)"],
}


def header_texts(ws) -> list[str]:
    """The header row as text: a header shown on two lines reads as one (the line break stands for a space)."""
    return [c.value.replace("\n", " ") if isinstance(c.value, str) else c.value for c in ws[1]]


def _column(ws, header: str) -> int:
    return header_texts(ws).index(header) + 1


def test_sheet_names_and_headers_in_each_language(book, customers):
    lang, wb = book
    assert wb.sheetnames == SHEETS[lang]
    ws = wb[SHEETS[lang][1]]
    headers = header_texts(ws)
    assert headers[:6] == HEADERS[lang]
    assert headers[-1] == "loyalty_card"  # unknown columns keep their own name
    assert ws.max_row == len(customers) + 1 and ws.max_column == customers.shape[1]


def test_customer_sheet_formats(book, customers):
    lang, wb = book
    ws = wb[SHEETS[lang][1]]
    formats = {text: ws.cell(row=2, column=i).number_format for i, text in enumerate(header_texts(ws), start=1)}
    label = dict(
        zip(
            [
                "total_revenue",
                "clv",
                "value_at_risk",
                "p_alive",
                "churn_risk",
                "first_purchase",
                "n_orders",
                "frequency",
            ],
            {
                "en": [
                    "Total revenue",
                    "Customer lifetime value (CLV)",
                    "Value at risk",
                    "Probability still active",
                    "Churn risk",
                    "First purchase",
                    "Orders",
                    "Repeat purchases",
                ],
                "zh": [
                    "累计销售额",
                    "客户终身价值 (CLV)",
                    "流失风险金额",
                    "仍活跃概率",
                    "流失概率",
                    "首次购买日期",
                    "订单数",
                    "重复购买次数",
                ],
            }[lang],
        )
    )
    assert formats[label["total_revenue"]] == "#,##0.00"
    assert formats[label["clv"]] == formats[label["value_at_risk"]] == "#,##0.00"
    assert formats[label["p_alive"]] == formats[label["churn_risk"]] == "0.0%"
    assert formats[label["first_purchase"]] == "yyyy-mm-dd"
    assert formats[label["n_orders"]] == "#,##0"
    # Decimal columns show decimals only when they have any: day counts are whole, usual gaps are not.
    assert formats[label["frequency"]] == "#,##0"
    assert formats[{"en": "Usual gap (days)", "zh": "通常购买间隔 (天)"}[lang]] == "0.00"
    date_cell = ws.cell(row=2, column=_column(ws, label["first_purchase"]))
    assert date_cell.is_date and date_cell.value == customers["first_purchase"].iloc[0].to_pydatetime()
    assert ws.column_dimensions["A"].width >= 10


def test_customer_sheet_frozen_filtered_and_colour_coded(book, customers):
    lang, wb = book
    ws = wb[SHEETS[lang][1]]
    assert ws.freeze_panes == "B2"
    last = get_column_letter(customers.shape[1])
    assert ws.auto_filter.ref == f"A1:{last}{len(customers) + 1}"
    tier_col = get_column_letter(_column(ws, {"en": "Value tier", "zh": "价值等级"}[lang]))
    band_col = get_column_letter(_column(ws, {"en": "Churn risk band", "zh": "流失风险等级"}[lang]))
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in ws.conditional_formatting}
    tier_labels = {
        "en": ['"Platinum"', '"Gold"', '"Iron"', '"Prospect"'],
        "zh": ['"铂金"', '"黄金"', '"铁"', '"潜在客户"'],
    }
    assert rules[f"{tier_col}2:{tier_col}{len(customers) + 1}"] == tier_labels[lang]
    assert len(rules[f"{band_col}2:{band_col}{len(customers) + 1}"]) == 3
    shown = {
        "en": {"platinum": "Platinum", "gold": "Gold", "iron": "Iron"},
        "zh": {"platinum": "铂金", "gold": "黄金", "iron": "铁"},
    }
    assert [c.value for c in ws[tier_col][1:]] == customers["tier"].map(shown[lang]).tolist()


def test_formula_like_text_stays_text_and_negative_numbers_stay_numbers(book, customers):
    lang, wb = book
    for name in SHEETS[lang][1:6]:
        for row in wb[name].iter_rows(min_row=2):
            assert all(cell.data_type != "f" for cell in row), name
    ws = wb[SHEETS[lang][1]]
    ids = [ws.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in ids] == INJECTED
    assert all(c.data_type == "s" for c in ids)
    revenue = ws.cell(row=7, column=_column(ws, {"en": "Total revenue", "zh": "累计销售额"}[lang]))
    assert revenue.value == -120.5 and revenue.data_type == "n"
    warnings = [c.value for row in wb[SHEETS[lang][0]].iter_rows() for c in row if isinstance(c.value, str)]
    assert "=cmd|' /C calc'!A0 looked like a formula in the input" in warnings


def test_tier_sheets_list_one_tier_by_value_rank(book, customers):
    lang, wb = book
    for tier, name in zip(("platinum", "gold", "iron"), SHEETS[lang][2:5]):
        ws = wb[name]
        expected = customers[customers["tier"] == tier].sort_values("value_rank")
        assert [c.value for c in ws["A"][1:]] == expected["customer_id"].tolist()
        headers = header_texts(ws)
        assert headers[:3] == {"en": ["Customer ID", "Name", "Region"], "zh": ["客户编号", "客户名称", "区域"]}[lang]
        assert "loyalty_card" not in headers and ws.freeze_panes == "B2"


def test_at_risk_sheet_lists_the_customers_worth_saving_most_value_first(book, customers):
    lang, wb = book
    ws = wb[SHEETS[lang][5]]
    # The same customers `crmkit churn` lists: medium/high band or declining, with value at risk.
    expected = at_risk(customers)
    assert 0 < len(expected) < len(customers)
    assert [c.value for c in ws["A"][1:]] == expected["customer_id"].tolist()
    values = [
        c.value for c in ws[get_column_letter(_column(ws, {"en": "Value at risk", "zh": "流失风险金额"}[lang]))][1:]
    ]
    assert values == sorted(values, reverse=True) and min(values) > 0


def test_summary_sheet_figures_and_charts(book):
    lang, wb = book
    ws = wb[SHEETS[lang][0]]
    assert len(ws._charts) == 3
    cells = {row[0].value: row[1] for row in ws.iter_rows(max_col=2) if isinstance(row[0].value, str)}
    customers_label = {"en": "Customers", "zh": "客户数"}[lang]
    assert cells[customers_label].value == 60 and cells[customers_label].number_format == "#,##0"
    top20 = cells[{"en": "Value share of the top 20% of customers", "zh": "前 20% 客户的价值占比"}[lang]]
    assert top20.value == 0.72 and top20.number_format == "0.0%"
    as_of = cells[{"en": "As-of date", "zh": "分析基准日"}[lang]]
    assert as_of.is_date and as_of.number_format == "yyyy-mm-dd"
    assert {"en": "Platinum", "zh": "铂金"}[lang] in cells
    assert "few repeat buyers" in [c.value for row in ws.iter_rows() for c in row]


def test_data_quality_and_definitions(book, customers):
    lang, wb = book
    dq = wb[SHEETS[lang][6]]
    assert [c.value for c in dq[1]] == {"en": ["Item", "Detail", "Value"], "zh": ["项目", "明细", "数值"]}[lang]
    items = {"en": ["Rows read", "Dropped", "File"], "zh": ["读取行数", "剔除", "文件"]}[lang]
    assert [c.value for c in dq["A"][1:]] == items
    assert [c.value for c in dq["B"][1:]] == [None, "unparseable date", "sales.csv (csv, utf-8)"]
    assert [c.value for c in dq["C"][1:]] == [1000, 10, 1000]
    definitions = wb[SHEETS[lang][7]]
    keys = [c.value for c in definitions["B"][1:]]
    for col in customers.columns:
        assert col in keys
    for vocab in ("platinum", "prospect", "growth", "termination", "high", "champions"):
        assert vocab in keys
    meaning = {row[1].value: row[2].value for row in definitions.iter_rows(min_row=2) if row[1].value}
    assert (
        meaning["p_alive"]
        == {"en": "Model probability that the customer is still active.", "zh": "模型估计的客户仍然活跃的概率。"}[lang]
    )


def test_long_tables_continue_on_numbered_sheets(tmp_path, customers, monkeypatch):
    monkeypatch.setattr(excel, "EXCEL_MAX_ROWS", 26)  # 25 customers per sheet
    path = tmp_path / "split.xlsx"
    write_workbook(path, make_result(customers))
    wb = openpyxl.load_workbook(path)
    assert 25 < len(at_risk(customers)) <= 50 and 25 < (customers["tier"] == "iron").sum() <= 50
    assert wb.sheetnames == [
        "Summary",
        "Customers",
        "Customers (2)",
        "Customers (3)",
        "Platinum",
        "Gold",
        "Iron",
        "Iron (2)",
        "At risk",
        "At risk (2)",
        "Definitions",
    ]
    parts = [wb[name] for name in ("Customers", "Customers (2)", "Customers (3)")]
    assert [ws.max_row - 1 for ws in parts] == [25, 25, 10]
    assert all(next(c.value for c in ws[1]) == "Customer ID" for ws in parts)
    ids = [c.value for ws in parts for c in ws["A"][1:]]
    assert ids == customers["customer_id"].tolist()
    assert parts[1].auto_filter.ref == f"A1:{get_column_letter(customers.shape[1])}26"
    iron = (customers["tier"] == "iron").sum()
    assert wb["Iron"].max_row - 1 + wb["Iron (2)"].max_row - 1 == iron


def test_minimal_summary_and_frame_still_make_a_workbook(tmp_path):
    path = tmp_path / "small.xlsx"
    write_workbook(path, make_result(pd.DataFrame({"customer_id": pd.Series([], dtype="str")})), lang="zh")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["摘要", "客户", "说明"]
    assert [c.value for c in wb["客户"][1]] == ["客户编号"]
    assert len(wb["摘要"]._charts) == 0


def test_crash_mid_write_leaves_the_old_workbook_and_no_temporary(tmp_path, customers, monkeypatch):
    path = tmp_path / "analysis.xlsx"
    path.write_bytes(b"yesterday's workbook")
    real_rows = xlsx_rows.row_xml

    def crash_after_first_chunk(frame, styles, **kwargs):
        yield next(real_rows(frame, styles, **kwargs))
        raise MemoryError("out of memory")

    monkeypatch.setattr(xlsx_rows, "row_xml", crash_after_first_chunk)
    with pytest.raises(MemoryError):
        write_workbook(path, make_result(customers))
    assert path.read_bytes() == b"yesterday's workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.xlsx"]


def test_refuses_to_overwrite_an_input(tmp_path, customers):
    source = tmp_path / "sales.xlsx"
    source.write_bytes(b"input workbook")
    with pytest.raises(OutputError, match="refusing to overwrite input file"):
        write_workbook(tmp_path / "." / "sales.xlsx", make_result(customers), inputs=[source])
    assert source.read_bytes() == b"input workbook"


def test_unknown_language(tmp_path, customers):
    with pytest.raises(OptionError, match="en, zh"):
        write_workbook(tmp_path / "x.xlsx", make_result(customers), lang="fr")


def test_lists_without_optional_columns(tmp_path, customers):
    bare = customers[["customer_id", "tier", "churn_band"]]
    assert (
        tier_list(bare, "gold")["customer_id"].tolist()
        == customers.loc[customers["tier"] == "gold", "customer_id"].tolist()
    )
    # Without lifecycle stages and values at risk there is nobody to list as worth saving.
    path = tmp_path / "bare.xlsx"
    write_workbook(path, make_result(bare))
    assert openpyxl.load_workbook(path).sheetnames == [
        "Summary",
        "Customers",
        "Platinum",
        "Gold",
        "Iron",
        "Definitions",
    ]


def test_write_sheets_labels_migration_tables(tmp_path):
    matrix = pd.DataFrame({"from": ["platinum", "gold"], "platinum": [5, 1], "gold": [2, 9]})
    path = tmp_path / "compare.xlsx"
    write_sheets(path, {"tier_migration": matrix, "rose": pd.DataFrame({"customer_id": ["=1+1"]})}, lang="zh")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["等级迁移", "等级上升"]
    ws = wb["等级迁移"]
    assert [c.value for c in ws[1]] == ["原", "铂金", "黄金"]
    assert [c.value for c in ws["A"][1:]] == ["铂金", "黄金"]
    assert wb["等级上升"]["A2"].value == "=1+1" and wb["等级上升"]["A2"].data_type == "s"


def test_duplicate_and_non_text_column_names(tmp_path):
    frame = pd.DataFrame([[1, "a", 2.5]], columns=["n_orders", "n_orders", 7])
    path = tmp_path / "odd.xlsx"
    write_sheets(path, {"data": frame})
    ws = openpyxl.load_workbook(path)["Data"]
    assert [c.value for c in ws[1]] == ["Orders", "Orders", "7"]
    assert [c.value for c in ws[2]] == [1, "a", 2.5]


def test_text_is_indented_clear_of_figures_and_figure_headers_clear_of_the_filter_button(book):
    lang, wb = book
    ws = wb[SHEETS[lang][1]]
    name_col = _column(ws, HEADERS[lang][1])
    revenue_col = _column(ws, {"en": "Total revenue", "zh": "累计销售额"}[lang])
    assert ws.cell(row=2, column=name_col).alignment.indent == 1
    assert ws.cell(row=1, column=name_col).alignment.horizontal == "left"
    header = ws.cell(row=1, column=revenue_col).alignment
    assert header.horizontal == "right" and header.indent == 2
    assert ws.row_dimensions[1].height >= 20


def test_every_sheet_prints_a4_landscape_with_name_and_page_numbers(book):
    lang, wb = book
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, ws.title
        assert ws.oddFooter.left.text == "&A"
        assert ws.oddFooter.right.text == {"en": "Page &P of &N", "zh": "第 &P 页，共 &N 页"}[lang]


def test_data_quality_items_are_labelled_and_reasons_kept():
    frame = pd.DataFrame(
        {
            "item": ["rows_read", "dropped", "file", "note"],
            "detail": [None, "empty customer_id", "销售.xlsx (xlsx)", None],
            "value": ["10", "2", "10", "dates read as day first"],
        }
    )
    out = excel.localise_quality(frame, "zh")
    assert out["item"].tolist() == ["读取行数", "剔除", "文件", "备注"]
    assert [None if pd.isna(d) else d for d in out["detail"]] == [None, "客户编号为空", "销售.xlsx (xlsx)", None]
    assert out["value"].equals(frame["value"])
    assert frame["item"].iloc[0] == "rows_read"
    assert excel.localise_quality(frame, "en")["detail"].equals(frame["detail"])


def test_summary_shows_groups_below_the_charts_and_defines_their_columns(tmp_path, customers):
    groups = pd.DataFrame(
        [
            {
                "salesperson": "Wu",
                "customers": 40,
                "revenue": 9000.0,
                "revenue_share": 0.6,
                "platinum": 4,
                "gold": 8,
                "at_risk": 11,
                "value_at_risk": 120.5,
                "top5_share": 0.4,
            },
            {
                "salesperson": "(none)",
                "customers": 20,
                "revenue": 6000.0,
                "revenue_share": 0.4,
                "platinum": 2,
                "gold": 4,
                "at_risk": 3,
                "value_at_risk": 10.0,
                "top5_share": 0.7,
            },
        ]
    )
    summary = make_summary(customers, groups)
    path = tmp_path / "groups.xlsx"
    write_workbook(path, make_result(customers, summary), lang="zh")
    wb = openpyxl.load_workbook(path)
    ws = wb["摘要"]
    header = next(row for row in ws.iter_rows() if row[0].value == "销售员")
    assert [c.value for c in header[:9]] == [
        "销售员",
        "客户数",
        "收入",
        "收入占比",
        "铂金",
        "黄金",
        "风险客户数",
        "流失风险金额",
        "前 5\n名客户收入占比",  # two lines, broken at a space: never mid-word
    ]
    rows = list(ws.iter_rows(min_row=header[0].row + 1, max_row=header[0].row + 2))
    assert [r[0].value for r in rows] == ["Wu", "(无)"]
    assert rows[0][3].number_format == "0.0%" and rows[0][6].number_format == "#,##0"
    assert max(chart.anchor._from.row for chart in ws._charts) + 17 < header[0].row
    # The details (model fit first) start a printed page of their own.
    (page_break,) = ws.row_breaks.brk
    assert ws.cell(row=page_break.id + 1, column=1).value == "模型拟合"
    meanings = [(row[1].value, row[2].value) for row in wb["说明"].iter_rows(min_row=2)]
    # "at_risk" is both a rollup count and an RFM segment: each has its own meaning in its own section.
    assert ("at_risk", "组内处于衰退期或终止期的客户数。") in meanings
    assert ("at_risk", "曾经购买频繁且消费可观，但已很久未购买。") in meanings
    assert dict(meanings)["top5_share"].startswith("组内前 5 名")
