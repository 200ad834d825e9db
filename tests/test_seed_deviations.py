"""Smaller mends from the seeds: grouping by a master-file column without exporting it, month-only exports in
``compare``, the workbook's printing, chart axis and headers, and ``--lang zh`` for choices, errors and notes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import crmkit
from crmkit.cli import app

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
