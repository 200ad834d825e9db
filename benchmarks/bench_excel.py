"""Time the analyst workbook for N customers against the two cell-by-cell writers it was chosen over.

    python benchmarks/bench_excel.py                 # 100k customers, all three writers
    python benchmarks/bench_excel.py --rows 20000 --only crmkit --lang zh

Writes to benchmarks/out/ (git-ignored). The baselines write only the Customers
sheet (values, number formats, header) cell by cell, the best case for them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import xlsxwriter

from crmkit.output.excel import write_workbook
from crmkit.output.excel_style import number_format
from crmkit.output.labels import localise_frame
from crmkit.schema import CHURN_BANDS, STAGES

OUT = Path(__file__).parent / "out"
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚")
REGIONS = ["华东", "华北", "华南", "华中", "西南", "西北", "东北"]
CHANNELS = ["门店", "线上商城", "经销商", "电话销售"]
SEGMENTS = [
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
]


def make_customers(n: int, seed: int = 7) -> pd.DataFrame:
    """A realistic per-customer table: attributes, RFM, tiers, CLV, lifecycle and churn (~40 columns)."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2024-12-31")
    first = as_of - pd.to_timedelta(rng.integers(30, 1500, n), unit="D")
    age = (as_of - first).days.to_numpy()
    last = first + pd.to_timedelta((rng.random(n) * age).astype(int), unit="D")
    n_orders = rng.integers(1, 40, n)
    revenue = np.round(rng.lognormal(7.5, 1.3, n), 2)
    revenue[rng.random(n) < 0.01] *= -0.1  # net returns
    order = np.argsort(-revenue, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    tier = np.where(rank <= 0.05 * n, "platinum", np.where(rank <= 0.2 * n, "gold", "iron"))
    churn_risk = rng.beta(2, 3, n)
    clv = np.round(revenue * rng.uniform(0.2, 1.5, n), 2)
    scores = rng.integers(1, 6, (n, 3))
    gap = np.maximum(age / n_orders, 1.0)
    names = pd.Series(rng.choice(SURNAMES, n)) + pd.Series(rng.choice(GIVEN, n)) + pd.Series(rng.choice(GIVEN, n))
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(np.arange(1, n + 1)).map("C{:07d}".format).astype("str"),
            "name": names.astype("str"),
            "region": pd.Series(rng.choice(REGIONS, n), dtype="str"),
            "salesperson": pd.Series(rng.choice(SURNAMES, n), dtype="str") + "经理",
            "channel": pd.Series(rng.choice(CHANNELS, n), dtype="str"),
            "phone": pd.Series(rng.integers(13_000_000_000, 13_999_999_999, n)).astype("str"),
            "email": pd.Series(np.arange(1, n + 1)).map("customer{}@example.com".format).astype("str"),
            "first_purchase": first,
            "last_purchase": last,
            "n_orders": n_orders,
            "frequency": n_orders - 1,
            "recency": (last - first).days.to_numpy() / 1.0,
            "T": age / 1.0,
            "days_since_last": (as_of - last).days.to_numpy(),
            "total_revenue": revenue,
            "total_margin": np.round(revenue * rng.uniform(0.1, 0.4, n), 2),
            "avg_order_value": revenue / n_orders,
            "monetary": revenue / np.maximum(n_orders - 1, 1),
            "r_score": scores[:, 0],
            "f_score": scores[:, 1],
            "m_score": scores[:, 2],
            "rfm_score": pd.Series([f"{a}{b}{c}" for a, b, c in scores], dtype="str"),
            "segment": pd.Series(rng.choice(SEGMENTS, n), dtype="str"),
            "tier": pd.Series(tier, dtype="str"),
            "value_rank": rank,
            "expected_purchases": rng.gamma(2.0, 1.5, n),
            "p_alive": rng.beta(5, 2, n),
            "expected_spend": revenue / n_orders * rng.uniform(0.8, 1.2, n),
            "clv": clv,
            "historic_value": revenue,
            "lifecycle_stage": pd.Series(rng.choice(STAGES, n, p=[0.15, 0.25, 0.3, 0.2, 0.1]), dtype="str"),
            "churn_risk": churn_risk,
            "churn_band": pd.Series(np.array(CHURN_BANDS)[np.digitize(churn_risk, [0.3, 0.6])], dtype="str"),
            "expected_next_purchase": last + pd.to_timedelta(gap.astype(int), unit="D"),
            "usual_gap_days": gap,
            "days_overdue": np.maximum((as_of - last).days.to_numpy() - gap, 0).astype(np.int64),
            "value_at_risk": np.round(clv * churn_risk, 2),
        }
    )
    return frame


