#!/usr/bin/env python3
"""Deterministic generator of synthetic customer transaction logs.

Purchases follow a BG/NBD process (Fader, Hardie & Lee 2005) and spend per
transaction follows the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and
CLV"), so that lifetimes-style models fitted to the output should roughly
recover the generating parameters.

Per customer i:
    lambda_i ~ Gamma(shape=r, rate=alpha)          purchase rate per week
    p_i      ~ Beta(a, b)                          dropout prob. after each repeat purchase
    t0_i     ~ Uniform[0, first_year_days)         first purchase (day offset from --start)
    T_i      = (window_days - t0_i) / 7            weeks observed after first purchase
    K_i      ~ Geometric(p_i), support 1, 2, ...   repeat purchase after which the customer dies
    N_i      ~ Poisson(lambda_i * T_i)             repeat purchases if the customer never died
    x_i      = min(K_i, N_i)                       repeat purchases actually observed
  Given N_i, Poisson arrival times on (0, T_i] are N_i sorted uniforms; the
  first x_i of them are drawn exactly (without materialising the other
  N_i - x_i) with the exponential-spacings construction:
      U_(k) = (E_1 + ... + E_k) / (E_1 + ... + E_x + G),
      E_j ~ Exp(1),  G ~ Gamma(N_i + 1 - x_i, 1).
  Spend (Gamma-Gamma):
    nu_i ~ Gamma(shape=q, rate=gamma);  amount ~ Gamma(shape=p, rate=nu_i)
    (mean spend per transaction = p*gamma/(q-1) = 30.0 with the defaults).

Output columns: customer_id (str, "C0000123"), order_date (date), amount
(float, 2 decimals).  Rows are sorted by simulated purchase time (so by
order_date) like an order export.  One row per transaction; a customer can have
several rows on the same day.

Usage:
    python benchmarks/gen_tx.py --customers N --out FILE.csv|FILE.parquet [--seed 42]

Row counts with the default parameters and seed 42 (~2.99 rows per customer):
    --customers 33700    ->    100,089 rows
    --customers 334000   ->  1,000,839 rows
    --customers 3350000  -> 10,022,671 rows
Needs numpy and pyarrow (both crmkit dependencies).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def simulate(
    n_customers: int,
    seed: int = 42,
    *,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.4,
    p: float = 6.0,
    q: float = 4.0,
    gamma: float = 15.0,
    first_year_days: float = 365.0,
    window_days: float = 730.0,
):
    """Return (cust_idx int64[n_rows], day float64[n_rows], amount float64[n_rows])."""
    rng = np.random.default_rng(seed)
    n = int(n_customers)

    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)  # per week
    pdrop = rng.beta(a, b, size=n)
    pdrop = np.clip(pdrop, 1e-12, 1.0)  # geometric needs p > 0
    t0 = rng.uniform(0.0, first_year_days, size=n)  # day offset of 1st purchase
    T = (window_days - t0) / 7.0  # weeks observed
    K = rng.geometric(pdrop)  # >= 1
    N = rng.poisson(lam * T)
    x = np.minimum(K, N).astype(np.int64)  # repeat purchases observed

    # Gamma-Gamma spend: per-customer nu, per-transaction Gamma(p, rate=nu)
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=n)

    n_rep = int(x.sum())
    n_rows = n + n_rep

    # --- repeat purchase times via exponential spacings -------------------
    rep_cust = np.repeat(np.arange(n, dtype=np.int64), x)
    E = rng.standard_exponential(n_rep)
    starts = np.concatenate(([0], np.cumsum(x)[:-1]))  # first repeat row per customer
    csum0 = np.concatenate(([0.0], np.cumsum(E)))  # csum0[k] = E_1+..+E_k (global)
    within = csum0[1:] - csum0[starts][rep_cust]  # E_1+..+E_k within customer
    total_E = csum0[starts + x] - csum0[starts]  # E_1+..+E_x per customer
    has = x > 0
    G = np.zeros(n)
    G[has] = rng.standard_gamma((N[has] - x[has] + 1).astype(np.float64))
    S = total_E + G
    rep_t = within / S[rep_cust] * T[rep_cust]  # weeks after 1st purchase
    rep_day = t0[rep_cust] + 7.0 * rep_t

    cust = np.concatenate((np.arange(n, dtype=np.int64), rep_cust))
    day = np.concatenate((t0, rep_day))
    amount = rng.gamma(shape=p, scale=1.0, size=n_rows) / nu[cust]
    amount = np.maximum(np.round(amount, 2), 0.01)

    # sort like an order export: by time (day incl. fraction), stable
    order = np.argsort(day, kind="stable")
    return cust[order], day[order], amount[order]


def customer_ids(n: int) -> np.ndarray:
    width = max(7, len(str(n)))
    return np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), width))


def write(out: str, n_customers: int, cust, day, amount, start: str) -> int:
    """Write the rows as Parquet or as CSV (unquoted header and fields), by the extension of ``out``."""
    start_d = np.datetime64(start, "D")
    dates = start_d + np.floor(day).astype("timedelta64[D]")
    ids = customer_ids(n_customers)
    id_arr = pa.array(ids, type=pa.string()).take(pa.array(cust))
    table = pa.table(
        {
            "customer_id": id_arr,
            "order_date": pa.array(dates, type=pa.date32()),
            "amount": pa.array(amount, type=pa.float64()),
        }
    )
    if out.endswith(".parquet"):
        pq.write_table(table, out)
    else:
        with open(out, "wb") as f:  # unquoted header + rows
            f.write((",".join(table.column_names) + "\n").encode())
            pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return table.num_rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, required=True)
    ap.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start", default="2022-01-01", help="first day of the 2-year window")
    args = ap.parse_args(argv)
    if not args.out.endswith((".csv", ".parquet")):
        ap.error("--out must end in .csv or .parquet")

    t = time.perf_counter()
    cust, day, amount = simulate(args.customers, args.seed)
    t_sim = time.perf_counter() - t
    t = time.perf_counter()
    n_rows = write(args.out, args.customers, cust, day, amount, args.start)
    t_write = time.perf_counter() - t
    print(
        f"customers={args.customers} rows={n_rows} rows_per_customer={n_rows / args.customers:.3f} "
        f"simulate_s={t_sim:.2f} write_s={t_write:.2f} out={args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
