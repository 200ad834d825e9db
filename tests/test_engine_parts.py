"""The pieces the Dask engine is built from, without a cluster: exact histograms and sums, customer-day rows,
input pieces and the command line's refusals.

Each global step computed from the histograms of parts must equal the step computed from all values at once,
whatever the split: that is what makes the engines agree.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crmkit import ingest
from crmkit.cli import app
from crmkit.datasets.sample import simulate_sales
from crmkit.engine import EngineSettings, parse_storage_options
from crmkit.errors import InputFileError, OptionError
from crmkit.ingest.pieces import canonical_piece, merge_reports, plan_pieces
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.kernels import exact_sums
from crmkit.scoring.lifecycle import activity_windows
from crmkit.scoring.rfm import histogram_cuts, rank_cuts
from crmkit.scoring.summary import ROW_KEY, customer_summary, daily_rows, latest_values
from crmkit.scoring.tiers import TierRule, assign_tiers, pareto_figures, pareto_from_histogram, tiers_from_ranks

# Values like days, counts and money: many ties, some negative, some zero.
values_lists = st.lists(
    st.one_of(st.integers(-5, 40).map(float), st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 2))),
    min_size=1,
    max_size=60,
)


def split(values: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(values, sorted({min(c, len(values)) for c in cuts}))


@given(values_lists, st.lists(st.integers(0, 60), max_size=4), st.integers(2, 6))
def test_score_cuts_from_histograms_of_parts_equal_those_of_all_values(values, cuts, bins):
    values = np.array(values)
    merged = Histogram.merge(Histogram.of(part) for part in split(values, cuts))
    assert histogram_cuts(merged, bins) == rank_cuts(values, bins)


@given(values_lists, st.lists(st.integers(0, 60), max_size=4))
def test_median_of_merged_histograms_is_numpys(values, cuts):
    values = np.array(values)
    merged = Histogram.merge(Histogram.of(part) for part in split(values, cuts))
    assert merged.median() == np.median(values) and merged.n == len(values)


@given(values_lists, st.lists(st.integers(0, 60), max_size=4))
def test_pareto_figures_from_histograms_of_parts_equal_those_of_all_values(values, cuts):
    series = pd.Series(values)
    merged = Histogram.merge(Histogram.of(part) for part in split(np.array(values), cuts))
    assert pareto_from_histogram(merged.clipped()) == pareto_figures(series)


@given(values_lists, st.sampled_from([TierRule(), TierRule("rank", 10, 30), TierRule("share", 50, 30)]))
def test_tiers_from_global_ranks_equal_assign_tiers(values, rule):
    values = pd.Series(values)
    ids = pd.Series([f"C{i:03d}" for i in range(len(values))])
    expected = assign_tiers(values, ids, rule)
    histogram = Histogram.of(values.to_numpy())
    got = tiers_from_ranks(values, expected["value_rank"].to_numpy(), rule, histogram.clipped())
    pd.testing.assert_frame_equal(got, expected)


@given(
    st.lists(st.floats(-1e12, 1e12, allow_nan=False, allow_subnormal=True), max_size=50),
    st.lists(st.integers(0, 50), max_size=4),
)
def test_exact_sums_are_correctly_rounded_and_add_up_across_parts(values, cuts):
    values = np.array(values, dtype=np.float64)
    groups = np.arange(len(values)) % 3 - 1  # -1: in no group
    whole = exact_sums(values, groups, 2)
    parts = [exact_sums(v, g, 2) for v, g in zip(split(values, cuts), split(groups, cuts))]
    for group in range(2):
        assert float(whole[group]) == math.fsum(values[groups == group])
        assert float(sum((p[group] for p in parts[1:]), parts[0][group])) == float(whole[group])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from(["2024-06-30", "2024-12-31", "2023-03-01"]))
def test_customer_day_rows_give_the_same_summary_as_the_transactions(seed, as_of):
    """Same-day lines, returns, a return that sums to 0, orders without an id, attributes of the latest line."""
    rng = np.random.default_rng(seed)
    tx = simulate_sales(40, seed=seed % 1000).transactions.sample(frac=1, random_state=seed, ignore_index=True)
    tx.loc[rng.random(len(tx)) < 0.1, "amount"] *= -1
    tx.loc[rng.random(len(tx)) < 0.05, "amount"] = -0.00001
    tx.loc[rng.random(len(tx)) < 0.1, "order_id"] = None
    tx = tx.astype({"customer_id": "category"})
    as_of = pd.Timestamp(as_of)
    carried = ["salesperson", "region", "channel"]
    daily = daily_rows(tx, np.arange(len(tx)), carried).sort_values(ROW_KEY, ignore_index=True)
    assert len(daily) <= len(tx)

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.reset_index(drop=True).astype({c: "str" for c in ("customer_id", *carried) if c in frame})

    for step in (
        lambda f: customer_summary(f, as_of=as_of),
        lambda f: latest_values(f, carried, as_of=as_of),
        lambda f: activity_windows(f, as_of=as_of, window_days=90),
    ):
        pd.testing.assert_frame_equal(plain(step(daily)), plain(step(tx)), check_exact=True)


def test_pieces_cut_files_and_their_reports_add_up_to_the_whole(tmp_path):
    tx = simulate_sales(120, seed=2).transactions.drop(columns="order_id").astype({"order_date": "str"})
    tx.loc[[5, len(tx) // 2, len(tx) - 3], "order_date"] = "bad"
    csv, parquet = tmp_path / "a.csv", tmp_path / "b.parquet"
    tx.to_csv(csv, index=False)
    tx.to_parquet(parquet, row_group_size=300)
    pieces = plan_pieces([str(tmp_path / "*.csv"), parquet], csv_piece_bytes=20_000, parquet_piece_rows=300)
    assert {p.path for p in pieces} == {str(csv), str(parquet)} and len(pieces) > 4
    parts = [canonical_piece(p) for p in pieces]
    report = merge_reports([r for _, r in parts])
    whole = ingest.load_transactions([csv, parquet]).report
    assert (report.rows_read, report.rows_dropped) == (whole.rows_read, 6)
    assert report.examples == whole.examples
    assert sum(len(frame) for frame, _ in parts) == report.rows_used


def test_excel_and_missing_inputs_are_refused_before_any_work(tmp_path):
    with pytest.raises(InputFileError, match="Excel workbooks cannot be read in pieces"):
        plan_pieces([SAMPLES / "sales.xlsx"])
    with pytest.raises(InputFileError, match="matches no file"):
        plan_pieces([str(tmp_path / "*.parquet")])


def test_storage_options_and_engine_settings():
    assert parse_storage_options(["anon=true", "block_size=5", "profile=dev"]) == {
        "anon": True,
        "block_size": 5,
        "profile": "dev",
    }
    with pytest.raises(OptionError, match="KEY=VALUE"):
        parse_storage_options(["anon"])
    with pytest.raises(OptionError, match="unknown engine"):
        EngineSettings("spark")


runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "100"})


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    path = tmp_path / "x.csv"
    path.write_text("customer_id,order_date,amount\nC1,2024-01-01,5\n")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "dask"], "Excel workbooks cannot be read in pieces"),
        (["--workers", "2"], "need --engine dask"),
    ],
)
def test_the_command_line_refuses_what_the_dask_engine_cannot_read(args, message):
    result = run("segment", str(SAMPLES / "sales.xlsx"), *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", str(SAMPLES / "customers.csv")], "--customers is not available"),
        (["--rejects", "r.csv"], "--rejects is not available"),
        (["--group-by", "region"], "--group-by is not available"),
    ],
)
def test_the_command_line_refuses_what_the_dask_engine_cannot_do_yet(args, message, tiny_csv):
    result = run("segment", str(tiny_csv), "--engine", "dask", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_an_excel_out_is_refused_before_the_cluster_starts(tiny_csv):
    result = run("segment", str(tiny_csv), "--engine", "dask", "--out", str(tiny_csv.with_name("t.xlsx")))
    assert result.exit_code == 2 and "Parquet dataset (a folder)" in result.stderr


def test_without_the_dask_extra_the_install_command_is_named(tiny_csv, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    result = run("segment", str(tiny_csv), "--engine", "dask")
    assert result.exit_code == 2 and "pip install 'crmkit[dask]'" in result.stderr, result.stderr