def make_summary(customers: pd.DataFrame) -> dict:
    """The summary dict the CLI builds, computed from ``customers``."""
    revenue = customers["total_revenue"].clip(lower=0).to_numpy()
    ordered = np.sort(revenue)[::-1]
    cumulative = np.concatenate(([0.0], np.cumsum(ordered) / ordered.sum()))
    shares = np.linspace(0, 1, 101)
    curve = np.interp(shares * len(ordered), np.arange(len(ordered) + 1), cumulative)
    for_80 = int(np.searchsorted(cumulative[1:], 0.8) + 1)
    total = customers["total_revenue"].sum()
    tiers = []
    for tier in ("platinum", "gold", "iron"):
        members = customers.loc[customers["tier"] == tier, "total_revenue"]
        tiers.append(
            {
                "tier": tier,
                "customers": len(members),
                "customer_share": len(members) / len(customers),
                "revenue": float(members.sum()),
                "revenue_share": float(members.sum() / total),
                "average_value": float(members.mean()),
            }
        )

    def count_by(column: str, key: str, order: tuple[str, ...]) -> list[dict]:
        grouped = customers.groupby(column)["total_revenue"].agg(["size", "sum"])
        return [
            {key: name, "customers": int(grouped.at[name, "size"]), "revenue": float(grouped.at[name, "sum"])}
            for name in order
            if name in grouped.index
        ]

    return {
        "data": {
            "rows_read": len(customers) * 12,
            "rows_used": len(customers) * 12 - 37,
            "rows_dropped": 37,
            "customers": len(customers),
            "first_date": "2020-11-22",
            "last_date": "2024-12-31",
            "as_of": "2024-12-31",
        },
        "tiers": tiers,
        "pareto": {
            "top20_revenue_share": float(cumulative[int(np.ceil(0.2 * len(ordered)))]),
            "customers_for_80pct": for_80,
            "customers_for_80pct_share": for_80 / len(ordered),
            "gini": 0.61,
            "curve": [{"customer_share": float(c), "value_share": float(v)} for c, v in zip(shares, curve)],
        },
        "segments": count_by("segment", "segment", tuple(SEGMENTS)),
        "lifecycle": count_by("lifecycle_stage", "stage", STAGES),
        "churn": [
            {
                "band": band,
                "customers": int((customers["churn_band"] == band).sum()),
                "value_at_risk": float(customers.loc[customers["churn_band"] == band, "value_at_risk"].sum()),
            }
            for band in CHURN_BANDS
        ],
        "model": {
            "model": "bgnbd",
            "time_unit": "week",
            "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
            "log_likelihood": -9582.43,
            "n_customers": len(customers),
            "converged": True,
            "warnings": [],
            "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.45},
        },
        "warnings": ["37 rows had an unreadable order date and were left out (see the Data quality sheet)."],
    }


def make_data_quality() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": [
                "rows read",
                "rows used",
                "dropped: unparseable date",
                "dropped: missing amount",
                "file: sales_2024.xlsx",
            ],
            "value": ["1200000", "1199963", "25", "12", "1,200,000 rows, xlsx"],
        }
    )


def xlsxwriter_cells(customers: pd.DataFrame, path: Path) -> None:
    """Baseline: the Customers sheet with xlsxwriter, one write_* call per cell (constant_memory)."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet("Customers")
    shown = localise_frame(customers, "en")
    formats = [
        book.add_format({"num_format": f}) if (f := number_format(c, customers[c])) else None for c in customers.columns
    ]
    for col, header in enumerate(shown.columns):
        ws.write_string(0, col, header)
    columns = [shown[c].tolist() for c in shown.columns]
    kinds = [
        ("d" if pd.api.types.is_datetime64_any_dtype(t) else "n" if pd.api.types.is_numeric_dtype(t) else "s")
        for t in shown.dtypes
    ]
    for row in range(len(shown)):
        for col, (values, kind, fmt) in enumerate(zip(columns, kinds, formats)):
            value = values[row]
            if kind == "s":
                ws.write_string(row + 1, col, value, fmt)
            elif kind == "d":
                ws.write_datetime(row + 1, col, value.to_pydatetime(), fmt)
            else:
                ws.write_number(row + 1, col, value, fmt)
    book.close()


def openpyxl_rows(customers: pd.DataFrame, path: Path) -> None:
    """Baseline: the Customers sheet with openpyxl's write-only mode, one row at a time."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("Customers")
    shown = localise_frame(customers, "en")
    ws.append(list(shown.columns))
    for row in shown.itertuples(index=False):
        ws.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--only", choices=("crmkit", "xlsxwriter", "openpyxl"))
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    customers = make_customers(args.rows)
    summary = make_summary(customers)
    print(f"{len(customers):,} customers × {customers.shape[1]} columns")
    runs = {
        "crmkit": lambda p: write_workbook(
            p, customers=customers, summary=summary, data_quality=make_data_quality(), lang=args.lang
        ),
        "xlsxwriter": lambda p: xlsxwriter_cells(customers, p),
        "openpyxl": lambda p: openpyxl_rows(customers, p),
    }
    for name, run in runs.items():
        if args.only and name != args.only:
            continue
        path = OUT / f"{name}_{args.rows}_{args.lang}.xlsx"
        start = time.perf_counter()
        run(path)
        seconds = time.perf_counter() - start
        print(f"{name:>10}: {seconds:6.2f} s  {path.stat().st_size / 1e6:6.1f} MB  {path}")


if __name__ == "__main__":
    main()
