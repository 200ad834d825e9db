"""Retention per period and cohorts: a small file worked out by hand, the shipped sample against an independent
pandas computation (customer sets per period), invariants under hypothesis, and the what-if's arithmetic."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import crmkit
from crmkit.cli import app
from crmkit.datasets.sample import localise_sample, simulate_sales
from crmkit.errors import OptionError
from crmkit.output.tables import write_table
from crmkit.pipeline import ScoreOptions, retention_report
from crmkit.scoring.retention import PERIOD_COLUMNS, period_codes, period_label, retention, what_if

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

#: Four customers over three months (the comments give each row's part in the hand count below).
HAND = pd.DataFrame(
    {
        "customer_id": ["A", "A", "A", "B", "B", "C", "C", "D", "A"],
        "order_date": pd.to_datetime(
            [
                "2024-01-05",  # A's first purchase
                "2024-01-20",  # A again in January: two purchase days
                "2024-02-03",  # A returns in February
                "2024-01-10",  # B's first purchase
                "2024-03-01",  # B is won back in March after a silent February
                "2024-02-14",  # C's first purchase ...
                "2024-02-14",  # ... and a return the same day: C's February nets 20
                "2024-03-30",  # D's first purchase
                "2024-03-15",  # A returns goods in March: not a purchase, A is lost in March
            ]
        ),
        "amount": [100.0, 50.0, 80.0, 200.0, 120.0, 30.0, -10.0, 60.0, -20.0],
    }
)
#: The hand count: per month, who is active, and the money.
HAND_PERIODS = {
    "period": ["2024-01", "2024-02", "2024-03"],
    "complete": [True, True, True],
    "active": [2, 2, 2],  # {A, B}, {A, C}, {B, D}
    "new": [2, 1, 1],  # A, B; C; D
    "returning": [0, 1, 0],  # -; A; -
    "reactivated": [0, 0, 1],  # -; -; B
    "lost": [0, 1, 2],  # -; B; A and C
    "churn_rate": [None, 0.5, 1.0],
    "retention_rate": [None, 0.5, 0.0],
    "repeat_purchase_rate": [0.5, 0.0, 0.0],  # only A in January bought on two days
    "revenue": [350.0, 100.0, 160.0],  # March: 120 + 60 − 20 (A's return)
    "revenue_new": [350.0, 20.0, 60.0],
    "revenue_returning": [0.0, 80.0, 0.0],
    "revenue_reactivated": [0.0, 0.0, 120.0],
    # February: A and B (January's actives) spend 80 after 350; March: A and C spend −20 after 100.
    "net_revenue_retention": [None, 80 / 350, -20 / 100],
}


def _records(frame: pd.DataFrame) -> dict[str, list]:
    return {
        column: [None if isinstance(v, float) and math.isnan(v) else v for v in frame[column].tolist()]
        for column in frame.columns
    }


def test_hand_counted_file(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    report = retention_report(crmkit.read_transactions(path), options=ScoreOptions(as_of=pd.Timestamp("2024-03-31")))
    got = _records(report.table())
    assert got.keys() == HAND_PERIODS.keys()
    for column, expected in HAND_PERIODS.items():
        assert got[column] == pytest.approx(expected) if column not in ("period", "complete") else expected, column
    cohorts = {c.cohort: (c.customers, c.revenue, c.retained, c.revenue_retained) for c in report.cohorts}
    assert cohorts == {
        # January: A and B; A active in February, B in March. Revenue: 350, then A's 80, then B's 120 − A's 20.
        "2024-01": (2, 350.0, (1.0, 0.5, 0.5), (1.0, 80 / 350, 100 / 350)),
        "2024-02": (1, 20.0, (1.0, 0.0), (1.0, 0.0)),
        "2024-03": (1, 60.0, (1.0,), (1.0,)),
    }
    assert report.curve is not None
    assert report.curve.retained == pytest.approx((1.0, 1 / 3, 0.5))  # (1 + 0) / 3, then 1 / 2 observed that long


def test_a_period_still_running_is_marked_and_left_out_of_the_latest(tmp_path: Path) -> None:
    tables = retention(HAND, as_of=pd.Timestamp("2024-03-30"))
    assert tables.periods["complete"].tolist() == [True, True, False]
    assert tables.latest_complete()["period"] == "2024-02"
    summary = crmkit.score(HAND, options=ScoreOptions(model=None, as_of=pd.Timestamp("2024-03-30"))).summary
    assert summary.retention is not None
    assert (summary.retention.latest.period, summary.retention.partial_period) == ("2024-02", "2024-03")


def test_latest_only_gives_the_same_figures_as_the_full_table() -> None:
    tx = crmkit.read_transactions(SAMPLES / "sales.xlsx").frame
    as_of = pd.Timestamp("2024-12-31")
    full = retention(tx, as_of=as_of).periods
    latest = retention(tx, as_of=as_of, latest_only=True).periods
    pd.testing.assert_frame_equal(latest, full.tail(len(latest)).reset_index(drop=True))


def test_periods_label_and_code_months_quarters_and_years() -> None:
    days = np.array([pd.Timestamp(d).value // 86_400_000_000_000 for d in ("2023-12-31", "2024-01-01", "2024-05-15")])
    assert [period_label(c, "month") for c in period_codes(days, "month")] == ["2023-12", "2024-01", "2024-05"]
    assert [period_label(c, "quarter") for c in period_codes(days, "quarter")] == ["2023-Q4", "2024-Q1", "2024-Q2"]
    assert [period_label(c, "year") for c in period_codes(days, "year")] == ["2023", "2024", "2024"]
    with pytest.raises(OptionError, match="unknown period 'week'"):
        period_codes(days, "week")


# --- an independent computation: Python sets of customers per period -------------------------------------------
def reference(tx: pd.DataFrame, as_of: str, freq: str) -> pd.DataFrame:
    """The period table from sets of customer ids per period, with pandas' own Period grouping."""
    tx = tx.loc[tx["order_date"] <= pd.Timestamp(as_of)].copy()
    tx["p"] = tx["order_date"].dt.to_period(freq)
    tx["customer_id"] = tx["customer_id"].astype("str")
    buys = tx.loc[tx["amount"] >= 0]
    active = buys.groupby("p")["customer_id"].agg(set).to_dict()
    days = buys.assign(day=buys["order_date"].dt.normalize()).groupby(["p", "customer_id"])["day"].nunique()
    money = tx.groupby(["p", "customer_id"])["amount"].sum()
    rows, seen, previous = [], set(), set()
    for p in pd.period_range(tx["p"].min(), pd.Timestamp(as_of).to_period(freq), freq=freq):
        now = active.get(p, set())
        spend = money[p].to_dict() if p in money.index.get_level_values(0) else {}
        before = money[p - 1].to_dict() if (p - 1) in money.index.get_level_values(0) else {}
        rows.append(
            {
                "active": len(now),
                "new": len(now - seen),
                "returning": len(now & previous),
                "reactivated": len((now - previous) & seen),
                "lost": len(previous - now),
                "churn_rate": len(previous - now) / len(previous) if previous else np.nan,
                "repeat_purchase_rate": (days[p] >= 2).sum() / len(now) if now else np.nan,
                "revenue": sum(spend.values()),
                "revenue_new": sum(spend.get(c, 0.0) for c in now - seen),
                "revenue_returning": sum(spend.get(c, 0.0) for c in now & previous),
                "revenue_reactivated": sum(spend.get(c, 0.0) for c in (now - previous) & seen),
                "net_revenue_retention": (
                    sum(spend.get(c, 0.0) for c in previous) / sum(before.get(c, 0.0) for c in previous)
                    if previous and sum(before.get(c, 0.0) for c in previous) > 0
                    else np.nan
                ),
            }
        )
        seen |= now
        previous = now
    return pd.DataFrame(rows)


