#!/usr/bin/env python3
"""The whole `crmkit segment` run beside the equivalent `lifetimes` pipeline, on the same files.

    python benchmarks/bench_vs_lifetimes.py --setup-lifetimes      # once: the lifetimes venv
    python benchmarks/bench_vs_lifetimes.py --repeat 3 [--rows 1m --rows 10m]

crmkit runs as a user runs it: `crmkit segment FILE --format json` in its own
process (read, summary, RFM, MBG/NBD + Gamma-Gamma fit, 12-month CLV, tiers,
lifecycle, churn), from CSV and from Parquet. lifetimes runs
benchmarks/peers/lifetimes_pipeline.py (read CSV, summary, BG/NBD + Gamma-Gamma
fit, predictions, 12-month CLV) in its own venv with the pinned versions of
benchmarks/peers/requirements-lifetimes.txt: ``--setup-lifetimes`` creates it in
benchmarks/out/lifetimes-venv (pip needs the package index; lifetimes' pins need
Python 3.9-3.11), and it is used from there unless ``--lifetimes-python`` names
another. Wall time and peak RSS of each child process are reported, one
configuration at a time, so the two never compete for the cores. With
``--repeat N`` every configuration runs N times (interleaved) and the median is
compared: on a shared virtual machine single runs vary by ±20%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_segment import CUSTOMERS, append_json, data_file  # noqa: E402

PEERS = HERE / "peers"
LIFETIMES_PIPELINE = PEERS / "lifetimes_pipeline.py"
LIFETIMES_REQUIREMENTS = PEERS / "requirements-lifetimes.txt"
LIFETIMES_VENV = HERE / "out" / "lifetimes-venv"


def setup_lifetimes(base_python: str) -> Path:
    """Create benchmarks/out/lifetimes-venv with the pinned lifetimes environment; its python."""
    python = LIFETIMES_VENV / "bin" / "python"
    subprocess.run([base_python, "-m", "venv", "--clear", str(LIFETIMES_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(LIFETIMES_REQUIREMENTS)], check=True)
    subprocess.run([str(python), "-c", "import lifetimes"], check=True)
    return python


def lifetimes_python(given: Path | None) -> Path | None:
    """The interpreter for the lifetimes pipeline: the one given, else the venv --setup-lifetimes made."""
    if given is not None:
        return given
    python = LIFETIMES_VENV / "bin" / "python"
    if python.exists():
        return python
    print(
        f"lifetimes is left out: no {python}. Create it with\n"
        "    python benchmarks/bench_vs_lifetimes.py --setup-lifetimes\n"
        f"(a venv with {LIFETIMES_REQUIREMENTS.relative_to(HERE.parent)}) or pass --lifetimes-python.",
        file=sys.stderr,
    )
    return None


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process run to completion."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetimes-python", type=Path, help="python of a venv with lifetimes 0.11.3 installed")
    parser.add_argument(
        "--setup-lifetimes",
        nargs="?",
        const=sys.executable,
        metavar="BASE_PYTHON",
        help="create benchmarks/out/lifetimes-venv from peers/requirements-lifetimes.txt (with BASE_PYTHON, "
        "3.9-3.11; default this one) and exit",
    )
    parser.add_argument("--rows", choices=sorted(CUSTOMERS), action="append")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (the median is compared)")
    parser.add_argument("--json", type=Path, help="append results as JSON lines")
    args = parser.parse_args(argv)
    if args.setup_lifetimes:
        print(f"lifetimes ready: {setup_lifetimes(args.setup_lifetimes)}")
        return
    peer_python = lifetimes_python(args.lifetimes_python)
    crmkit = [sys.executable, "-m", "crmkit", "segment"]
    for rows in args.rows or ["1m", "10m"]:
        commands = {
            f"crmkit_{fmt}": [*crmkit, str(data_file(rows, fmt)), "--format", "json"] for fmt in ("parquet", "csv")
        }
        if peer_python is not None:
            commands["lifetimes_csv"] = [
                str(peer_python),
                str(LIFETIMES_PIPELINE),
                str(data_file(rows, "csv")),
            ]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                wall, peak = timed(command)
                runs[name].append((wall, peak))
                print(f"{rows:>4} {name:15} {wall:7.2f} s  peak {peak:7,.0f} MiB", flush=True)
        result: dict[str, object] = {"rows": rows}
        for name, measured in runs.items():
            walls = [wall for wall, _ in measured]
            result[name] = {
                "seconds": round(statistics.median(walls), 2),
                "runs": [round(w, 2) for w in walls],
                "peak_mib": round(max(peak for _, peak in measured)),
            }
        medians = {name: result[name]["seconds"] for name in runs}
        summary = "  ".join(f"{name} median {seconds:.2f} s" for name, seconds in medians.items())
        print(f"{rows:>4} {summary}", flush=True)
        if "lifetimes_csv" in medians:
            lifetimes = medians["lifetimes_csv"]
            print(
                f"{rows:>4} → crmkit is {lifetimes / medians['crmkit_csv']:.1f}× faster from the same CSV, "
                f"{lifetimes / medians['crmkit_parquet']:.1f}× from Parquet",
                flush=True,
            )
        append_json(args.json, result)


if __name__ == "__main__":
    main()
