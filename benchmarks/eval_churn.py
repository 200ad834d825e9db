#!/usr/bin/env python3
"""How well do churn risk and lifecycle stages find customers who have really left?

    python benchmarks/eval_churn.py                       # 20,000 simulated customers
    python benchmarks/eval_churn.py --customers 50000 --seed 3 --json

Simulates sales with a known truth (:func:`crmkit.simulate.simulate_sales`:
MBG/NBD purchases, so a customer is dead once they dropped out after a
purchase), scores them with :func:`crmkit.pipeline.segment` as of the last day
of the simulation — the day the truth refers to — once per purchase model
(mbgnbd, bgnbd, pareto) and once without a model (rhythm-based risk), and reports:

- the AUC of ``churn_risk`` for "truly dead" (days since the last purchase as a
  model-free baseline);
- lifecycle stages against the truth: customers per stage split into alive and
  dead, the share of dead and of alive customers in termination or decline, and
  the precision and recall of "termination" (and of "termination or decline")
  for dead customers;
- calibration: mean churn_risk beside the actual dead share per churn band,
  and the Brier score of churn_risk.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from crmkit.datasets.sample import simulate_sales
from crmkit.pipeline import ScoreOptions, score
from crmkit.schema import CHURN_BANDS, CUSTOMER_ID, STAGES
from crmkit.scoring.backtest import auc

#: Configurations scored: a name and the purchase model (None = no model, rhythm-based risk).
CONFIGURATIONS = (("mbgnbd", "mbgnbd"), ("bgnbd", "bgnbd"), ("pareto", "pareto"), ("no model", None))
LEAVING_STAGES = ("termination", "decline")
#: The simulated period; the truth (alive or dead) refers to its last day, which is therefore the as-of date.
PERIOD = ("2023-01-01", "2024-12-31")


def precision_recall(flagged: np.ndarray, dead: np.ndarray) -> dict:
    """Precision and recall of ``flagged`` as a prediction of ``dead``."""
    hits = int((flagged & dead).sum())
    return {
        "flagged": int(flagged.sum()),
        "precision": hits / flagged.sum() if flagged.any() else None,
        "recall": hits / dead.sum() if dead.any() else None,
    }


def evaluate(table: pd.DataFrame, dead: np.ndarray) -> dict:
    """Discrimination, stage accuracy and calibration of one scored customer table against the truth.

    Stage shares are also split into one-time and repeat buyers: one-time
    buyers have no rhythm of their own and are judged by the population's.
    """
    risk = table["churn_risk"].to_numpy(dtype=np.float64)
    one_time = table["frequency"].to_numpy(dtype=np.float64) == 0
    stage = table["lifecycle_stage"].to_numpy(dtype=object)
    band = table["churn_band"].to_numpy(dtype=object)
    leaving = np.isin(stage, LEAVING_STAGES)
    confusion = [
        {"stage": s, "alive": int(((stage == s) & ~dead).sum()), "dead": int(((stage == s) & dead).sum())}
        for s in STAGES
    ]
    calibration = [
        {
            "band": b,
            "customers": int((band == b).sum()),
            "mean_risk": float(risk[band == b].mean()) if (band == b).any() else None,
            "dead_share": float(dead[band == b].mean()) if (band == b).any() else None,
        }
        for b in CHURN_BANDS
    ]
    return {
        "auc": auc(risk, dead),
        "stages": confusion,
        "dead_in_termination_or_decline": float(leaving[dead].mean()),
        "alive_in_termination_or_decline": float(leaving[~dead].mean()),
        "alive_one_time_in_termination": _share(stage == "termination", ~dead & one_time),
        "alive_repeat_in_termination": _share(stage == "termination", ~dead & ~one_time),
        "dead_one_time_in_termination": _share(stage == "termination", dead & one_time),
        "dead_repeat_in_termination": _share(stage == "termination", dead & ~one_time),
        "termination": precision_recall(stage == "termination", dead),
        "termination_or_decline": precision_recall(leaving, dead),
        "calibration": calibration,
        "mean_risk": float(risk.mean()),
        "brier": float(np.mean((risk - dead) ** 2)),
    }


def _share(flag: np.ndarray, among: np.ndarray) -> float | None:
    return float(flag[among].mean()) if among.any() else None


def run(n_customers: int, seed: int) -> dict:
    """Simulate, score each configuration and evaluate it."""
    started = time.perf_counter()
    sample = simulate_sales(n_customers, seed=seed, start=PERIOD[0], end=PERIOD[1])
    as_of = pd.Timestamp(PERIOD[1])
    truth = sample.truth.set_index(CUSTOMER_ID)
    report: dict = {
        "customers": n_customers,
        "seed": seed,
        "as_of": f"{as_of:%Y-%m-%d}",
        "dead_share": float((~truth["alive"]).mean()),
        "configurations": [],
    }
    baseline = None
    for name, model in CONFIGURATIONS:
        t = time.perf_counter()
        result = score(sample.transactions, options=ScoreOptions(as_of=as_of, model=model))
        table = result.customers
        dead = ~truth["alive"].reindex(table[CUSTOMER_ID].astype("str")).to_numpy(dtype=bool)
        if baseline is None:
            baseline = auc(table["days_since_last"].to_numpy(dtype=np.float64), dead)
        report["configurations"].append({"name": name, "seconds": time.perf_counter() - t, **evaluate(table, dead)})
    report["days_since_last_auc"] = baseline
    report["seconds"] = time.perf_counter() - started
    return report


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def print_report(report: dict) -> None:
    """A compact plain-text summary."""
    configs = report["configurations"]
    names = [c["name"] for c in configs]
    print(
        f"{report['customers']:,} simulated customers (seed {report['seed']}), as of {report['as_of']}: "
        f"{_pct(report['dead_share'])} truly dead; {report['seconds']:.1f} s in all"
    )
    print(f"AUC of days since the last purchase (baseline): {_fmt(report['days_since_last_auc'])}\n")
    rows = [
        ("AUC of churn_risk for dead", [_fmt(c["auc"]) for c in configs]),
        ("Brier score", [_fmt(c["brier"]) for c in configs]),
        ("mean churn_risk", [_fmt(c["mean_risk"]) for c in configs]),
        ("dead in termination/decline", [_pct(c["dead_in_termination_or_decline"]) for c in configs]),
        ("alive in termination/decline", [_pct(c["alive_in_termination_or_decline"]) for c in configs]),
        ("termination, alive one-time buyers", [_pct(c["alive_one_time_in_termination"]) for c in configs]),
        ("termination, alive repeat buyers", [_pct(c["alive_repeat_in_termination"]) for c in configs]),
        ("termination, dead one-time buyers", [_pct(c["dead_one_time_in_termination"]) for c in configs]),
        ("termination, dead repeat buyers", [_pct(c["dead_repeat_in_termination"]) for c in configs]),
        ("termination: precision", [_pct(c["termination"]["precision"]) for c in configs]),
        ("termination: recall", [_pct(c["termination"]["recall"]) for c in configs]),
        ("termination/decline: precision", [_pct(c["termination_or_decline"]["precision"]) for c in configs]),
        ("termination/decline: recall", [_pct(c["termination_or_decline"]["recall"]) for c in configs]),
        ("seconds", [f"{c['seconds']:.1f}" for c in configs]),
    ]
    _table(["measure", *names], [[label, *values] for label, values in rows])

    print("\ncustomers per lifecycle stage, alive / dead (dead share)")
    _table(
        ["stage", *names],
        [
            [stage, *(_stage_cell(next(s for s in c["stages"] if s["stage"] == stage)) for c in configs)]
            for stage in STAGES
        ],
    )

    print("\ncalibration per churn band: customers, mean churn_risk → actual dead share")
    _table(
        ["band", *names],
        [
            [band, *(_band_cell(next(b for b in c["calibration"] if b["band"] == band)) for c in configs)]
            for band in CHURN_BANDS
        ],
    )


def _stage_cell(row: dict) -> str:
    total = row["alive"] + row["dead"]
    return f"{row['alive']:,} / {row['dead']:,} ({_pct(row['dead'] / total if total else None)})"


def _band_cell(row: dict) -> str:
    return f"{row['customers']:,}: {_fmt(row['mean_risk'], 2)} → {_fmt(row['dead_share'], 2)}"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000, help="buying customers to simulate")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON instead of tables")
    args = parser.parse_args()
    report = run(args.customers, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
