#!/usr/bin/env python3
"""The whole `crmkit segment` run with each output, beside the bare pyarrow writer of the same table.

    python benchmarks/bench_output.py                          # 1M and 10M rows, 3 interleaved runs each
    python benchmarks/bench_output.py --rows 1m --repeat 1
    python benchmarks/bench_output.py --rows 10m --xlsx        # also the workbook at 10M rows (minutes)

Per size, each configuration runs as its own process, as a user runs it, and all
of them take turns (--repeat N rounds), so a busy spell on a shared machine
touches every configuration alike:

- `crmkit segment FILE --format json` (the summary only: reading and scoring),
- the same with `--out customers.csv`, `--out customers.parquet`, and `--out customers.xlsx` (1M rows;
  10M rows with --xlsx),
- the writers alone, in one process: the per-customer table crmkit wrote (read back from its Parquet
  output) converted to Arrow and written by `pyarrow.csv.write_csv` and `pyarrow.parquet.write_table`,
  and the same DataFrame written by crmkit's own writer (`crmkit.output.write_table`).

Wall time, CPU time and peak RSS of every process are measured (CPU time, in
the log and the JSON lines, is the steadier figure on a shared machine); the
table printed at the end (markdown, ready for the README) has medians of wall
time with their range. "The output adds" is the median run with the output less
the median run without, and the last column divides it by the bare pyarrow
writer's time for the same table.
Transactions come from benchmarks/gen_tx.py (cached in benchmarks/out/).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_segment import CUSTOMERS, append_json, data_file  # noqa: E402

OUTPUTS = ("json", "csv", "parquet", "xlsx")
BARE = {"csv": "pyarrow.csv.write_csv", "parquet": "pyarrow.parquet.write_table"}
SIZES = {"1m": "1M rows, 334k customers", "10m": "10M rows, 3.35M customers"}


def run_child(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB) of one child process; wait4 gives the child's own."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def bare_writers(table_path: Path, folder: Path) -> dict[str, dict[str, float]]:
    """Seconds pyarrow's own writers, and crmkit's, take for the table crmkit wrote to ``table_path``."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from crmkit.output.tables import write_table

    frame = pd.read_parquet(table_path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    bare = {"csv": lambda path: pacsv.write_csv(table, path), "parquet": lambda path: pq.write_table(table, path)}
    times: dict[str, dict[str, float]] = {"pyarrow": {}, "crmkit": {}, "pyarrow_cpu": {}, "crmkit_cpu": {}}
    for kind, pyarrow_writer in bare.items():
        for who, write in (("pyarrow", pyarrow_writer), ("crmkit", lambda path: write_table(frame, path))):
            cpu = time.process_time()
            started = time.perf_counter()
            write(folder / f"{who}.{kind}")
            times[who][kind] = time.perf_counter() - started
            times[f"{who}_cpu"][kind] = time.process_time() - cpu
    return times


def spread(values: list[float], unit: str = "s") -> str:
    """Median, with the range when there are several runs: ``9.1 s (8.9–9.5)``."""
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.1f} {unit}"
    return f"{median:.1f} {unit} ({min(values):.1f}–{max(values):.1f})"


