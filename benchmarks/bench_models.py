#!/usr/bin/env python3
"""Time crmkit's value models stage by stage on millions of simulated customers.

    python benchmarks/bench_models.py                          # 3.35M customers, day resolution
    python benchmarks/bench_models.py --customers 1000000 --json out.jsonl
    python benchmarks/bench_models.py --lifetimes-python benchmarks/out/lifetimes-venv/bin/python  # + lifetimes

Customers come from crmkit's own BG/NBD and Gamma-Gamma simulators with the
parameters of benchmarks/gen_tx.py (per day: r = 0.25, α = 28, a = 0.8,
b = 2.4; spend p = 6, q = 4, v = 15), first purchases spread over the first
year of a two-year window, times in whole days — about 0.9M unique
(x, t_x, T) rows for 3.35M customers. Stages: unique-row compression; the
Gamma-Gamma fit; per model (BG/NBD, MBG/NBD, Pareto/NBD) the fit on the
compressed rows, predictions through the public API (expected purchases in 52
weeks and P(alive) for every customer) and ``crmkit.value.clv`` over 12 months.
Wall time (time.perf_counter) and the running peak RSS (ru_maxrss) after each
stage are printed.

With ``--lifetimes-python`` the same summary is handed to lifetimes 0.11.3
(the venv that `bench_vs_lifetimes.py --setup-lifetimes` makes from
peers/requirements-lifetimes.txt)
in a subprocess, which times its BG/NBD fit, Gamma-Gamma fit, predictions and
CLV, so the two can be compared side by side.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from crmkit.datasets.btyd import simulate_bgnbd, simulate_spend
from crmkit.models import compress, fit_gamma_gamma, fit_transaction_model_on
from crmkit.scoring.value import clv

PURCHASES = {"r": 0.25, "alpha": 28.0, "a": 0.8, "b": 2.4}
SPEND = {"p": 6.0, "q": 4.0, "v": 15.0}
MODELS = ("bgnbd", "mbgnbd", "pareto")

LIFETIMES_SCRIPT = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
warnings.simplefilter("ignore")
data = np.load(sys.argv[1])
s = pd.DataFrame({k: data[k] for k in ("frequency", "recency", "T", "monetary")})
f, r, T, m = s["frequency"], s["recency"], s["T"], s["monetary"]
stages, rss = {}, {}
def mark(name, started):
    stages[name] = time.perf_counter() - started
    rss[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter(); bgf = BetaGeoFitter().fit(f, r, T); mark("fit_bgnbd", t)
t = time.perf_counter(); ret = s[s["frequency"] > 0]; ggf = GammaGammaFitter().fit(ret["frequency"], ret["monetary"])
mark("fit_gg", t)
t = time.perf_counter()
bgf.conditional_expected_number_of_purchases_up_to_time(364, f, r, T); bgf.conditional_probability_alive(f, r, T)
mark("predict_bgnbd", t)
t = time.perf_counter(); ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq="D")
mark("clv_bgnbd", t)
print(json.dumps({"stages_s": stages, "peak_rss_mb": rss, "bgnbd": dict(bgf.params_), "gg": dict(ggf.params_)}))
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """A day-resolution customer summary like gen_tx.py's (T in [365, 730] days)."""
    rng = np.random.default_rng(seed)
    T = np.floor(730.0 - rng.uniform(0.0, 365.0, n))
    sim = simulate_bgnbd(PURCHASES, T, seed=rng)
    monetary = np.round(simulate_spend(SPEND, sim.frequency, seed=rng) * sim.frequency, 2)
    monetary = np.divide(monetary, sim.frequency, out=np.zeros(n), where=sim.frequency > 0)
    return {"frequency": sim.frequency, "recency": np.round(sim.recency), "T": T, "monetary": monetary}


def run(n: int, seed: int) -> dict:
    stages: dict[str, float] = {}
    memory: dict[str, float] = {}

    def mark(name: str, started: float) -> None:
        stages[name] = time.perf_counter() - started
        memory[name] = peak_mb()
        print(f"{name:16s} {stages[name]:8.2f} s   peak RSS {memory[name]:7.0f} MiB", flush=True)

    t = time.perf_counter()
    summary = simulate(n, seed)
    f, r, T, m = (summary[k] for k in ("frequency", "recency", "T", "monetary"))
    mark("simulate", t)
    t = time.perf_counter()
    data = compress(f, r, T)
    mark("compress", t)
    t = time.perf_counter()
    spend = fit_gamma_gamma(f, m)
    mark("fit_gg", t)
    fits = {}
    for name in MODELS:
        t = time.perf_counter()
        model = fit_transaction_model_on(name, data)
        mark(f"fit_{name}", t)
        t = time.perf_counter()
        model.expected_purchases(364.0, f, r, T)
        model.p_alive(f, r, T)
        mark(f"predict_{name}", t)
        t = time.perf_counter()
        value = clv(model, spend, f, r, T, m, horizon=365.25, time_unit_days=1.0, discount_rate=0.10)
        mark(f"clv_{name}", t)
        fits[name] = {
            "params": model.params,
            "converged": model.converged,
            "notes": list(model.notes),
            "mean_clv_12m": float(value.mean()),
        }
    pair_counts = {"x_T_pairs": len(data.x_T_pairs[0]), "x_tx_pairs": len(data.x_tx_pairs[0])}
    return {
        "customers": n,
        "unique_triples": len(data.x),
        "unique_x": len(data.x_values),
        **pair_counts,
        "stages_s": stages,
        "peak_rss_mb": memory,
        "fits": fits,
        "gamma_gamma": {"p": spend.p, "q": spend.q, "v": spend.v, "n_customers": spend.n_customers},
        "summary": summary,
    }


def run_lifetimes(python: str, summary: dict[str, np.ndarray]) -> dict:
    """Time lifetimes on the same summary in a subprocess (its own venv and package versions)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "summary.npz"
        np.savez(path, **summary)
        done = subprocess.run([python, "-c", LIFETIMES_SCRIPT, str(path)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=3_350_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="append one JSON line with the results to this file")
    parser.add_argument("--lifetimes-python", help="a Python with lifetimes 0.11.3 installed, for a side-by-side run")
    args = parser.parse_args(argv)
    result = run(args.customers, args.seed)
    summary = result.pop("summary")
    print(
        f"customers {result['customers']:,}  unique triples {result['unique_triples']:,}  "
        f"unique x {result['unique_x']}  (x, T) pairs {result['x_T_pairs']:,}  "
        f"(x, t_x) pairs {result['x_tx_pairs']:,}"
    )
    for name, fit in result["fits"].items():
        print(f"{name:7s} converged={fit['converged']}  " + "  ".join(f"{k}={v:.4g}" for k, v in fit["params"].items()))
    if args.lifetimes_python:
        print("lifetimes 0.11.3 on the same customers:", flush=True)
        peer = run_lifetimes(args.lifetimes_python, summary)
        for stage, seconds in peer["stages_s"].items():
            ours = result["stages_s"][stage]
            print(
                f"{stage:16s} {seconds:8.2f} s   peak RSS {peer['peak_rss_mb'][stage]:7.0f} MiB   "
                f"crmkit {ours:6.2f} s  ({seconds / ours:5.1f}x)"
            )
        result["lifetimes"] = peer
    if args.json:
        with args.json.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
