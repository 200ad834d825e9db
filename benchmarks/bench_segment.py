#!/usr/bin/env python3
"""Time the `crmkit segment` pipeline stage by stage, beside bare DuckDB/polars aggregations.

    python benchmarks/bench_segment.py                    # 1M and 10M rows, CSV and Parquet
    python benchmarks/bench_segment.py --rows 1m --format parquet --model

Each configuration runs in its own process so that peak RSS (ru_maxrss) belongs
to it alone. Data comes from benchmarks/gen_tx.py (cached in
benchmarks/out/). Stages: ingest (read + map + validate), summary, tiers
(RFM + tiers + Pareto), and with --model the value model (MBG/NBD + Gamma-Gamma
fit, predictions, 12-month CLV), then lifecycle and churn — the whole `segment`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GENERATOR = HERE / "gen_tx.py"
CUSTOMERS = {"1m": 334_000, "10m": 3_350_000}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def data_file(rows: str, fmt: str) -> Path:
    """Generate (once) the benchmark transactions."""
    path = OUT / f"tx_{rows}.{fmt}"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, str(GENERATOR), "--customers", str(CUSTOMERS[rows]), "--out", str(path)], check=True
        )
    return path


def run_one(rows: str, fmt: str, with_model: bool) -> dict:
    """One configuration, in this process."""
    from crmkit import ingest, pipeline
    from crmkit.scoring.rfm import rfm_scores, rfm_segments
    from crmkit.scoring.summary import customer_summary, default_as_of
    from crmkit.scoring.tiers import assign_tiers, pareto_figures

    path = data_file(rows, fmt)
    stages: dict[str, float] = {}
    memory: dict[str, float] = {}

    def mark(name: str, started: float) -> None:
        stages[name] = time.perf_counter() - started
        memory[name] = peak_mb()

    t = time.perf_counter()
    data = ingest.load_transactions([path])
    mark("ingest", t)
    tx = data.frame
    t = time.perf_counter()
    summary = customer_summary(tx, as_of=default_as_of(tx))
    mark("summary", t)
    t = time.perf_counter()
    scores = rfm_scores(summary)
    rfm_segments(summary, scores)
    assign_tiers(summary["total_revenue"], summary["customer_id"])
    pareto_figures(summary["total_revenue"])
    mark("rfm_tiers", t)
    if with_model:
        t = time.perf_counter()
        pipeline.score(tx, options=pipeline.ScoreOptions())
        mark("segment_full", t)
    result = {
        "rows": len(tx),
        "customers": len(summary),
        "format": fmt,
        "stages_s": stages,
        "peak_rss_mb": memory,
        "summary_plus_tiers_s": stages["summary"] + stages["rfm_tiers"],
    }
    result.update(baselines(path))
    return result


def baselines(path: Path) -> dict:
    """The same per-customer aggregation as one DuckDB query and one polars query."""
    out = {}
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    query = (
        f"select customer_id, count(distinct order_date) - 1 as frequency, min(order_date) as first, "
        f"max(order_date) as last, sum(amount) as revenue from {reader}('{path}') group by customer_id"
    )
    try:
        import duckdb

        t = time.perf_counter()
        duckdb.sql(query).arrow()
        out["duckdb_s"] = time.perf_counter() - t
    except ImportError:
        pass
    try:
        import polars as pl

        t = time.perf_counter()
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, try_parse_dates=True)
        frame.group_by("customer_id").agg(
            pl.col("order_date").n_unique().alias("occasions"),
            pl.col("order_date").min().alias("first"),
            pl.col("order_date").max().alias("last"),
            pl.col("amount").sum().alias("revenue"),
        )
        out["polars_s"] = time.perf_counter() - t
    except ImportError:
        pass
    return out


def append_json(path: Path | None, result: dict) -> None:
    """Add one result as a JSON line to ``path`` (when given), for later comparison."""
    if path is not None:
        with path.open("a") as handle:
            handle.write(json.dumps(result) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=sorted(CUSTOMERS), action="append")
    parser.add_argument("--format", choices=["csv", "parquet"], action="append")
    parser.add_argument("--model", action="store_true", help="also time the full segment run with the value model")
    parser.add_argument("--json", type=Path, help="append results as JSON lines")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.rows[0], args.format[0], args.model)))
        return
    for rows in args.rows or ["1m", "10m"]:
        for fmt in args.format or ["parquet", "csv"]:
            data_file(rows, fmt)
            command = [
                sys.executable,
                __file__,
                "--child",
                "--rows",
                rows,
                "--format",
                fmt,
                *(["--model"] if args.model else []),
            ]
            line = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            result = json.loads(line)
            stages = "  ".join(f"{k} {v:.2f}s" for k, v in result["stages_s"].items())
            print(
                f"{rows:>4} {fmt:8} rows={result['rows']:,} customers={result['customers']:,}  {stages}  "
                f"peak {max(result['peak_rss_mb'].values()):,.0f} MB  duckdb {result.get('duckdb_s', float('nan')):.2f}s"
                f"  polars {result.get('polars_s', float('nan')):.2f}s",
                flush=True,
            )
            append_json(args.json, result)


if __name__ == "__main__":
    main()
