"""Labels: every vocabulary value and column has an English and a Chinese label and a definition."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from crmkit import pipeline
from crmkit.datasets.sample import simulate_sales
from crmkit.errors import OptionError
from crmkit.output import labels
from crmkit.output.excel_summary import MODEL_FIELDS
from crmkit.output.labels import (
    column_definition,
    column_label,
    definition,
    label,
    localise_frame,
    reason_label,
    sheet_name,
    value_label,
)
from crmkit.schema import CHURN_BANDS, LANGUAGES, STAGES, TIERS
from crmkit.scoring.churn import at_risk
from crmkit.scoring.compare import compare_snapshots
from crmkit.scoring.rfm import CLASSIC_SEGMENTS, CN8_TABLE
from crmkit.scoring.rollup import rollup

CJK = re.compile(r"[\u4e00-\u9fff]")
VOCABULARY = [*TIERS, *STAGES, *CHURN_BANDS, *CLASSIC_SEGMENTS, *CN8_TABLE.values()]


@pytest.mark.parametrize("key", VOCABULARY)
def test_every_vocabulary_value_has_distinct_english_and_chinese_labels_and_a_definition(key):
    english, chinese = label(key, "en"), label(key, "zh")
    assert english and english != chinese
    assert CJK.search(chinese), chinese
    assert definition(key, "en") and CJK.search(definition(key, "zh"))


@pytest.mark.parametrize(
    ("key", "en", "zh"),
    [
        ("platinum", "Platinum", "铂金"),
        ("prospect", "Prospect", "潜在客户"),
        ("acquisition", "Acquisition", "潜在获取期"),
        ("termination", "Termination", "终止期"),
        ("high", "High", "高"),
        ("cant_lose_them", "Can't lose them", "不能失去"),
        ("important_winback", "Important win-back", "重要挽留客户"),
        ("general_value", "General value", "一般价值客户"),
    ],
)
def test_vocabulary_labels(key, en, zh):
    assert (label(key, "en"), label(key, "zh")) == (en, zh)


def test_labels_within_one_vocabulary_are_unique_per_language():
    for vocabulary in (labels.TIER_LABELS, labels.STAGE_LABELS, labels.CHURN_BAND_LABELS, labels.SEGMENT_LABELS):
        for index in (0, 1):
            shown = [pair[index] for pair in vocabulary.values()]
            assert len(set(shown)) == len(shown)


def test_every_known_column_has_both_labels_and_definitions():
    for col, (english, chinese) in labels.COLUMN_LABELS.items():
        assert column_label(col, "en") == english and column_label(col, "zh") == chinese
        assert CJK.search(chinese), col
        assert definition(col, "en") and CJK.search(definition(col, "zh")), col


def test_unknown_names_pass_through_and_have_no_definition():
    assert column_label("loyalty_card_no", "zh") == "loyalty_card_no"
    assert label("something_else", "en") == "something_else"
    assert value_label("tier", "diamond", "zh") == "diamond"
    assert definition("loyalty_card_no", "zh") == ""


def test_sheet_names_fit_excel_rules():
    for key in labels.SHEET_LABELS:
        for lang in LANGUAGES:
            name = sheet_name(key, lang)
            assert 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\")
    assert [
        sheet_name(k, "zh")
        for k in ("summary", "customers", "platinum", "gold", "iron", "at_risk", "data_quality", "definitions")
    ] == ["摘要", "客户", "铂金客户", "黄金客户", "铁客户", "流失风险", "数据质量", "说明"]


@pytest.mark.parametrize(
    "call",
    [
        lambda: label("gold", "fr"),
        lambda: column_label("tier", "de"),
        lambda: sheet_name("summary", "EN"),
        lambda: definition("tier", ""),
        lambda: localise_frame(pd.DataFrame(), "jp"),
    ],
)
def test_unknown_language_is_an_option_error_naming_the_valid_ones(call):
    with pytest.raises(OptionError, match="en, zh"):
        call()


def test_localise_frame_labels_headers_and_vocabulary_values_without_touching_the_input():
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(["A", "B", "C"], dtype="str"),
            "tier": pd.Series(["platinum", "iron", None], dtype="str"),
            "lifecycle_stage": pd.Series(["growth", "decline", "mystery"], dtype="str"),
            "churn_band": pd.Categorical(["low", "high", "low"]),
            "segment": ["champions", "important_value", np.nan],
            "total_revenue": [1.0, -2.0, np.nan],
            "my_column": ["platinum", "x", "y"],
        }
    )
    before = frame.copy()
    out = localise_frame(frame, "zh")
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == [
        "客户编号",
        "价值等级",
        "生命周期阶段",
        "流失风险等级",
        "RFM 客户细分",
        "累计销售额",
        "my_column",
    ]
    assert out["价值等级"].tolist()[:2] == ["铂金", "铁"] and pd.isna(out["价值等级"].iloc[2])
    assert out["生命周期阶段"].tolist() == ["成长期", "衰退期", "mystery"]
    assert out["流失风险等级"].astype(str).tolist() == ["低", "高", "低"]
    assert out["RFM 客户细分"].tolist()[:2] == ["冠军客户", "重要价值客户"]
    assert out["累计销售额"].tolist()[:2] == [1.0, -2.0]
    # Only vocabulary columns are relabelled: a user's column keeps its values.
    assert out["my_column"].tolist() == ["platinum", "x", "y"]


def test_localise_frame_in_english_uses_readable_labels():
    out = localise_frame(pd.DataFrame({"tier": ["gold"], "p_alive": [0.5]}), "en")
    assert list(out.columns) == ["Value tier", "Probability still active"]
    assert out.iloc[0, 0] == "Gold"


# --- every column a real run emits ---------------------------------------------------
@pytest.fixture(scope="module")
def real_outputs() -> dict:
    """What segment, churn, --group-by and compare produce for 150 simulated customers (plus prospects)."""
    sample = simulate_sales(150, seed=11)
    result = pipeline.score(sample.transactions, customers=sample.customers)
    old = pipeline.score(
        sample.transactions, options=pipeline.ScoreOptions(as_of=pd.Timestamp("2024-06-30"), model=None)
    )
    comparison = compare_snapshots(old.customers, result.customers)
    return {
        "segment": result.customers,
        "churn": at_risk(result.customers),
        "rollup": rollup(result.customers, "salesperson"),
        **pipeline.comparison_sheets(comparison),
        "summary": result.summary.to_json(),
    }


@pytest.mark.parametrize("name", ["segment", "churn", "rollup", "tier_migration", "stage_migration", "fell", "rose"])
def test_every_column_of_a_real_output_has_a_chinese_label(real_outputs, name):
    frame = real_outputs[name]
    for col in frame.columns:
        assert CJK.search(column_label(col, "zh")), col
        assert column_label(col, "en") != col or col == "T", col  # no raw snake_case headers in English either
    shown = localise_frame(frame, "zh")
    for col in [*labels.VALUE_COLUMNS, "reason"]:
        if col in frame.columns:
            values = shown[column_label(col, "zh")].dropna().astype("str")
            assert len(values) and values.str.contains(CJK).all(), (col, values[~values.str.contains(CJK)].unique())


@pytest.mark.parametrize("name", ["segment", "churn", "rollup", "fell"])
def test_every_column_of_a_real_output_has_a_meaning_in_both_languages(real_outputs, name):
    for col in real_outputs[name].columns:
        assert column_definition(col, "en") and CJK.search(column_definition(col, "zh")), col


def test_the_rollup_counts_are_not_read_as_vocabulary():
    assert column_label("at_risk", "zh") == "风险客户数" and label("at_risk", "zh") == "流失风险"
    assert column_definition("platinum", "en") == "Platinum customers in the group."
    assert definition("platinum", "en").startswith("The most valuable customers")


def test_every_summary_field_shown_has_a_chinese_label(real_outputs):
    summary = real_outputs["summary"]
    keys = [
        *summary["data"],
        *(k for k in summary["pareto"] if k != "curve"),
        *MODEL_FIELDS,
        *(k for k in summary["model"]["gamma_gamma"] if k not in ("p", "q", "v")),
    ]
    for key in keys:
        assert CJK.search(label(key, "zh")), key
    assert value_label("model", summary["model"]["model"], "en") == "MBG/NBD"
    assert label("day", "zh") == "天" and label(summary["data"]["time_unit"], "zh") == "天"


@pytest.mark.parametrize(
    ("reason", "en", "zh"),
    [
        ("tier gold → iron", "Tier Gold → Iron", "等级 黄金 → 铁"),
        (
            "tier platinum → absent; stage growth → decline",
            "Tier Platinum → Absent; Stage Growth → Decline",
            "等级 铂金 → 未出现；阶段 成长期 → 衰退期",
        ),
        ("stage absent → acquisition", "Stage Absent → Acquisition", "阶段 未出现 → 潜在获取期"),
        (
            "something the comparison never says",
            "something the comparison never says",
            "something the comparison never says",
        ),
    ],
)
def test_compare_reasons_are_labelled(reason, en, zh):
    assert (reason_label(reason, "en"), reason_label(reason, "zh")) == (en, zh)


def test_missing_values_of_compare_and_rollup_have_labels():
    assert value_label("tier_after", "absent", "zh") == "未出现"
    assert value_label("from", "absent", "en") == "Absent"
    assert label("(none)", "zh") == "(无)"
