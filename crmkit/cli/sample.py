"""``crmkit sample``: realistic synthetic exports to try crmkit on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmkit.cli.application import app, err_console
from crmkit.cli.params import Lang
from crmkit.datasets import sample as simulate
from crmkit.errors import OptionError
from crmkit.output import tables


@app.command()
def sample(
    customers: Annotated[int, typer.Option("--customers", help="Number of buying customers to simulate.")] = 2000,
    out: Annotated[Path, typer.Option("--out", help="Transactions file to write (.xlsx, .csv, .parquet).")] = Path(
        "sales.xlsx"
    ),
    customers_out: Annotated[
        Path | None,
        typer.Option(
            "--customers-out", help="Also write the customer master file (with prospects and value components)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")] = 7,
    lang: Annotated[
        Lang, typer.Option("--lang", help="en: English headers; zh: Chinese headers, names and 2024年1月5日 dates.")
    ] = Lang.en,
) -> None:
    """Generate realistic synthetic sales data (buy-till-you-die purchases, gamma-gamma spend, returns).

    Example: crmkit sample --customers 500 --out demo.xlsx --lang zh
    """
    if customers < 1:
        raise OptionError("--customers must be at least 1")
    data = simulate.localise_sample(simulate.simulate_sales(customers, seed=seed), lang.value)
    tables.write_table(data.transactions, out)
    if customers_out is not None:
        tables.write_table(data.customers, customers_out)
    err_console().print(f"wrote {len(data.transactions):,} rows for {customers:,} customers to {out}")
