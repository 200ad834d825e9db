"""Regenerate the shipped sample files: python data/samples/make_samples.py

sales.xlsx      English export of 2,000 simulated customers (seed 7) with a few deliberate flaws
sales_zh.xlsx   Chinese export of 2,000 other simulated customers (seed 8): Chinese headers, names, 2024年1月5日 dates
customers.csv   customer master of sales.xlsx, prospects included, with the delivered value components
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from crmkit.datasets.sample import localise_sample, simulate_sales
from crmkit.output.excel import write_sheet
from crmkit.output.tables import write_table
from crmkit.schema import HOLDS_DATA

HERE = Path(__file__).resolve().parent
CUSTOMERS = 2000
#: Share of order lines exported twice (an exact repeat right after the original line).
DUPLICATE_SHARE = 0.01
EMPTY_IDS = 2
FLAW_SEED = 2024
#: Text over typed cells: a date nobody filled in and an amount typed with currency and separators.
BAD_DATE = "n/a"
TEXT_AMOUNT = "¥1,234.50"
TEXT_AMOUNT_VALUE = 1234.50


def with_flaws(tx: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[int, str], str]]:
    """English transactions with ~1% duplicated lines and two empty customer ids, plus text for typed cells.

    Returns the frame and ``{(row position, header): text}``: cells to overwrite
    with text once the typed table is written (a typed column cannot hold them).
    """
    rng = np.random.default_rng(FLAW_SEED)
    repeated = rng.choice(len(tx), round(DUPLICATE_SHARE * len(tx)), replace=False)
    flawed = tx.iloc[np.sort(np.concatenate([np.arange(len(tx)), repeated]))].reset_index(drop=True)
    duplicate = flawed.duplicated(keep=False).to_numpy()
    sale = (flawed["Amount"] > 0).to_numpy()
    empty_ids = rng.choice(np.flatnonzero(~duplicate), EMPTY_IDS, replace=False)
    candidates = np.flatnonzero(~duplicate & sale)
    bad_date = rng.choice(candidates)
    # The amount written as text is the line closest to it, moved onto it (cost in proportion).
    text_amount = candidates[np.argmin(np.abs(flawed["Amount"].to_numpy()[candidates] - TEXT_AMOUNT_VALUE))]
    ratio = TEXT_AMOUNT_VALUE / flawed.at[text_amount, "Amount"]
    flawed.loc[empty_ids, "Customer ID"] = None
    flawed.loc[text_amount, ["Amount", "Cost"]] = [TEXT_AMOUNT_VALUE, round(flawed.at[text_amount, "Cost"] * ratio, 2)]
    return flawed, {(int(bad_date), "Order Date"): BAD_DATE, (int(text_amount), "Amount"): TEXT_AMOUNT}


def write_text_cells(path: Path, cells: dict[tuple[int, str], str]) -> None:
    """Overwrite cells of the first sheet (0-based data row, header) with text in the General format."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    for (row, header), text in cells.items():
        cell = sheet.cell(row=row + 2, column=headers.index(header) + 1)
        cell.value = text
        cell.number_format = "General"
    book.save(path)


def main() -> None:
    sample = simulate_sales(CUSTOMERS, seed=7)
    write_table(sample.customers, HERE / "customers.csv")
    flawed, text_cells = with_flaws(localise_sample(sample, "en").transactions)
    write_sheet(HERE / "sales.xlsx", flawed, holds=HOLDS_DATA)  # exports to read, not results
    write_text_cells(HERE / "sales.xlsx", text_cells)
    chinese = localise_sample(simulate_sales(CUSTOMERS, seed=8), "zh")
    write_sheet(HERE / "sales_zh.xlsx", chinese.transactions, holds=HOLDS_DATA)


if __name__ == "__main__":
    main()
