#!/usr/bin/env python3
"""Market-basket mining side by side: crmkit vs mlxtend (fpgrowth + association_rules) vs pyfim (Borgelt's C).

    python benchmarks/bench_basket.py                       # 1M order lines, 200k orders, 5,000 products
    python benchmarks/bench_basket.py --repeat 3 --min-support 0.001 --max-len 0

Every tool starts from the same order lines in memory (read from benchmarks/out/baskets_1m.parquet, made once
by this script) and goes from lines to frequent itemsets to rules, each in its own process so that its peak
memory (ru_maxrss) is its own. Stages: ``prepare`` (lines → what the tool mines: crmkit's sparse basket
matrix, mlxtend's sparse one-hot frame from TransactionEncoder, pyfim's list of baskets), ``itemsets`` and
``rules`` (every rule with confidence ≥ --min-confidence; crmkit and mlxtend split an itemset every way,
pyfim only ever puts one item in the consequent). The itemset counts of the three must agree, or the run
fails. Peers: ``pip install mlxtend pyfim`` (pyfim builds from source: it needs a C compiler).

The data: each order has 1 + Poisson(4) lines; a line is a product drawn by a Zipf-like popularity, and 40%
of orders start with one of 400 bundles of 2-4 products bought together, so itemsets go deeper than pairs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DATA = OUT / "baskets_1m.parquet"
ORDERS, PRODUCTS, CUSTOMERS, BUNDLES = 200_000, 5_000, 50_000, 400
EXTRA_LINES_MEAN = 4.0
BUNDLE_SHARE = 0.4
TOOLS = ("crmkit", "mlxtend", "pyfim")


def make_data(path: Path, seed: int = 15) -> None:
    """~1M order lines of 200k orders over 5,000 products, as canonical columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(PRODUCTS) + 20.0)
    popularity /= popularity.sum()
    n_lines = 1 + rng.poisson(EXTRA_LINES_MEAN, ORDERS)
    order = np.repeat(np.arange(ORDERS), n_lines)
    position = np.arange(order.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    product = rng.choice(PRODUCTS, order.size, p=popularity)
    # Bundles: 2-4 products (drawn by popularity) that an order holds together, filling its first lines.
    bundle_size = rng.integers(2, 5, BUNDLES)
    bundle_items = rng.choice(PRODUCTS, (BUNDLES, 4), p=popularity)
    bundle_weight = 1.0 / (np.arange(BUNDLES) + 5.0)
    has_bundle = rng.random(ORDERS) < BUNDLE_SHARE
    bundle = rng.choice(BUNDLES, ORDERS, p=bundle_weight / bundle_weight.sum())
    in_bundle = has_bundle[order] & (position < bundle_size[bundle[order]])
    product[in_bundle] = bundle_items[bundle[order][in_bundle], position[in_bundle]]
    customer = rng.integers(0, CUSTOMERS, ORDERS)
    day = rng.integers(0, 365, ORDERS)
    frame = pd.DataFrame(
        {
            "order_id": pd.Categorical.from_codes(order, pd.Index([f"SO{i:07d}" for i in range(ORDERS)])),
            "customer_id": pd.Categorical.from_codes(
                customer[order], pd.Index([f"C{i:06d}" for i in range(CUSTOMERS)])
            ),
            "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(day[order], unit="D"),
            "product": pd.Categorical.from_codes(product, pd.Index([f"P{i:05d}" for i in range(PRODUCTS)])),
            "amount": np.round(rng.gamma(2.0, 15.0, order.size) + 1.0, 2),
        }
    )
    OUT.mkdir(exist_ok=True)
    frame.to_parquet(path, index=False)


def order_lists(lines: pd.DataFrame, by: str = "order") -> list[list[str]]:
    """The products of each basket (order, or customer) as a list of lists, the input both peers take (grouped
    with a sort and np.split: pandas' groupby(...).agg(list) takes 25 s here); a product once per basket."""
    import numpy as np

    order = lines[f"{by}_id"].cat.codes.to_numpy()
    rows = np.argsort(order, kind="stable")
    products = lines["product"].astype("str").to_numpy(dtype=object)[rows]
    bounds = np.flatnonzero(np.diff(order[rows])) + 1
    return [list(dict.fromkeys(chunk.tolist())) for chunk in np.split(products, bounds)]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_tool(tool: str, min_support: float, min_confidence: float, max_len: int | None, by: str) -> dict:
    """One tool from order lines to rules, in this process: stage times, counts, and memory."""
    import pandas as pd

    lines = pd.read_parquet(DATA)
    n_orders = lines[f"{by}_id"].nunique()
    min_count = round(min_support * n_orders)
    # Imports are not timed: each tool is measured on its work alone.
    if tool == "crmkit":
        from crmkit.scoring.basket import association_rules, build_baskets, frequent_itemsets
    elif tool == "mlxtend":
        from mlxtend.frequent_patterns import association_rules as mlxtend_rules
        from mlxtend.frequent_patterns import fpgrowth
        from mlxtend.preprocessing import TransactionEncoder
    else:
        import fim
    base = peak_mib()
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        stages[name] = now - started
        started = now

    if tool == "crmkit":
        baskets = build_baskets(lines, basket_by=by)
        mark("prepare")
        itemsets = frequent_itemsets(baskets.matrix, min_count=min_count, max_len=max_len)
        mark("itemsets")
        rules = association_rules(itemsets, baskets.items, min_confidence=min_confidence)
        mark("rules")
        n_itemsets, n_rules = itemsets.total, len(rules)
    elif tool == "mlxtend":
        baskets = order_lists(lines, by)
        encoder = TransactionEncoder()
        onehot = pd.DataFrame.sparse.from_spmatrix(
            encoder.fit(baskets).transform(baskets, sparse=True), columns=encoder.columns_
        )
        mark("prepare")
        found = fpgrowth(onehot, min_support=min_count / len(baskets), max_len=max_len, use_colnames=True)
        mark("itemsets")
        rules = mlxtend_rules(found, num_itemsets=len(baskets), metric="confidence", min_threshold=min_confidence)
        mark("rules")
        n_itemsets, n_rules = len(found), len(rules)
    else:
        baskets = order_lists(lines, by)
        mark("prepare")
        depth = {"zmax": max_len} if max_len else {}
        found = fim.fpgrowth(baskets, target="s", supp=-min_count, report="a", **depth)
        mark("itemsets")
        rules = fim.fpgrowth(
            baskets, target="r", supp=-min_count, conf=100 * min_confidence, zmin=2, report="aclb", mode="o", **depth
        )
        mark("rules")
        n_itemsets, n_rules = len(found), len(rules)
    return {
        "tool": tool,
        "orders": n_orders,
        "lines": len(lines),
        "min_count": min_count,
        "stages": stages,
        "total": sum(stages.values()),
        "itemsets": n_itemsets,
        "rules": n_rules,
        "peak_mib": peak_mib(),
        "after_read_mib": base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-support", type=float, default=0.001)
    parser.add_argument("--min-confidence", type=float, default=0.1)
    parser.add_argument("--max-len", type=int, default=0, help="0: no limit (the default of all three tools)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, interleaved; the median is shown")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--by", choices=("order", "customer"), default="order", help="what a basket is")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    max_len = args.max_len or None
    if args.one:
        print(json.dumps(run_tool(args.one, args.min_support, args.min_confidence, max_len, args.by)))
        return
    if not DATA.exists():
        make_data(DATA)
    runs: dict[str, list[dict]] = {tool: [] for tool in args.tools.split(",")}
    for _ in range(args.repeat):
        for tool in runs:
            command = [
                sys.executable,
                __file__,
                "--one",
                tool,
                "--min-support",
                str(args.min_support),
                "--min-confidence",
                str(args.min_confidence),
                "--max-len",
                str(args.max_len),
                "--by",
                args.by,
            ]
            result = subprocess.run(command, check=True, capture_output=True, text=True)
            runs[tool].append(json.loads(result.stdout.strip().splitlines()[-1]))
    first = next(iter(runs.values()))[0]
    print(
        f"{first['lines']:,} order lines, {first['orders']:,} baskets ({args.by}s), min support "
        f"{args.min_support:g} ({first['min_count']:,} baskets), min confidence {args.min_confidence:g}, max len {max_len or 'none'}; "
        f"median of {args.repeat} interleaved runs (range)"
    )
    print(
        f"{'tool':8} {'prepare':>8} {'itemsets':>9} {'rules':>8} {'total':>18} {'peak MiB':>9} {'mining MiB':>10} "
        f"{'itemsets':>9} {'rules':>9}"
    )
    counts = set()
    for tool, results in runs.items():

        def median(key: str, results: list[dict] = results) -> float:
            return statistics.median(r["stages"][key] for r in results)

        totals = sorted(r["total"] for r in results)
        peak = statistics.median(r["peak_mib"] for r in results)
        mining = statistics.median(r["peak_mib"] - r["after_read_mib"] for r in results)
        last = results[-1]
        counts.add(last["itemsets"])
        print(
            f"{tool:8} {median('prepare'):8.2f} {median('itemsets'):9.2f} {median('rules'):8.2f} "
            f"{statistics.median(totals):6.2f} ({totals[0]:.2f}-{totals[-1]:.2f}) {peak:9.0f} {mining:10.0f} "
            f"{last['itemsets']:9,} {last['rules']:9,}"
        )
    if len(counts) != 1:
        raise SystemExit(f"the tools found different numbers of itemsets: {sorted(counts)}")


if __name__ == "__main__":
    main()
