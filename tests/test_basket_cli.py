"""``crmkit basket`` end to end on the shipped sample: terminal, JSON, every output file, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from crmkit.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SALES, SALES_ZH = SAMPLES / "sales.xlsx", SAMPLES / "sales_zh.xlsx"
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "CRMKIT_DEBUG": None}


def run(*args: object) -> Result:
    return CliRunner().invoke(app, ["basket", *map(str, args)], env=ENV)


def ok(*args: object) -> Result:
    result = run(*args)
    assert result.exit_code == 0, f"{result.stdout}\n{result.stderr}\n{result.exception!r}"
    return result


def user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, f"{result.stdout}\n{result.stderr}"
    assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def sample_json() -> dict:
    return json.loads(ok(SALES, "-q", "--format", "json", "--top", "5").stdout)


def test_json_has_the_summary_rules_offers_and_upsell(sample_json):
    assert set(sample_json) == {"basket", "rules", "cross_sell", "upsell"}
    summary = sample_json["basket"]
    assert (summary["basket_by"], summary["item_level"], summary["items"]) == ("order", "product", 22)
    assert summary["min_count"] == -(-summary["baskets"] // 100)  # 1% of the orders, rounded up
    assert summary["rules"] >= len(sample_json["rules"]) == 5
    first = sample_json["rules"][0]
    assert set(first) == {
        "antecedent",
        "consequent",
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
        "baskets",
    }
    assert first["support"] == pytest.approx(first["baskets"] / summary["baskets"])
    assert first["lift"] == pytest.approx(first["confidence"] / first["consequent_support"])
    offer = sample_json["cross_sell"][0]
    assert offer["offer_1_rule"].endswith("→ " + offer["offer_1"])
    assert [u["upsell_potential"] for u in sample_json["upsell"]] == sorted(
        (u["upsell_potential"] for u in sample_json["upsell"]), reverse=True
    )


def test_terminal_shows_the_rules_offers_and_upsell_in_80_columns():
    out = ok(SALES, "-q", "--top", "3").stdout
    for heading in ("Market baskets", "Strongest rules, by lift (3 / ", "Next-best offers", "Up-sell"):
        assert heading in out
    assert "Gift bag" in out and "Gift box" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_chinese_sample_in_chinese():
    out = ok(SALES_ZH, "-q", "--lang", "zh", "--top", "3").stdout
    assert "购物篮分析" in out and "礼品袋" in out and "提升度" in out


def test_out_files_rules_and_customers(tmp_path: Path):
    rules_csv, rules_xlsx, calls = tmp_path / "rules.csv", tmp_path / "rules.xlsx", tmp_path / "calls.parquet"
    ok(SALES, "-q", "--out", rules_csv, "--customers-out", calls, "--min-tier", "gold")
    rules = pd.read_csv(rules_csv, encoding="utf-8-sig")
    assert list(rules.columns[:3]) == ["antecedent", "consequent", "antecedent_support"]
    assert rules["lift"].is_monotonic_decreasing and (rules["lift"] >= 1).all()
    cross_sell = pd.read_parquet(calls)
    assert set(cross_sell["tier"]) == {"platinum", "gold"}
    assert {"products_bought", "categories_bought", "catalogue_share", "offer_3_value"} <= set(cross_sell.columns)
    ok(SALES, "-q", "--out", rules_xlsx, "--lang", "zh")
    book = openpyxl.load_workbook(rules_xlsx, read_only=True)
    assert book.sheetnames == ["关联规则", "交叉销售", "向上销售", "频繁项集"]
    header = next(book["关联规则"].iter_rows(max_row=1, values_only=True))
    assert header[:2] == ("已购 (前项)", "同时购买 (后项)")


def test_category_level_by_customer():
    summary = json.loads(ok(SALES, "-q", "--format", "json", "--level", "category", "--by", "customer").stdout)
    assert (summary["basket"]["items"], summary["basket"]["basket_by"]) == (7, "customer")
    assert summary["basket"]["baskets"] == 1995  # 2,000 customers, 5 of whom returned everything they bought


def test_no_product_column_names_the_headers_and_the_col_option(tmp_path: Path):
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,order_date,amount\nA,2024-01-01,10\nB,2024-01-02,20\n", encoding="utf-8")
    user_error(run(path, "-q"), "no product column in", "产品", '--col product="<header>"')
    user_error(run(path, "-q", "--level", "category"), "no category column", "品类")


def test_a_support_that_would_explode_is_refused_with_the_figures():
    user_error(
        run(SALES, "-q", "--by", "customer", "--min-support", "0.0005", "--max-len", "6"),
        "more than 2,000,000 rules",
        "--min-support",
        "--max-len",
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--min-support", "0"), "--min-support"),
        (("--min-confidence", "1.5"), "--min-confidence"),
        (("--max-len", "1"), "--max-len"),
        (("--min-tier", "diamond"), "diamond"),
        (("--offers", "9"), "offers"),
    ],
)
def test_bad_options_are_user_errors(args, fragment):
    user_error(run(SALES, "-q", *args), fragment)


def test_segment_workbook_has_a_cross_sell_sheet(tmp_path: Path):
    out = tmp_path / "segment.xlsx"
    result = CliRunner().invoke(app, ["segment", str(SALES), "-q", "--no-model", "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out, read_only=True)
    assert "Cross-sell" in book.sheetnames
    header = tuple(h.replace("\n", " ") for h in next(book["Cross-sell"].iter_rows(max_row=1, values_only=True)))
    assert header[:3] == ("Customer ID", "Value tier", "Value rank")
    assert "Offer 1" in header and "Rule behind offer 1" in header
