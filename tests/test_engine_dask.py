"""The Dask engine gives the pandas engine's scores: every customer's row, the summary and the drop report.

Data: a realistic export (order lines with order ids, cost, salesperson, region, channel), with returns, bad
rows and lines repeated in the next month's file, split into time-ordered files. Runs on an in-process
cluster; one test goes over real TCP to a scheduler and a worker started as processes, one kills a worker in
the middle of the shuffle, and one gives the workers less memory than the data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster, WorkerPlugin

from crmkit import ingest, pipeline
from crmkit.datasets.sample import simulate_sales
from crmkit.engine import EngineSettings, dask_engine
from crmkit.engine.cluster import dask_client
from crmkit.engine.dask_engine import score_pieces
from crmkit.errors import OptionError
from crmkit.ingest.pieces import plan_pieces
from crmkit.output.dataset import DatasetWriter
from crmkit.pipeline.privacy import Sharing
from crmkit.scoring.tiers import TierRule

CLI = [sys.executable, "-m", "crmkit"]
BIN = Path(sys.executable).parent


def export_files(folder: Path, *, fmt: str, shuffled: bool, files: int = 4, customers: int = 300) -> list[Path]:
    """Monthly-style files of one export: time-ordered, each repeating the last lines of the one before."""
    tx = simulate_sales(customers, seed=11).transactions.sort_values("order_date", kind="stable", ignore_index=True)
    rng = np.random.default_rng(5)
    tx.loc[rng.choice(len(tx), len(tx) // 50, replace=False), "amount"] *= -1  # returns
    tx = tx.astype({"order_date": "str"})
    tx.loc[rng.choice(len(tx), 4, replace=False), ["customer_id", "order_id"]] = None  # no order to take one from
    tx.loc[rng.choice(len(tx), 3, replace=False), "order_date"] = "not a date"
    chunks = np.array_split(np.arange(len(tx)), files)
    paths = []
    for i, rows in enumerate(chunks):
        part = tx.iloc[np.concatenate([chunks[i - 1][-15:], rows]) if i else rows]
        if shuffled:
            part = part.sample(frac=1, random_state=i)
        path = folder / f"sales_{i + 1:02d}.{fmt}"
        if fmt == "csv":
            part.to_csv(path, index=False)
        else:
            part.to_parquet(path, row_group_size=400)
        paths.append(path)
    return paths


def dask_scores(client, paths, options, out: Path, *, partitions: int | None, top: int = 10):
    plan = plan_pieces(paths, csv_piece_bytes=30_000, parquet_piece_rows=400)
    assert len(plan.pieces) > len(paths)  # files really are cut into pieces
    return score_pieces(plan, options, client=client, dataset=DatasetWriter(out), partitions=partitions, top=top)


#: What the Dask engine says instead of mining market baskets (the pandas engine's are compared without them).
NO_BASKETS = "cross-selling skipped: market baskets are not computed with --engine dask; use --engine pandas"


def assert_same_scores(paths, options, client, out: Path, partitions: int | None):
    data = ingest.load_transactions(paths)
    expected = pipeline.score(data, options=replace(options, basket=None))
    result, report = dask_scores(client, paths, options, out, partitions=partitions)
    table = pd.read_parquet(out)  # the part files in order hold the customers in the pandas engine's order
    reference = expected.customers.assign(customer_id=expected.customers["customer_id"].astype("str"))
    default = sum(client.nthreads().values())  # small data: a partition per worker thread
    assert len(list(out.glob("part-*.parquet"))) == (partitions or default)
    # Every column, every customer, to the last bit (categories compared as their text).
    assert table.columns.tolist() == reference.columns.tolist()
    for column in reference.columns:
        left, right = reference[column], table[column]
        if isinstance(left.dtype, pd.CategoricalDtype):
            left, right = left.astype("str"), right.astype("str")
        pd.testing.assert_series_equal(left, right, check_exact=True, check_dtype=False, obj=column)
    summary = result.summary.to_json()
    assert summary["warnings"][-1] == NO_BASKETS  # the sample names products
    assert {**summary, "warnings": summary["warnings"][:-1]} == expected.summary.to_json()
    assert report.drop_counts == data.report.drop_counts and report.examples == data.report.examples
    assert result.rfm_thresholds.astype("str").equals(expected.rfm_thresholds.astype("str"))
    assert report.warnings == data.report.warnings and report.excluded_orders == data.report.excluded_orders
    assert report.files == data.report.files  # each file's rows, mapping, dialect and notes
    assert result.at_risk["customer_id"].tolist() == expected.at_risk["customer_id"].head(10).tolist()
    assert result.at_risk_total == len(expected.at_risk)
    lost = expected.lost_key_accounts["customer_id"].astype("str")
    assert result.lost_key_accounts["customer_id"].tolist() == lost.head(10).tolist()
    assert result.lost_key_accounts_total == len(lost)
    top = expected.customers.nsmallest(10, "value_rank")["customer_id"].astype("str")
    assert set(top) <= set(result.customers["customer_id"])
    return result, expected


@pytest.fixture(scope="module")
def client():
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
        yield client


@pytest.mark.parametrize(("partitions", "fmt", "shuffled"), [(1, "csv", False), (3, "parquet", True), (7, "csv", True)])
def test_same_scores_as_pandas(tmp_path: Path, client, partitions: int, fmt: str, shuffled: bool):
    paths = export_files(tmp_path, fmt=fmt, shuffled=shuffled)
    result, _ = assert_same_scores(paths, pipeline.ScoreOptions(), client, tmp_path / "scores", partitions)
    assert result.summary.data.rows_dropped > 0 and result.summary.model is not None


def test_same_scores_with_other_settings(tmp_path: Path, client):
    """Share-mode tiers by profit, cn8 segments, Pareto/NBD in weeks, an earlier as-of date, pseudonyms."""
    paths = export_files(tmp_path, fmt="parquet", shuffled=True)
    options = replace(
        pipeline.ScoreOptions(),
        tier_by="profit",
        tiers=TierRule("share", 50, 30),
        rfm_scheme="cn8",
        model="pareto",
        time_unit="week",
        as_of=pd.Timestamp("2024-10-31"),
        at_risk_min_tier="gold",
        sharing=Sharing(pseudonym_key="a long secret"),
    )
    result, _ = assert_same_scores(paths, options, client, tmp_path / "scores", 3)
    assert result.summary.data.rows_after_as_of > 0
    assert result.customers["customer_id"].str.startswith("p").all()


def test_results_do_not_depend_on_the_partitioning(tmp_path: Path, client, monkeypatch):
    """One partition, and five moved by Dask's task shuffle (as when there are more ranges than one split)."""
    paths = export_files(tmp_path, fmt="csv", shuffled=False)
    options = pipeline.ScoreOptions(model=None)
    one, _ = dask_scores(client, paths, options, tmp_path / "one", partitions=1)
    monkeypatch.setattr(dask_engine, "SPLIT_RANGES", 2)
    many, _ = dask_scores(client, paths, options, tmp_path / "many", partitions=5)
    assert one.summary.to_json() == many.summary.to_json()
    assert pd.read_parquet(tmp_path / "one").equals(pd.read_parquet(tmp_path / "many"))


