#!/usr/bin/env python3
"""How well do churn risk and lifecycle stages find customers who have really left?

    python benchmarks/eval_churn.py                       # 20,000 simulated customers, seeds 7 and 8
    python benchmarks/eval_churn.py --customers 50000 --seeds 3 --json
    python benchmarks/eval_churn.py --cdnow CDNOW_master.txt   # also the real CDNOW panel


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
  and the Brier score of churn_risk;
- the precision and recall of "termination" separately for one-time buyers
  (no repeat purchase yet) and repeat buyers, each within its own group.

``--cdnow FILE`` adds the CDNOW panel (23,570 customers who first bought in
early 1997; ``CDNOW_master.txt`` as shipped in the lifetimes package, whitespace
separated: id, yyyymmdd date, CDs, dollars). It is scored as of 1997-09-30 and
the truth is observable, not latent: "gone" = no purchase in the next 39 weeks.
The file is read from the given path and never stored with crmkit.
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
#: CDNOW: scored as of the calibration end, "gone" = no purchase in the holdout that follows.
CDNOW_AS_OF = pd.Timestamp("1997-09-30")
CDNOW_HOLDOUT = pd.Timedelta(weeks=39)


def precision_recall(flagged: np.ndarray, dead: np.ndarray, among: np.ndarray | None = None) -> dict:
    """Precision and recall of ``flagged`` as a prediction of ``dead``, among the ``among`` customers (all)."""
    if among is not None:
        flagged, dead = flagged[among], dead[among]
    hits = int((flagged & dead).sum())
    return {
        "flagged": int(flagged.sum()),
        "base_rate": float(dead.mean()) if len(dead) else None,
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
        "termination_one_time": precision_recall(stage == "termination", dead, one_time),
        "termination_repeat": precision_recall(stage == "termination", dead, ~one_time),
        "termination_or_decline": precision_recall(leaving, dead),
        "calibration": calibration,
        "mean_risk": float(risk.mean()),
        "brier": float(np.mean((risk - dead) ** 2)),
    }


def _share(flag: np.ndarray, among: np.ndarray) -> float | None:
    return float(flag[among].mean()) if among.any() else None


def run(n_customers: int, seed: int) -> dict:
    """Simulate, score each configuration and evaluate it against the simulated truth."""
    sample = simulate_sales(n_customers, seed=seed, start=PERIOD[0], end=PERIOD[1])
    alive = sample.truth.set_index(CUSTOMER_ID)["alive"]
    title = f"{n_customers:,} simulated customers (seed {seed})"
    return _evaluate_all(sample.transactions, pd.Timestamp(PERIOD[1]), ~alive, title, "truly dead")


def read_cdnow(path: str) -> pd.DataFrame:
    """CDNOW_master.txt as canonical transactions (customer_id, order_date, amount)."""
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "date", "cds", "dollars"],
        dtype={"customer_id": "str", "date": "str"},
        comment=None,
    )
    raw = raw.loc[raw["date"].str.fullmatch(r"\d{8}")]  # the lifetimes copy has a header line
    return pd.DataFrame(
        {
            CUSTOMER_ID: raw["customer_id"].to_numpy(),
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").to_numpy(),
            "amount": raw["dollars"].astype("float64").to_numpy(),
        }
    )


def run_cdnow(path: str) -> dict:
    """Score CDNOW as of 1997-09-30 and evaluate against "no purchase in the next 39 weeks"."""
    tx = read_cdnow(path)
    dates = tx["order_date"]
    holdout = (dates > CDNOW_AS_OF) & (dates <= CDNOW_AS_OF + CDNOW_HOLDOUT) & (tx["amount"] >= 0)
    ids = pd.Index(tx.loc[dates <= CDNOW_AS_OF, CUSTOMER_ID].unique())
    gone = pd.Series(~ids.isin(tx.loc[holdout, CUSTOMER_ID].unique()), index=ids)
    title = f"CDNOW, {len(ids):,} customers"
    return _evaluate_all(tx, CDNOW_AS_OF, gone, title, "no purchase in the next 39 weeks")


def _evaluate_all(tx: pd.DataFrame, as_of: pd.Timestamp, dead_by_id: pd.Series, title: str, truth: str) -> dict:
    """Score ``tx`` once per configuration as of ``as_of`` and evaluate each against ``dead_by_id``."""
    started = time.perf_counter()
    report: dict = {
        "title": title,
        "truth": truth,
        "as_of": f"{as_of:%Y-%m-%d}",
        "dead_share": float(dead_by_id.mean()),
        "configurations": [],
    }
    baseline = None
    for name, model in CONFIGURATIONS:
        t = time.perf_counter()
        table = score(tx, options=ScoreOptions(as_of=as_of, model=model)).customers
        dead = dead_by_id.reindex(table[CUSTOMER_ID].astype("str")).to_numpy(dtype=bool)
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
        f"{report['title']}, as of {report['as_of']}: {_pct(report['dead_share'])} {report['truth']}; "
        f"{report['seconds']:.1f} s in all"
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
        ("termination, one-time: precision", [_pct(c["termination_one_time"]["precision"]) for c in configs]),
        ("termination, one-time: recall", [_pct(c["termination_one_time"]["recall"]) for c in configs]),
        ("termination, repeat: precision", [_pct(c["termination_repeat"]["precision"]) for c in configs]),
        ("termination, repeat: recall", [_pct(c["termination_repeat"]["recall"]) for c in configs]),
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
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8], help="simulation seeds, one run each")
    parser.add_argument("--cdnow", metavar="FILE", help="CDNOW_master.txt (from the lifetimes package) to add")
    parser.add_argument("--json", action="store_true", help="print the full reports as JSON instead of tables")
    args = parser.parse_args()
    reports = [run(args.customers, seed) for seed in args.seeds]
    if args.cdnow:
        reports.append(run_cdnow(args.cdnow))
    if args.json:
        print(json.dumps(reports, indent=2))
        return
    for i, report in enumerate(reports):
        if i:
            print("\n")
        print_report(report)


if __name__ == "__main__":
    main()