def assert_matches_reference(tx: pd.DataFrame, as_of: str, period: str) -> None:
    got = retention(tx, as_of=pd.Timestamp(as_of), period=period).periods
    expected = reference(tx, as_of, {"month": "M", "quarter": "Q", "year": "Y"}[period])
    assert len(got) == len(expected)
    for column in expected.columns:
        np.testing.assert_allclose(
            got[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float), rtol=1e-9, atol=1e-6
        )


@pytest.mark.parametrize(
    ("period", "as_of"), [("month", "2024-12-31"), ("quarter", "2024-11-15"), ("year", "2024-12-31")]
)
def test_sample_matches_an_independent_pandas_computation(period: str, as_of: str) -> None:
    tx = crmkit.read_transactions(SAMPLES / "sales.xlsx").frame
    assert_matches_reference(tx, as_of, period)


def test_sample_cohorts_add_up_to_the_period_table() -> None:
    """Each period's active customers are spread over the cohorts; each cohort's size is its first period's new."""
    tx = crmkit.read_transactions(SAMPLES / "sales.xlsx").frame
    tables = retention(tx, as_of=pd.Timestamp("2024-12-31"))
    matrix = tables.cohort_customers
    assert matrix["customers"].tolist() == tables.periods["new"].tolist()
    since = [c for c in matrix.columns if isinstance(c, int)]
    by_period = np.zeros(len(tables.periods))
    for row, values in enumerate(matrix[since].to_numpy()):
        seen = values[~np.isnan(values)]
        by_period[row : row + len(seen)] += seen
    assert by_period.tolist() == tables.periods["active"].tolist()


