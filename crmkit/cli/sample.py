"""``crmkit sample``: realistic synthetic exports to try crmkit on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from crmkit.cli.application import app, err_console
from crmkit.cli.params import Lang
from crmkit.errors import OptionError, OutputError


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
    force: Annotated[bool, typer.Option("--force", help="Replace --out and --customers-out if they exist.")] = False,
) -> None:
    """Generate realistic synthetic sales data (buy-till-you-die purchases, gamma-gamma spend, returns).

    Example: crmkit sample --customers 500 --out demo.xlsx --lang zh
    """
    if customers < 1:
        raise OptionError(f"--customers must be at least 1, got {customers}")
    targets = [out, *([customers_out] if customers_out is not None else [])]
    if customers_out is not None and out.absolute() == customers_out.absolute():
        raise OptionError(f"--out and --customers-out are the same file ({out})", hint="give two different names")
    for target in targets:  # checked before minutes of simulating, not after
        if os.path.lexists(target) and not force:
            raise OutputError(
                f"{target} already exists; crmkit sample does not replace files unless asked",
                hint="choose another --out / --customers-out, or add --force to replace it",
            )
    from crmkit.datasets import sample as simulate

    data = simulate.localise_sample(simulate.simulate_sales(customers, seed=seed), lang.value)
    _write_data(data.transactions, out)
    if customers_out is not None:
        _write_data(data.customers, customers_out)
    err_console().print(Text(f"wrote {len(data.transactions):,} rows for {customers:,} customers to {out}"))


def _write_data(frame, path: Path) -> None:
    """Sample data is an export to read: its workbook says it holds data, so folder scans do not skip it."""
    from crmkit.output import excel, tables
    from crmkit.schema import HOLDS_DATA

    if path.suffix.lower() == ".xlsx":
        excel.write_sheet(path, frame, holds=HOLDS_DATA)
    else:
        tables.write_table(frame, path)
