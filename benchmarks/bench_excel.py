"""Time the analyst workbook for N customers against the two cell-by-cell writers it was chosen over.

    python benchmarks/bench_excel.py                 # 100k customers, all three writers
    python benchmarks/bench_excel.py --rows 20000 --only crmkit --lang zh

The customers are a real scoring run on the sample generator's sales. Writes to benchmarks/out/
(git-ignored; ``--out-dir`` for another folder). The baselines write only the Customers sheet (values, number
formats, header) cell by cell, the best case for them; crmkit writes the whole workbook.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import openpyxl
import pandas as pd
import xlsxwriter

from crmkit.datasets.sample import simulate_sales
from crmkit.output.excel import write_workbook
from crmkit.output.excel_style import number_format
from crmkit.output.labels import localise_frame
from crmkit.pipeline import ScoreOptions, ScoreResult, Sharing, score

OUT = Path(__file__).parent / "out"


def score_sample(n_customers: int) -> ScoreResult:
    """A real scoring run on the sample generator's sales of ``n_customers`` customers (about 10 lines each),
    the master file's attributes included, as ``crmkit segment --customers … --include-attributes`` makes it."""
    sample = simulate_sales(n_customers)
    options = ScoreOptions(sharing=Sharing(include_attributes=True))
    return score(sample.transactions, customers=sample.customers, options=options)


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
            if pd.isna(value):  # a blank cell
                continue
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
        ws.append([None if pd.isna(v) else v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--only", choices=("crmkit", "xlsxwriter", "openpyxl"))
    parser.add_argument("--out-dir", type=Path, default=OUT, help="where the workbooks go")
    args = parser.parse_args()
    args.out_dir.mkdir(exist_ok=True)
    result = score_sample(args.rows)
    customers = result.customers
    print(f"{len(customers):,} customers × {customers.shape[1]} columns")
    runs = {
        "crmkit": lambda p: write_workbook(p, result, lang=args.lang),
        "xlsxwriter": lambda p: xlsxwriter_cells(customers, p),
        "openpyxl": lambda p: openpyxl_rows(customers, p),
    }
    for name, run in runs.items():
        if args.only and name != args.only:
            continue
        path = args.out_dir / f"{name}_{args.rows}_{args.lang}.xlsx"
        start = time.perf_counter()
        run(path)
        seconds = time.perf_counter() - start
        print(f"{name:>10}: {seconds:6.2f} s  {path.stat().st_size / 1e6:6.1f} MB  {path}")


if __name__ == "__main__":
    main()