orders = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.integers(0, 400),  # days after 2023-01-01
        st.sampled_from([-15.5, 0.0, 9.99, 20.0, 125.25]),
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    ids, days, amounts = zip(*rows)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": amounts,
        }
    )


@settings(max_examples=40, deadline=None)
@given(orders, st.sampled_from(["month", "quarter"]), st.randoms(use_true_random=False))
def test_invariants_and_the_reference_on_random_files(rows, period, random) -> None:
    tx = _frame(rows)
    as_of = "2024-02-29"
    assert_matches_reference(tx, as_of, period)
    got = retention(tx, as_of=pd.Timestamp(as_of), period=period)
    table = got.periods
    assert (table["active"] == table["new"] + table["returning"] + table["reactivated"]).all()
    assert (table["returning"] + table["lost"]).iloc[1:].tolist() == table["active"].iloc[:-1].tolist()
    assert table["revenue"].sum() == pytest.approx(tx["amount"].sum())
    assert table["new"].sum() == tx.loc[tx["amount"] >= 0, "customer_id"].nunique()
    shuffled = tx.sample(frac=1.0, random_state=random.randint(0, 2**31)).reset_index(drop=True)
    pd.testing.assert_frame_equal(retention(shuffled, as_of=pd.Timestamp(as_of), period=period).periods, table)


def test_groups_add_up_to_the_whole(tmp_path: Path) -> None:
    groups = pd.DataFrame({"customer_id": ["A", "B", "C"], "salesperson": ["x", "y", "x"]})
    tables = retention(HAND, as_of=pd.Timestamp("2024-03-31"), groups=groups)
    assert tables.groups is not None
    assert sorted(tables.groups["salesperson"].unique()) == ["(none)", "x", "y"]  # D has no salesperson
    summed = tables.groups.groupby("period", sort=True)[["active", "new", "lost", "revenue"]].sum()
    pd.testing.assert_frame_equal(
        summed.reset_index(drop=True), tables.periods[["active", "new", "lost", "revenue"]], check_dtype=False
    )
    assert tables.groups.columns.tolist() == ["salesperson", *PERIOD_COLUMNS]


def test_what_if_follows_its_formula() -> None:
    periods = retention(HAND, as_of=pd.Timestamp("2024-03-31")).periods
    scenario = what_if(
        periods, period="month", points=5, horizon_days=365.25, margin=0.5, margin_basis="given", discount_rate=0.1
    )
    assert scenario is not None
    # February and March: 1 returning of 2 + 0 of 2 active before → r = 0.25; the returning customer spent 80.
    assert (scenario.retention, scenario.retention_raised, scenario.profit_per_customer) == (0.25, 0.30, 40.0)
    assert (scenario.active, scenario.periods, scenario.window) == (2, 12, "2024-02 – 2024-03")
    monthly = 1.1 ** (-1 / 12)
    assert scenario.profit == pytest.approx(2 * 40 * sum((0.25 * monthly) ** t for t in range(1, 13)))
    assert scenario.profit_raised == pytest.approx(2 * 40 * sum((0.30 * monthly) ** t for t in range(1, 13)))
    assert scenario.increase == pytest.approx(scenario.profit_raised / scenario.profit - 1)
    assert "Σ_(t=1..12) r^t × (1 + 0.1)^(−t/12)" in scenario.formula()
    capped = what_if(
        periods, period="month", points=90, horizon_days=90, margin=1, margin_basis="revenue", discount_rate=0
    )
    assert capped is not None and capped.retention_raised == 1.0 and capped.periods == 3


