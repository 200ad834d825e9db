"""The pieces the Dask engine is built from, without a cluster: exact histograms and sums, customer-day rows,
retention tallies, input pieces and the command line's refusals.

Each global step computed from the histograms of parts must equal the step computed from all values at once,
whatever the split; a file read in pieces must give the report one read of it gives, or be named to be read
whole. That is what makes the engines agree.
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
from crmkit.ingest.pieces import ReadSettings, merge_reports, plan_pieces, read_piece, whole_files
from crmkit.scoring.histogram import Histogram
from crmkit.scoring.kernels import exact_sums
from crmkit.scoring.lifecycle import activity_windows, return_gaps
from crmkit.scoring.retention import retention, retention_tables, retention_tally
from crmkit.scoring.rfm import histogram_cuts, rank_cuts
from crmkit.scoring.summary import customer_summary, daily_rows, day_numbers, latest_values
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


@given(values_lists, st.lists(st.integers(0, 60), max_size=4), st.floats(0, 1))
def test_median_and_quantiles_of_merged_histograms_are_numpys(values, cuts, q):
    values = np.array(values)
    merged = Histogram.merge(Histogram.of(part) for part in split(values, cuts))
    assert merged.median() == np.median(values) and merged.n == len(values)
    assert merged.quantile(q) == np.quantile(values, q)


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


def messy_sales(seed: int, customers: int = 40) -> pd.DataFrame:
    """Order lines with returns, returns summing to 0, lines without an order id and lines at the same time."""
    rng = np.random.default_rng(seed)
    tx = simulate_sales(customers, seed=seed % 1000).transactions.sample(frac=1, random_state=seed, ignore_index=True)
    tx.loc[rng.random(len(tx)) < 0.1, "amount"] *= -1
    tx.loc[rng.random(len(tx)) < 0.05, "amount"] = -0.00001
    tx.loc[rng.random(len(tx)) < 0.1, "order_id"] = None
    same_time = rng.random(len(tx)) < 0.2  # lines of other salespeople at a customer's latest time
    tx.loc[same_time, "salesperson"] = rng.choice(["Zhou Min", "A", None], same_time.sum())
    return tx.astype({"customer_id": "category", "salesperson": "category"})


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), st.sampled_from(["2024-06-30", "2024-12-31", "2023-03-01"]))
def test_customer_day_rows_give_the_same_steps_as_the_transactions(seed, as_of):
    """Summary, latest attributes, activity windows, first-return gaps and retention: the same on customer-day
    rows as on the lines, whatever the order of the lines."""
    tx = messy_sales(seed)
    as_of = pd.Timestamp(as_of)
    carried = ["salesperson", "region", "channel"]
    daily = daily_rows(tx, carried)
    assert len(daily) <= len(tx)
    shuffled = daily_rows(tx.sample(frac=1, random_state=1), carried)
    key = ["customer_id", "order_date", "order_id", "amount"]  # one row per customer, day, order and sign
    pd.testing.assert_frame_equal(
        daily.sort_values(key, ignore_index=True), shuffled.sort_values(key, ignore_index=True), check_like=True
    )

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.reset_index(drop=True).astype({c: "str" for c in ("customer_id", *carried) if c in frame})

    for step in (
        lambda f: customer_summary(f, as_of=as_of),
        lambda f: latest_values(f, carried, as_of=as_of),
        lambda f: activity_windows(f, as_of=as_of, window_days=90),
    ):
        pd.testing.assert_frame_equal(plain(step(daily)), plain(step(tx)), check_exact=True)
    np.testing.assert_array_equal(return_gaps(daily, as_of=as_of), return_gaps(tx, as_of=as_of))
    if (day_numbers(tx["order_date"]) <= day_numbers(as_of)[0]).any():
        for latest_only in (True, False):
            got, expected = (retention(f, as_of=as_of, latest_only=latest_only) for f in (daily, tx))
            pd.testing.assert_frame_equal(got.periods, expected.periods, check_exact=True)
            pd.testing.assert_frame_equal(got.cohort_customers, expected.cohort_customers, check_exact=True)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 5), st.sampled_from(["month", "quarter"]))
def test_retention_tallies_of_parts_of_the_customers_add_up_to_the_whole(seed, parts, period):
    tx = messy_sales(seed, customers=60)
    as_of = pd.Timestamp("2024-10-15")
    upto = tx.loc[day_numbers(tx["order_date"]) <= day_numbers(as_of)[0], "order_date"]
    first_day = int(day_numbers(pd.Series([upto.min()]))[0])
    part = tx["customer_id"].cat.codes % parts
    for latest_only in (True, False):
        tallies = [
            retention_tally(tx.loc[part == p], as_of=as_of, period=period, first_day=first_day, latest_only=latest_only)
            for p in range(parts)
        ]
        got = retention_tables(sum(tallies[1:], tallies[0]))
        expected = retention(tx, as_of=as_of, period=period, latest_only=latest_only)
        pd.testing.assert_frame_equal(got.periods, expected.periods, check_exact=True)
        pd.testing.assert_frame_equal(got.cohort_revenue, expected.cohort_revenue, check_exact=True)


# --- input pieces -------------------------------------------------------------------------------
def read_in_pieces(paths, settings_: ReadSettings | None = None, **sizes):
    """What the engine reads: every piece, the files to read whole (and why), then the report of all."""
    settings_ = settings_ or ReadSettings()
    plan = plan_pieces(paths, settings_, **sizes)
    reports = [read_piece(p, settings_).report for p in plan.pieces]
    first = merge_reports(reports, decimal=settings_.decimal)
    if first.reread:
        reports = [r for r in reports if r.piece.file.path not in first.reread]
        reports += [read_piece(p, settings_).report for p in whole_files(plan.pieces, first.reread)]
    merged = merge_reports(reports, decimal=settings_.decimal)
    return plan, first.reread, merged.report


def assert_reads_as_a_whole(paths, settings_: ReadSettings | None = None, **sizes) -> dict[str, str]:
    settings_ = settings_ or ReadSettings()
    plan, reread, report = read_in_pieces(paths, settings_, **sizes)
    whole = ingest.load_transactions(
        paths,
        columns=settings_.columns,
        date_order=settings_.date_order,
        decimal=settings_.decimal,
        header_row=settings_.header_row,
    ).report
    assert len(plan.pieces) > len(paths)  # files really are cut
    assert report.files == whole.files  # rows, mapping, dialect (decimal marks, dates, …) and notes
    assert (report.rows_read, report.rows_used, report.drop_counts) == (
        whole.rows_read,
        whole.rows_used,
        whole.drop_counts,
    )
    assert report.examples == whole.examples and report.warnings == whole.warnings
    assert report.excluded_orders == whole.excluded_orders
    return reread


def test_pieces_of_csv_and_parquet_files_read_as_the_whole_files(tmp_path):
    tx = simulate_sales(120, seed=2).transactions.drop(columns="order_id").astype({"order_date": "str"})
    tx.loc[[5, len(tx) // 2, len(tx) - 3], "order_date"] = "bad"
    tx.loc[[7, 9], "status"] = "cancelled"
    csv, parquet = tmp_path / "a.csv", tmp_path / "b.parquet"
    tx.to_csv(csv, index=False)
    tx.to_parquet(parquet, row_group_size=300)
    assert assert_reads_as_a_whole([csv, parquet], csv_piece_bytes=20_000, parquet_piece_rows=300) == {}
    plan, _, _ = read_in_pieces([str(tmp_path / "*.csv"), parquet], csv_piece_bytes=20_000, parquet_piece_rows=300)
    assert {p.file.path for p in plan.pieces} == {str(csv), str(parquet)}


def test_a_european_export_reads_in_pieces_with_the_marks_and_dates_of_the_whole_file(tmp_path):
    """Semicolons, decimal commas, day/month dates settled by a few days above 12: every piece reads them as
    the whole file does, notes included."""
    tx = simulate_sales(150, seed=4).transactions
    path = tmp_path / "eu.csv"
    frame = pd.DataFrame(
        {
            "Kunde": tx["customer_id"],
            "Datum": tx["order_date"].dt.strftime("%d/%m/%Y"),
            "Betrag": tx["amount"].map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")),
            "Bestellung": tx["order_id"],
        }
    )
    frame.to_csv(path, sep=";", index=False)
    columns = {"customer_id": "Kunde", "order_date": "Datum", "amount": "Betrag", "order_id": "Bestellung"}
    assert assert_reads_as_a_whole([path], ReadSettings(columns=columns), csv_piece_bytes=15_000) == {}


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda lines: [*lines[:200], "", *lines[200:]], "blank lines"),
        (lambda lines: [*lines[:200], 'C9,2024-01-01,5,O9,"a\nb"', *lines[200:]], "quotes"),
        (lambda lines: [*lines[:200], "C9,2024-01-01", *lines[200:]], "different number of fields"),
        (lambda lines: [*lines[:300], ",2024-01-01,5,O1,x", *lines[300:]], "lines of an order"),
    ],
)
def test_files_whose_pieces_depend_on_each_other_are_read_whole(tmp_path, edit, why):
    tx = simulate_sales(120, seed=3).transactions
    lines = tx[["customer_id", "order_date", "amount", "order_id", "product"]].to_csv(index=False).splitlines()
    path = tmp_path / "x.csv"
    path.write_text("\n".join(edit(lines)) + "\n")
    reread = assert_reads_as_a_whole([path], csv_piece_bytes=8_000)
    assert why in reread[str(path)]


def test_a_decimal_mark_only_the_whole_file_settles_makes_it_read_whole(tmp_path):
    """1.500 alone could be 1500 or 1.5: a piece holding only such amounts is read with the mark another piece
    settles, as the whole file is."""
    amounts = ["1.500"] * 300 + ["1.234,50"] * 300
    path = tmp_path / "x.csv"
    pd.DataFrame(
        {"customer_id": [f"C{i % 50}" for i in range(600)], "order_date": "2024-01-05", "amount": amounts}
    ).to_csv(path, sep=";", index=False)
    reread = assert_reads_as_a_whole([path], csv_piece_bytes=4_000)
    assert str(path) in reread


def test_order_totals_written_once_per_order_make_a_file_read_whole(tmp_path):
    """Shopify writes an order's total on its first line only: the further lines count 0, which only the whole
    file can tell."""
    rows = []
    for order in range(200):
        for item in range(3):
            amount = 30.0 if item == 0 else None
            rows.append(
                {
                    "customer_id": f"C{order % 40}",
                    "order_date": "2024-03-01",
                    "amount": amount,
                    "order_id": f"#{order}",
                    "product": f"P{item}",
                }
            )
    path = tmp_path / "orders.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    reread = assert_reads_as_a_whole([path], csv_piece_bytes=3_000)
    assert str(path) in reread


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
        (["--sheet", "Sales"], "--sheet is not available"),
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


def test_pieces_keep_the_read_settings(tmp_path):
    """--col, --date-order and status lists reach every piece."""
    tx = simulate_sales(60, seed=5).transactions
    frame = pd.DataFrame(
        {
            "who": tx["customer_id"],
            "when": tx["order_date"].dt.strftime("%m/%d/%Y"),
            "amount": tx["amount"],
            "state": np.where(np.arange(len(tx)) % 17 == 0, "voided", "paid"),
        }
    )
    frame["when"] = frame["when"].str.replace(
        r"^(\d\d)/(\d\d)", lambda m: f"{m[1]}/{min(int(m[2]), 12):02d}", regex=True
    )
    path = tmp_path / "us.csv"
    frame.to_csv(path, index=False)
    chosen = ReadSettings(columns={"customer_id": "who", "order_date": "when", "status": "state"}, date_order="mdy")
    assert assert_reads_as_a_whole([path], chosen, csv_piece_bytes=6_000) == {}