def measure(rows: str, outputs: tuple[str, ...], repeat: int, source: str) -> dict:
    """Every configuration of one size, ``repeat`` interleaved rounds."""
    data = data_file(rows, source)
    walls: dict[str, list[float]] = {name: [] for name in outputs}
    cpus: dict[str, list[float]] = {name: [] for name in outputs}
    peaks: dict[str, list[float]] = {name: [] for name in outputs}
    writers: dict[str, dict[str, list[float]]] = {
        who: {kind: [] for kind in BARE} for who in ("pyarrow", "crmkit", "pyarrow_cpu", "crmkit_cpu")
    }
    with tempfile.TemporaryDirectory(dir=HERE / "out") as scratch:
        folder = Path(scratch)
        for round_ in range(repeat):
            for name in outputs:
                command = [sys.executable, "-m", "crmkit", "segment", str(data), "--format", "json"]
                if name != "json":
                    command += ["--out", str(folder / f"customers.{name}")]
                wall, cpu, peak = run_child(command)
                walls[name].append(wall)
                cpus[name].append(cpu)
                peaks[name].append(peak)
                print(
                    f"{rows:>4} round {round_ + 1}  {name:8} {wall:7.2f} s  CPU {cpu:7.2f} s  peak {peak:7,.0f} MiB  "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            table = folder / "customers.parquet"
            if not table.exists():
                run_child(
                    [sys.executable, "-m", "crmkit", "segment", str(data), "--format", "json", "--out", str(table)]
                )
            line = subprocess.run(
                [sys.executable, __file__, "--bare", str(table), str(folder)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            for who, times in json.loads(line).items():
                for kind, seconds in times.items():
                    writers[who][kind].append(seconds)
                print(
                    f"{rows:>4} round {round_ + 1}  {who:8} writers alone: csv {times['csv']:.2f} s, parquet {times['parquet']:.2f} s"
                )
    return {
        "rows": rows,
        "input": source,
        "runs_s": {name: [round(w, 2) for w in walls[name]] for name in outputs},
        "cpu_s": {name: [round(c, 2) for c in cpus[name]] for name in outputs},
        "peak_mib": {name: round(max(peaks[name])) for name in outputs},
        "writers_s": {
            who: {kind: [round(t, 3) for t in v] for kind, v in kinds.items()} for who, kinds in writers.items()
        },
    }


def markdown(result: dict) -> str:
    """The README table for one size: wall times (median and range), CPU times beside them."""
    runs, cpus, writers = result["runs_s"], result["cpu_s"], result["writers_s"]
    base, base_cpu = statistics.median(runs["json"]), statistics.median(cpus["json"])
    lines = [
        f"| {SIZES[result['rows']]}, from {result['input'].upper()} | whole `segment` run; CPU | peak memory "
        "| the output adds; CPU | crmkit's writer alone; CPU | bare pyarrow writer; CPU | adds ÷ bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, walls in runs.items():
        label = "`--format json` (summary only)" if name == "json" else f"`--out customers.{name}`"
        cpu = statistics.median(cpus[name])
        cells = [label, f"{spread(walls)}; {cpu:.1f} s", f"{result['peak_mib'][name]:,} MiB"]
        added = statistics.median(walls) - base
        if name == "json":
            cells += ["–"] * 4
            lines.append("| " + " | ".join(cells) + " |")
            continue
        cells.append(f"{added:.1f} s; {cpu - base_cpu:.1f} s")
        if name in BARE:
            ours, bare = writers["crmkit"][name], writers["pyarrow"][name]
            ours_cpu, bare_cpu = (statistics.median(writers[f"{who}_cpu"][name]) for who in ("crmkit", "pyarrow"))
            cells += [f"{spread(ours)}; {ours_cpu:.1f} s", f"`{BARE[name]}` {spread(bare)}; {bare_cpu:.1f} s"]
            cells.append(f"{added / statistics.median(bare):.1f}×")
        else:
            cells += ["–", "–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=sorted(CUSTOMERS), action="append")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per size (medians are shown)")
    parser.add_argument("--input", choices=("csv", "parquet"), default="csv", help="format of the transactions")
    parser.add_argument("--xlsx", action="store_true", help="also write the workbook at 10M rows")
    parser.add_argument("--json", type=Path, help="append results as JSON lines")
    parser.add_argument("--table", type=Path, metavar="JSONL", help="only print the tables of results saved by --json")
    parser.add_argument("--bare", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        print(json.dumps(bare_writers(*args.bare)))
        return
    if args.table:
        results = [json.loads(line) for line in args.table.read_text().splitlines() if line.strip()]
        print("\n\n".join(markdown(result) for result in results))
        return
    (HERE / "out").mkdir(exist_ok=True)
    tables = []
    for rows in args.rows or ["1m", "10m"]:
        outputs = OUTPUTS if rows == "1m" or args.xlsx else tuple(o for o in OUTPUTS if o != "xlsx")
        result = measure(rows, outputs, args.repeat, args.input)
        append_json(args.json, result)
        tables.append(markdown(result))
    print()
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