def test_what_if_needs_a_complete_period_after_an_active_one() -> None:
    one_month = HAND.loc[HAND["order_date"] < "2024-02-01"]
    periods = retention(one_month, as_of=pd.Timestamp("2024-01-31")).periods
    assert (
        what_if(
            periods, period="month", points=5, horizon_days=365, margin=1, margin_basis="revenue", discount_rate=0.1
        )
        is None
    )
    with pytest.raises(OptionError, match="between 0 and 100"):
        what_if(
            periods, period="month", points=-1, horizon_days=365, margin=1, margin_basis="revenue", discount_rate=0.1
        )


# --- the command --------------------------------------------------------------------------------------------------
runner = CliRunner()
ENV = {
    "COLUMNS": "80",
    "LINES": "50",
    "NO_COLOR": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "CRMKIT_DEBUG": None,
}
JSON_PERIOD_KEYS = {
    "period",
    "complete",
    "active",
    "new",
    "returning",
    "reactivated",
    "lost",
    "churn_rate",
    "retention_rate",
    "repeat_purchase_rate",
    "revenue",
    "revenue_new",
    "revenue_returning",
    "revenue_reactivated",
    "net_revenue_retention",
}


def crmkit_ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args], env=ENV)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.stdout


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 simulated customers, 2023-2024, as an English CSV export with a cost column."""
    path = tmp_path_factory.mktemp("small") / "sales.csv"
    write_table(localise_sample(simulate_sales(200, seed=5), "en").transactions, path)
    return path


@pytest.fixture(scope="module")
def hand_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hand") / "hand.csv"
    HAND.to_csv(path, index=False)
    return path


def test_json_has_the_issue_keys_and_the_hand_counts(hand_csv: Path) -> None:
    report = json.loads(crmkit_ok("retention", hand_csv, "--format", "json", "--as-of", "2024-03-31"))
    assert {"periods", "cohorts", "what_if", "retention_curve", "data", "warnings", "period_type"} == set(report)
    assert all(set(row) == JSON_PERIOD_KEYS for row in report["periods"])
    assert [row["period"] for row in report["periods"]] == HAND_PERIODS["period"]
    first = report["periods"][0]
    assert (first["churn_rate"], first["retention_rate"], first["net_revenue_retention"]) == (None, None, None)
    assert [row["lost"] for row in report["periods"]] == HAND_PERIODS["lost"]
    assert report["cohorts"][0] == {
        "cohort": "2024-01",
        "customers": 2,
        "revenue": 350.0,
        "retained": [1.0, 0.5, 0.5],
        "revenue_retained": [1.0, pytest.approx(80 / 350), pytest.approx(100 / 350)],
    }
    assert report["what_if"]["formula"].startswith("profit = active customers ×")
    assert report["what_if"]["margin_basis"] == "revenue"  # no cost column: revenue is the profit


def test_quarters_with_out_files(small_csv: Path, tmp_path: Path) -> None:
    sample = small_csv
    report = json.loads(crmkit_ok("retention", sample, "--period", "quarter", "--format", "json", "--what-if", "10"))
    assert [row["period"] for row in report["periods"]][:2] == ["2023-Q1", "2023-Q2"]
    assert report["what_if"]["points"] == 10.0 and report["what_if"]["periods"] == 4
    csv, xlsx, js = tmp_path / "r.csv", tmp_path / "r.xlsx", tmp_path / "r.json"
    for out in (csv, xlsx, js):
        crmkit_ok("retention", sample, "--period", "quarter", "--out", out, "-q", "--lang", "zh")
    table = pd.read_csv(csv, encoding="utf-8-sig")
    assert table.columns.tolist() == list(PERIOD_COLUMNS)  # canonical English whatever --lang
    assert table["active"].tolist() == [row["active"] for row in report["periods"]]
    assert json.loads(js.read_text(encoding="utf-8"))["periods"] == report["periods"]
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["各期留存", "同期群", "同期群收入", "若留存率提高", "说明"]
    cohorts = book["同期群"]
    assert [c.value for c in cohorts[1]][:5] == [
        "同期群\n(首次购买期)",
        "客户数",
        "收入",
        "+0",
        "+1",
    ]  # broken at the space
    assert cohorts.cell(2, 5).value == pytest.approx(report["cohorts"][0]["retained"][1])
    assert cohorts.cell(2, 5).number_format == "0.0%"
    assert cohorts.cell(cohorts.max_row, 1).value == "全部同期群"
    assert [rule.type for rules in cohorts.conditional_formatting for rule in rules.rules] == ["colorScale"]
    assert len(cohorts._charts) == 1  # the retention curve


def test_table_group_by_and_a_period_still_running(tmp_path: Path) -> None:
    out = crmkit_ok(
        "retention", SAMPLES / "sales.xlsx", "--as-of", "2024-11-20", "--group-by", "销售员", "-q", "--what-if", "5"
    )
    assert "2024-11*" in out and "* 2024-11 is not over at the as-of date" in out
    assert "By Salesperson, 2024-10" in out  # the latest complete month
    assert "Increase" in out and "Formula: profit = active customers" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_bad_options_are_user_errors(hand_csv: Path) -> None:
    for args, fragment in (
        (["--what-if", "150"], "--what-if must be a number of percentage points from 0 to 100"),
        (["--group-by", "colour"], "cannot group by 'colour'"),
    ):
        result = runner.invoke(app, ["retention", str(hand_csv), *args], env=ENV)
        assert result.exit_code == 2 and fragment in result.stderr, result.output
    result = runner.invoke(app, ["retention", str(hand_csv), "--period", "week"], env=ENV)
    assert result.exit_code == 2
    with pytest.raises(OptionError, match="unknown retention_period 'week'"):
        ScoreOptions(retention_period="week")


def test_segment_summary_and_workbook_show_the_latest_complete_period(small_csv: Path, tmp_path: Path) -> None:
    as_of = ("--as-of", "2024-12-31", "-q")
    summary = json.loads(crmkit_ok("segment", small_csv, *as_of, "--format", "json", "--no-model"))
    latest = summary["retention"]
    months = json.loads(crmkit_ok("retention", small_csv, *as_of, "--format", "json"))["periods"]
    assert {k: v for k, v in latest.items() if k not in ("period_type", "partial_period")} == months[-1]
    assert (latest["period_type"], latest["period"], latest["partial_period"]) == ("month", "2024-12", None)
    out = tmp_path / "book.xlsx"
    crmkit_ok("segment", small_csv, *as_of, "--out", out, "--no-model")
    book = openpyxl.load_workbook(out)
    rows = {row[0]: row[1] for row in book["Summary"].iter_rows(max_col=2, values_only=True) if row[0]}
    assert rows["Period"] == "2024-12 (month)"
    assert rows["Churn rate"] == pytest.approx(latest["churn_rate"])
    assert rows["Repeat-purchase rate"] == pytest.approx(latest["repeat_purchase_rate"])
    assert rows["Won back"] == latest["reactivated"]
    definitions = [row[:3] for row in book["Definitions"].iter_rows(values_only=True)]
    start = definitions.index(("Retention measures", None, None)) + 1
    end = next(i for i in range(start, len(definitions)) if definitions[i][1] is None)  # the next section
    meaning = {key: text for _, key, text in definitions[start:end]}
    assert {"churn_rate", "repeat_purchase_rate", "net_revenue_retention", "cohort"} <= set(meaning)
    assert meaning["new"].startswith("Customers whose first purchase in the data")  # not the RFM segment
    assert meaning["revenue"].startswith("Net revenue (purchases − returns) in the period")


def test_the_heat_grid_is_coloured_on_a_terminal_only(hand_csv: Path) -> None:
    args = ["retention", str(hand_csv), "--as-of", "2024-03-31", "-q"]
    plain = runner.invoke(app, args, env=ENV).stdout
    assert "\x1b[" not in plain  # not a terminal: plain numbers
    assert "\n2024-01     2  50  50\n" in plain  # cohort, size, then % active 1 and 2 months on
    coloured = runner.invoke(app, args, env={**ENV, "FORCE_COLOR": "1"}).stdout
    assert re.search(r"\x1b\[[0-9;]*;(?:4[0-7]|10[0-7]|48)[;m]", coloured)  # a background fill behind the cells
