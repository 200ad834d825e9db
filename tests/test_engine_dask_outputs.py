"""What the Dask engine gives besides the per-customer dataset, equal to the pandas engine's: the retention
report, the workbook, the rejects file.

Data: the realistic export of tests/test_engine_dask.py (order lines with order ids, cost, salesperson, returns,
bad rows and lines repeated in the next month's file) in time-ordered files cut into pieces; an in-process
cluster.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("distributed")

from test_engine_dask import CLI, client, export_files  # noqa: F401  (client: the in-process cluster fixture)

from crmkit import ingest, pipeline
from crmkit.cli import app
from crmkit.engine.dask_engine import score_pieces
from crmkit.engine.dask_rejects import RejectsFile
from crmkit.engine.dask_retention import retention_pieces
from crmkit.errors import OptionError
from crmkit.ingest.pieces import plan_pieces
from crmkit.output.dataset import DatasetWriter
from crmkit.output.excel import write_rejects, write_workbook
from crmkit.output.tables import write_table
from crmkit.pipeline.privacy import Sharing
from crmkit.scoring.rollup import RollupParts, rollup


def pieces_of(paths: list[Path]):
    plan = plan_pieces(paths, csv_piece_bytes=30_000, parquet_piece_rows=400)
    assert len(plan.pieces) > len(paths)  # files really are cut into pieces
    return plan


def assert_same_retention(paths: list[Path], options: pipeline.ScoreOptions, client, partitions: int):  # noqa: F811
    data = ingest.load_transactions(paths)
    expected = pipeline.retention_report(data, options=options)
    result, report = retention_pieces(pieces_of(paths), options, client=client, partitions=partitions)
    # Periods, cohorts, curve, what-if and the per-group table: to the last digit.
    assert {**result.to_json(), "groups": None} == {**expected.to_json(), "groups": None}
    pd.testing.assert_frame_equal(result.table(), expected.table(), check_exact=True)
    assert report.drop_counts == data.report.drop_counts and report.examples == data.report.examples
    assert report.warnings == data.report.warnings
    return result


@pytest.mark.parametrize(
    ("partitions", "fmt", "shuffled", "period"),
    [(1, "csv", False, "month"), (3, "parquet", True, "quarter"), (7, "csv", True, "month")],
)
def test_retention_equals_the_pandas_engine(tmp_path: Path, client, partitions, fmt, shuffled, period):  # noqa: F811
    paths = export_files(tmp_path, fmt=fmt, shuffled=shuffled)
    options = replace(pipeline.ScoreOptions(), retention_period=period)
    result = assert_same_retention(paths, options, client, partitions)
    assert len(result.periods) > 3 and len(result.cohorts) > 3 and result.what_if is not None
    assert result.what_if.margin_basis == "data"  # the margin of the cost column, summed over partitions


def test_retention_by_salesperson_with_a_what_if_and_an_earlier_as_of(tmp_path: Path, client):  # noqa: F811
    paths = export_files(tmp_path, fmt="parquet", shuffled=True)
    options = replace(
        pipeline.ScoreOptions(),
        group_by="salesperson",
        what_if=10.0,
        horizon="2y",
        as_of=pd.Timestamp("2024-10-15"),
        sharing=Sharing(pseudonym_key="a long secret"),
    )
    result = assert_same_retention(paths, options, client, 3)
    assert result.groups is not None and result.groups["salesperson"].nunique() > 2
    assert not result.periods[-1].complete  # the as-of date is in the middle of a month


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def sheets_of(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, engine="calamine")


def test_retention_command_with_either_engine(tmp_path: Path):
    """The same JSON, workbook (periods per salesperson, cohorts, what-if) and rejects file from both engines."""
    paths = export_files(tmp_path, fmt="csv", shuffled=True, files=3, customers=150)
    given = [*paths, "--group-by", "salesperson", "--period", "quarter", "--format", "json", "--lang", "zh"]
    on_pandas = run_cli("retention", *given, "--out", tmp_path / "pandas.xlsx", "--rejects", tmp_path / "pandas.csv")
    dask = ["--engine", "dask", "--workers", "1", "--rejects", tmp_path / "dask.csv"]
    on_dask = run_cli("retention", *given, "--out", tmp_path / "dask.xlsx", *dask)
    assert json.loads(on_dask.stdout) == json.loads(on_pandas.stdout)
    assert on_dask.stderr == on_pandas.stderr  # the same drop summary
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    expected, written = sheets_of(tmp_path / "pandas.xlsx"), sheets_of(tmp_path / "dask.xlsx")
    assert written.keys() == expected.keys() and len(written) > 3
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(written[name], frame, check_exact=True, obj=name)


def test_workbook_of_a_partitioned_run(tmp_path: Path, client):  # noqa: F811
    """The summary, data quality and definitions sheets as the pandas engine's workbook has them; the top
    customers and the lists as the first rows of its sheets; a note naming the dataset; no partial tier lists."""
    paths = export_files(tmp_path, fmt="parquet", shuffled=True)
    options = pipeline.ScoreOptions(basket=None)
    expected = pipeline.score(ingest.load_transactions(paths), options=options)
    plan = pieces_of(paths)
    result, _ = score_pieces(plan, options, client=client, dataset=DatasetWriter(tmp_path / "scores"), partitions=3)
    write_workbook(tmp_path / "pandas.xlsx", expected, lang="zh")
    write_workbook(tmp_path / "dask.xlsx", result, lang="zh")
    pandas_sheets, dask_sheets = sheets_of(tmp_path / "pandas.xlsx"), sheets_of(tmp_path / "dask.xlsx")
    assert list(dask_sheets) == ["摘要", "重点客户", "流失风险", "流失中的重点客户", "数据质量", "说明"]
    summary = dask_sheets["摘要"]
    note = str(summary.iloc[2, 0])
    top = dask_sheets["重点客户"]
    assert note == (
        f"分区计算 (--engine dask)：每位客户的结果在 Parquet 数据集 {tmp_path / 'scores'} 中。本工作簿列出按价值排名的"
        f"前 {len(top)} 位客户（共 {result.summary.data.customers} 位）、流失风险客户的前 10 位"
        f"（共 {result.at_risk_total} 位）和流失中的重点客户的前 10 位（共 {result.lost_key_accounts_total} 位）。"
    )
    # Besides the note, the summary holds the pandas engine's cells in the same order, column by column (the
    # tables below the note start three rows lower, the charts' data beside them does not move).
    assert summary.columns.tolist() == pandas_sheets["摘要"].columns.tolist()
    for column in summary.columns:
        mine, theirs = summary[column].dropna(), pandas_sheets["摘要"][column].dropna()
        mine = mine[~mine.isin(["附注", note])]
        assert mine.tolist() == theirs.tolist(), column
    for name in ("数据质量", "说明"):
        pd.testing.assert_frame_equal(dask_sheets[name], pandas_sheets[name], check_exact=True, obj=name)
    best = expected.customers.sort_values("value_rank")["customer_id"].astype("int64")  # ids read back as numbers
    assert top.iloc[:, 0].tolist() == best.head(len(top)).tolist()  # by value rank, none skipped
    assert len(top) >= 10
    everyone = pandas_sheets["客户"].set_index(pandas_sheets["客户"].columns[0])
    same_rows = everyone.loc[top.iloc[:, 0]].reset_index()
    # Cell for cell (headers may wrap otherwise: a column's width follows its values).
    pd.testing.assert_frame_equal(top, same_rows.set_axis(top.columns, axis=1), check_exact=True)
    for name in ("流失风险", "流失中的重点客户"):
        lists = dask_sheets[name]
        assert 0 < len(lists) <= 10
        first = pandas_sheets[name].head(len(lists)).set_axis(lists.columns, axis=1)
        pd.testing.assert_frame_equal(lists, first, check_exact=True, obj=name)


def test_workbook_option_of_segment(tmp_path: Path):
    paths = [str(p) for p in export_files(tmp_path, fmt="csv", shuffled=False, files=2, customers=100)]
    refused = CliRunner().invoke(app, ["segment", *paths, "--engine", "dask", "--out", str(tmp_path / "tiers.xlsx")])
    assert refused.exit_code == 2 and "--out scores/ --workbook tiers.xlsx" in refused.stderr
    for out in (
        ["--out", str(tmp_path / "s.csv"), "--workbook", str(tmp_path / "a.xlsx")],
        ["--out", str(tmp_path / "b.xlsx")],
    ):
        assert CliRunner().invoke(app, ["segment", *paths, *out, "-q"]).exit_code == 0
    assert sheets_of(tmp_path / "a.xlsx").keys() == sheets_of(tmp_path / "b.xlsx").keys()
    assert len(pd.read_csv(tmp_path / "s.csv")) == len(sheets_of(tmp_path / "a.xlsx")["Customers"])


@pytest.mark.parametrize(
    ("fmt", "suffix", "key"), [("csv", ".csv", None), ("parquet", ".csv", "a long secret"), ("csv", ".xlsx", None)]
)
def test_rejects_file_equals_the_pandas_engines(tmp_path: Path, client, fmt, suffix, key):  # noqa: F811
    """Every dropped row (bad rows in several pieces, lines repeated within a piece and across files), byte for
    byte as the pandas engine writes them, also with pseudonymised ids."""
    paths = export_files(tmp_path, fmt=fmt, shuffled=True)
    # A last file repeating some of its own lines (with times of day) and with an amount that is no number.
    lines = pd.read_csv(paths[0], dtype="str") if fmt == "csv" else pd.read_parquet(paths[0])
    extra = lines.head(20).assign(order_date=lines["order_date"].head(20) + " 10:30:00")
    extra = pd.concat([extra, extra.head(8), lines.tail(5)], ignore_index=True).astype({"amount": "str"})
    extra.loc[3, "amount"] = "n/a"
    paths.append(tmp_path / "sales_05.csv")
    extra.to_csv(paths[-1], index=False)
    data = ingest.load_transactions(paths)
    sharing = Sharing(pseudonym_key=key)
    shown = sharing.transactions(data).rejects
    assert shown["reason"].nunique() >= 3 and shown["source_file"].nunique() == len(paths)
    expected, written = tmp_path / f"pandas{suffix}", tmp_path / f"dask{suffix}"
    if suffix == ".xlsx":
        write_rejects(expected, shown)
    else:
        write_table(shown, expected)
    plan = pieces_of(paths)
    options = pipeline.ScoreOptions(model=None, sharing=sharing)
    score_pieces(plan, options, client=client, partitions=3, rejects=RejectsFile(written))
    if suffix == ".xlsx":
        pd.testing.assert_frame_equal(sheets_of(written)["rejects"], sheets_of(expected)["rejects"], check_exact=True)
    else:
        assert written.read_bytes() == expected.read_bytes()
    assert not list(tmp_path.glob(".*parts*"))  # the parts are gone


def test_group_rollup_equals_the_pandas_engines(tmp_path: Path, client):  # noqa: F811
    """--group-by: the per-group table summed over partitions, to the last digit; a column that cannot group
    is refused with the pandas engine's message."""
    paths = export_files(tmp_path, fmt="csv", shuffled=True)
    options = pipeline.ScoreOptions(basket=None, group_by="销售员")  # the Chinese header of the salesperson column
    expected = pipeline.score(ingest.load_transactions(paths), options=options).summary
    for partitions in (1, 4):
        result, _ = score_pieces(pieces_of(paths), options, client=client, partitions=partitions)
        assert expected.groups is not None and len(expected.groups) > 2
        pd.testing.assert_frame_equal(result.summary.groups, expected.groups, check_exact=True)
        assert result.summary.to_json()["groups"] == expected.to_json()["groups"]
    with pytest.raises(OptionError, match="cannot group by 'amount'; choose one of"):
        score_pieces(pieces_of(paths), replace(options, group_by="amount"), client=client, partitions=2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=60), st.integers(1, 5))
def test_rollup_parts_add_up_to_the_rollup_of_all(cuts, parts):
    """However the customers are split, the merged sums give the rollup of the whole table, exactly."""
    rng = np.random.default_rng(len(cuts))
    customers = pd.DataFrame(
        {
            "customer_id": [f"{i:03d}" for i in range(len(cuts))],
            "region": np.array(["North", "South", " ", None], dtype=object)[cuts],
            "tier": rng.choice(["platinum", "gold", "iron", "prospect"], len(cuts)),
            "lifecycle_stage": rng.choice(["growth", "decline", "termination"], len(cuts)),
            "total_revenue": rng.normal(300, 400, len(cuts)),
            "value_at_risk": rng.exponential(50, len(cuts)),
        }
    )
    split = rng.integers(0, parts, len(cuts))
    pieces = [RollupParts.of(customers.loc[split == k], "region") for k in range(parts)]
    pd.testing.assert_frame_equal(RollupParts.merge(pieces).table(), rollup(customers, "region"), check_exact=True)