def test_an_unreachable_scheduler_is_named_within_the_timeout():
    started = time.monotonic()
    with pytest.raises(OptionError, match=r"tcp://127\.0\.0\.1:9 within 1 s"):  # noqa: SIM117
        with dask_client(EngineSettings("dask", scheduler="tcp://127.0.0.1:9", timeout=1)):
            pass
    assert time.monotonic() - started < 10


def test_the_default_local_cluster_is_one_worker_in_this_process(tmp_path: Path):
    """Without --workers: one worker inside this process (no sockets), a thread per core, and a partition per
    thread when the data is small; the scores equal the pandas engine's."""
    paths = export_files(tmp_path, fmt="parquet", shuffled=True, files=2, customers=120)
    with dask_client(EngineSettings("dask")) as client:
        assert [address.split("://")[0] for address in client.scheduler_info()["workers"]] == ["inproc"]
        assert sum(client.nthreads().values()) == (os.cpu_count() or 1)
        assert_same_scores(paths, pipeline.ScoreOptions(model=None), client, tmp_path / "scores", None)


class KillDuringShuffle(WorkerPlugin):
    """Kills its worker's process the first time it finishes a task of the shuffle: a piece's rows split by id
    range, a range's rows gathered, or a task of Dask's shuffle (once per test)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, *args, **kwargs):
        shuffling = any(step in str(key) for step in ("split_by_range", "gathered", "shuffle"))
        if finish == "memory" and shuffling and not os.path.exists(self.marker):
            Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def small_workers(tmp_path_factory):
    """Two worker processes (restarted by their nannies when they die) with less memory than the test data
    and spilling from a tenth of it; they are never paused or stopped for memory."""
    import dask

    memory = {"target": 0.1, "spill": False, "pause": False, "terminate": False}
    with (
        dask.config.set({f"distributed.worker.memory.{k}": v for k, v in memory.items()}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", memory_limit=SMALL_MEMORY
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


#: Worker memory in the spilling tests: far below what the partitions hold.
SMALL_MEMORY = 100_000


def test_workers_with_less_memory_than_the_data_spill_and_finish(tmp_path: Path, small_workers):
    paths = export_files(tmp_path, fmt="parquet", shuffled=False)
    data = ingest.load_transactions(paths).frame
    assert data.memory_usage(deep=True).sum() > 2 * SMALL_MEMORY  # more than both workers may hold
    assert_same_scores(paths, pipeline.ScoreOptions(model=None), small_workers, tmp_path / "scores", 4)
    written = small_workers.run(lambda dask_worker: dask_worker.data.cumulative_metrics.get(("disk-write", "count"), 0))
    assert sum(written.values()) > 0  # partitions went to disk


def test_a_worker_killed_during_the_shuffle_changes_nothing(tmp_path: Path, small_workers):
    paths = export_files(tmp_path, fmt="parquet", shuffled=False)
    marker = tmp_path / "killed"
    small_workers.register_plugin(KillDuringShuffle(str(marker)), name="kill")
    try:
        assert_same_scores(paths, pipeline.ScoreOptions(model=None), small_workers, tmp_path / "scores", 3)
    finally:
        small_workers.unregister_worker_plugin("kill")
    assert marker.exists()  # a worker did die mid-shuffle


def test_over_tcp_with_a_scheduler_and_a_worker_as_processes(tmp_path: Path):
    paths = export_files(tmp_path, fmt="csv", shuffled=True, files=3, customers=150)
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", scheduler_file],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 30
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(
            [BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--memory-limit", "1GB"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=30)
        over_tcp = subprocess.run(
            [*CLI, "segment", *map(str, paths), "--format", "json", "--engine", "dask", "--scheduler", address],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert over_tcp.returncode == 0, over_tcp.stderr
        in_memory = pipeline.score(ingest.load_transactions(paths), options=pipeline.ScoreOptions(basket=None))
        expected = json.loads(json.dumps(in_memory.summary.to_json(), default=str))
        assert json.loads(over_tcp.stdout) == {**expected, "warnings": [*expected["warnings"], NO_BASKETS]}
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
        for process in (worker, scheduler):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
