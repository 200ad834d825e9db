#!/usr/bin/env python3
"""Time and peak memory of `crmkit segment` with the pandas engine and the Dask engine, 10M and 100M rows.

    python benchmarks/bench_engines.py --rows 10m --runs 3
    python benchmarks/bench_engines.py --rows 100m --runs 1 --engine dask --memory-limit 8GB
    python benchmarks/bench_engines.py --rows 10m --engine dask --workers 2 --memory-limit 4GB
    python benchmarks/bench_engines.py --generator path/to/gen_tx.py --data /scratch/bench

Data comes from the transaction generator (``benchmarks/gen_tx.py`` when present, else
``shared/bench/gen_tx.py`` in a folder above the checkout, or ``--generator``): 3.35M customers give 10M rows. 100M rows are ten such
blocks with different seeds and customer-id prefixes (33.5M customers), one Parquet file each, about 1.5 GB.
Each run is ``crmkit segment FILES --format json`` in its own process; a watcher samples the resident memory
of the process and all its children (the Dask scheduler and workers) every 0.2 s and reports the peak of the
sum, and their CPU seconds (which say more than wall time on a shared machine); a run whose tree passes ``--memory-cap`` is stopped and reported as such, which keeps a run that cannot
finish from taking the machine down. Times and peaks are medians over ``--runs``. ``--keep`` keeps the data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
#: The in-repo generator, else the shared one in a folder above the checkout.
GENERATORS = (HERE / "gen_tx.py", *(folder / "shared" / "bench" / "gen_tx.py" for folder in HERE.parents))
CUSTOMERS_PER_BLOCK = 3_350_000  # about 10M rows
BLOCKS = {"10m": 1, "100m": 10}
GIB = 1 << 30


def generator(path: Path | None) -> Path:
    for candidate in (path, *GENERATORS):
        if candidate is not None and candidate.exists():
            return candidate
    raise SystemExit("no transaction generator found; give its path with --generator")


def data_files(rows: str, folder: Path, gen: Path) -> list[Path]:
    """Generate (once) the blocks of ``rows``: block k has ids prefixed with letter k, so customers differ."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for block in range(BLOCKS[rows]):
        path = folder / f"tx_{block:02d}.parquet"
        if not path.exists():
            raw = folder / "raw.parquet"
            seed = str(42 + block)
            command = [
                sys.executable,
                str(gen),
                "--customers",
                str(CUSTOMERS_PER_BLOCK),
                "--seed",
                seed,
                "--out",
                str(raw),
            ]
            subprocess.run(command, check=True)
            table = pq.read_table(raw)
            ids = pc.binary_join_element_wise(
                chr(ord("A") + block), pc.utf8_slice_codeunits(table["customer_id"], 1), ""
            )
            pq.write_table(table.set_column(0, "customer_id", ids.cast(pa.string())), path)
            raw.unlink()
        files.append(path)
    return files


def sample_tree(process: psutil.Process, cpu: dict[int, float]) -> int:
    """Resident memory of a process and all its descendants, summed; their CPU seconds so far into ``cpu``."""
    total = 0
    with contextlib.suppress(psutil.Error):
        members = [process, *process.children(recursive=True)]
    for member in members:
        with contextlib.suppress(psutil.Error):  # a process that just ended
            total += member.memory_info().rss
            times = member.cpu_times()
            cpu[member.pid] = times.user + times.system
    return total


def run_once(command: list[str], cap: int) -> dict:
    """Run ``command``; its time, the peak memory of its process tree, and whether it finished."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak, capped, cpu = 0, False, {}
    while process.poll() is None:
        peak = max(peak, sample_tree(watched, cpu))
        if peak > cap:
            capped = True
            for member in [*watched.children(recursive=True), watched]:
                with contextlib.suppress(psutil.Error):
                    member.kill()
            break
        time.sleep(0.2)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    finished = process.returncode == 0 and not capped
    summary = json.loads(stdout) if finished else None
    return {
        "seconds": seconds,
        "cpu_seconds": sum(cpu.values()),
        "peak_gib": peak / GIB,
        "finished": finished,
        "stopped_at_cap": capped,
        "customers": summary["data"]["customers"] if summary else None,
        "rows": summary["data"]["rows_used"] if summary else None,
        "error": None if finished or capped else stderr.strip().splitlines()[-1:],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=sorted(BLOCKS), action="append")
    parser.add_argument("--engine", choices=["pandas", "dask"], action="append")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        help="Dask worker processes (default: one worker in the crmkit process, a thread per core)",
    )
    parser.add_argument("--memory-limit", help="per Dask worker, e.g. 4GB (default: the machine's memory shared out)")
    parser.add_argument("--memory-cap", type=float, default=18.0, help="GiB; a run whose process tree passes it stops")
    parser.add_argument("--generator", type=Path)
    parser.add_argument("--data", type=Path, help="folder for the generated data (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--json", type=Path, help="append results as JSON lines")
    args = parser.parse_args(argv)
    gen = generator(args.generator)
    folder = args.data or Path(tempfile.mkdtemp(prefix="crmkit-bench-"))
    crmkit = [sys.executable, "-m", "crmkit", "segment"]
    try:
        for rows in args.rows or ["10m"]:
            files = [str(f) for f in data_files(rows, folder / rows, gen)]
            engines = args.engine or ["pandas", "dask"]
            commands = {engine: [*crmkit, *files, "--format", "json", "--quiet"] for engine in engines}
            if "dask" in commands:
                commands["dask"] += ["--engine", "dask"]
                commands["dask"] += ["--workers", str(args.workers)] if args.workers else []
                commands["dask"] += ["--memory-limit", args.memory_limit] if args.memory_limit else []
            # The engines take turns, so a change in what else runs on the machine hits both alike.
            runs: dict[str, list[dict]] = {engine: [] for engine in engines}
            for _ in range(args.runs):
                for engine in engines:
                    runs[engine].append(run_once(commands[engine], int(args.memory_cap * GIB)))
            for engine in engines:
                report(rows, engine, runs[engine], args.json)
    finally:
        if not args.keep and args.data is None:
            shutil.rmtree(folder, ignore_errors=True)


def report(rows: str, engine: str, runs: list[dict], out: Path | None) -> None:
    """Print the medians of an engine's runs (and append them to ``out`` as a JSON line)."""
    done = [r for r in runs if r["finished"]]
    result = {
        "rows": rows,
        "engine": engine,
        "runs": runs,
        "median_seconds": statistics.median(r["seconds"] for r in done) if done else None,
        "median_peak_gib": statistics.median(r["peak_gib"] for r in done) if done else None,
        "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in done) if done else None,
    }
    shown = (
        f"{result['median_seconds']:.1f} s ({result['median_cpu_seconds']:.0f} CPU s), "
        f"peak {result['median_peak_gib']:.2f} GiB"
        if done
        else "did not finish: "
        + "; ".join(
            f"stopped at {r['peak_gib']:.1f} GiB after {r['seconds']:.0f} s" if r["stopped_at_cap"] else str(r["error"])
            for r in runs
        )
    )
    print(f"{rows:>5} {engine:7} {len(done)}/{len(runs)} runs  {shown}", flush=True)
    if out:
        with out.open("a") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
