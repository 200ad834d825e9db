#!/usr/bin/env python3
"""The standard `lifetimes` (0.11.3) CLV pipeline, timed stage by stage.

    python benchmarks/peers/lifetimes_pipeline.py tx_1m.csv [--json results.jsonl] [--label 1m]

Stages (as a lifetimes user would write them, following its docs/tutorial):
  read_csv      pd.read_csv(path, parse_dates=["order_date"])
  summary       summary_data_from_transaction_data(freq="D", monetary_value_col="amount",
                observation_period_end=max(order_date))
  fit_bgnbd     BetaGeoFitter(penalizer_coef=0.0).fit(frequency, recency, T)
  fit_gg        GammaGammaFitter(penalizer_coef=0.0).fit(...) on customers with frequency > 0
  pred_purch    bgf.conditional_expected_number_of_purchases_up_to_time(364, f, r, T)  (52 weeks in days)
  p_alive       bgf.conditional_probability_alive(f, r, T)
  clv           ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq="D")
Wall-clock seconds per stage (time.perf_counter) and the running peak RSS of the
process (resource.getrusage ru_maxrss) after each stage are printed; with --json a
single JSON line with everything is appended to the given file.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
import warnings

T_IMPORT0 = time.perf_counter()
import lifetimes  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

T_IMPORT = time.perf_counter() - T_IMPORT0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--json", help="append one JSON result line to this file")
    ap.add_argument("--label", default="")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    stages: dict[str, float] = {}
    rss: dict[str, float] = {"after_import": peak_rss_mb()}
    extra: dict[str, object] = {}

    def stage(name):
        class _S:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                stages[name] = time.perf_counter() - self.t
                rss[name] = peak_rss_mb()
                print(f"{name:12s} {stages[name]:9.3f} s   peak RSS {rss[name]:8.0f} MiB", flush=True)

        return _S()

    t_all = time.perf_counter()
    with stage("read_csv"):
        tx = pd.read_csv(args.csv, parse_dates=["order_date"])
    extra["rows"] = len(tx)

    with stage("summary"):
        summary = summary_data_from_transaction_data(
            tx,
            "customer_id",
            "order_date",
            monetary_value_col="amount",
            observation_period_end=tx["order_date"].max(),
            freq="D",
        )
    extra["customers"] = len(summary)

    with stage("fit_bgnbd"):
        bgf = BetaGeoFitter(penalizer_coef=0.0)
        bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    extra["bgnbd_params"] = {k: float(v) for k, v in bgf.params_.items()}

    with stage("fit_gg"):
        returning = summary[summary["frequency"] > 0]
        ggf = GammaGammaFitter(penalizer_coef=0.0)
        ggf.fit(returning["frequency"], returning["monetary_value"])
    extra["gg_params"] = {k: float(v) for k, v in ggf.params_.items()}
    extra["repeat_customers"] = len(returning)

    f, r, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"]
    with stage("pred_purch"):
        summary["pred_purchases_52w"] = bgf.conditional_expected_number_of_purchases_up_to_time(364, f, r, T)

    with stage("p_alive"):
        summary["p_alive"] = bgf.conditional_probability_alive(f, r, T)

    with stage("clv"):
        summary["clv_12m"] = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq="D")
    total = time.perf_counter() - t_all
    print(f"{'total':12s} {total:9.3f} s   peak RSS {peak_rss_mb():8.0f} MiB")
    print(f"rows={extra['rows']} customers={extra['customers']} repeat={extra['repeat_customers']}")
    print("BG/NBD params (days):", {k: round(v, 4) for k, v in extra["bgnbd_params"].items()})
    print("Gamma-Gamma params:", {k: round(v, 4) for k, v in extra["gg_params"].items()})
    print(
        f"sanity: mean pred_purchases_52w={summary['pred_purchases_52w'].mean():.4f} "
        f"mean p_alive={summary['p_alive'].mean():.4f} mean clv_12m={summary['clv_12m'].mean():.2f}"
    )

    if args.json:
        rec = {
            "bench": "lifetimes_pipeline",
            "label": args.label,
            "file": args.csv,
            "python": platform.python_version(),
            "lifetimes": lifetimes.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "import_s": T_IMPORT,
            "stages_s": stages,
            "total_s": total,
            "peak_rss_mb": rss,
            **extra,
            "sanity": {
                "mean_pred_purchases_52w": float(summary["pred_purchases_52w"].mean()),
                "mean_p_alive": float(summary["p_alive"].mean()),
                "mean_clv_12m": float(summary["clv_12m"].mean()),
            },
        }
        with open(args.json, "a") as fh:
            fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    sys.exit(main())
