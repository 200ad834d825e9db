"""``crmkit basket``: what sells together, what to offer each customer next, and who could spend more.

Like every command module, it imports pandas and the models inside the command, when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmkit.cli.application import app, out_console
from crmkit.cli.params import (
    AsOf,
    BasketBy,
    Col,
    Config,
    CustomersFile,
    DateOrderOpt,
    DecimalMark,
    Files,
    Format,
    HeaderRow,
    IncludeAttributes,
    ItemLevel,
    LangOpt,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Sheet,
    Strict,
)
from crmkit.errors import OptionError


@app.command()
def basket(
    files: Files,
    by: Annotated[
        BasketBy | None,
        typer.Option(
            "--by",
            help="What a basket is: order (default; the order id, else a customer's purchase day) or customer (everything a customer bought).",
        ),
    ] = None,
    level: Annotated[
        ItemLevel | None,
        typer.Option("--level", help="Items: product (default) or category (needs a category column, 品类/类别)."),
    ] = None,
    min_support: Annotated[
        float | None,
        typer.Option(
            "--min-support",
            help="Share of baskets an itemset must lie in, e.g. 0.01 (default) = 1%. Too low a value is refused with the itemset count it would give.",
        ),
    ] = None,
    min_confidence: Annotated[
        float | None, typer.Option("--min-confidence", help="Keep rules with at least this confidence (default 0.1).")
    ] = None,
    min_lift: Annotated[
        float | None, typer.Option("--min-lift", help="Keep rules with at least this lift (default 1).")
    ] = None,
    max_len: Annotated[
        int | None, typer.Option("--max-len", help="Most items in an itemset, both sides of a rule (default 3).")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Rules and customers to list (all are written with --out).")] = 10,
    offers: Annotated[
        int | None, typer.Option("--offers", help="Next-best items per customer in the cross-sell list (default 3).")
    ] = None,
    min_tier: Annotated[
        str | None,
        typer.Option(
            "--min-tier", help="Keep the cross-sell and up-sell lists to this tier and better: platinum, gold, iron."
        ),
    ] = None,
    customers: CustomersFile = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the rules: .csv, .parquet, .json, or .xlsx (a workbook: Rules, Cross-sell, Up-sell, Itemsets).",
        ),
    ] = None,
    customers_out: Annotated[
        Path | None,
        typer.Option(
            "--customers-out",
            help="Write the cross-sell list: each customer's breadth and next-best offers with the rule behind each (.xlsx, .csv, .parquet, .json).",
        ),
    ] = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    include_attributes: IncludeAttributes = False,
    pseudonymize: Pseudonymize = None,
    col: Col = None,
    config: Config = None,
    sheet: Sheet = None,
    strict: Strict = False,
    rejects: Rejects = None,
    date_order: DateOrderOpt = None,
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
    quiet: Quiet = False,
) -> None:
    """Market baskets: what sells together (support, confidence, lift, leverage, conviction), each customer's
    next-best offers, and the customers whose orders are well below their tier's.

    Example: crmkit basket data/samples/sales.xlsx --min-tier gold --customers-out calls.xlsx
    """
    from crmkit import pipeline
    from crmkit.cli.inputs import Inputs, progress
    from crmkit.output import excel, tables, terminal
    from crmkit.pipeline.privacy import Sharing

    if top < 0:
        raise OptionError(f"--top must be 0 or more, got {top}")
    inputs = Inputs(
        files,
        customers=customers,
        col=col,
        config=config,
        sheet=sheet,
        strict=strict,
        date_order=date_order,
        rejects=rejects,
        quiet=quiet,
        brief=output_format is OutputFormat.json,
        outputs={"--out": out, "--customers-out": customers_out},
        header_row=header_row,
        decimal=decimal,
        sharing=Sharing(include_attributes, pseudonymize),
    )
    options = inputs.options(
        as_of=as_of,
        basket_by=by,
        item_level=level,
        min_support=min_support,
        min_confidence=min_confidence,
        min_lift=min_lift,
        max_len=max_len,
        offers=offers,
        min_tier=min_tier,
    )
    with progress("Mining baskets (itemsets, rules, offers) …", inputs.quiet):
        result = pipeline.market_baskets(inputs.tx, customers=inputs.customers, options=options)
    found = result.basket
    assert found is not None  # market_baskets requires the baskets
    language = inputs.lang(lang)
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            sheets = {"rules": found.rules, "cross_sell": found.cross_sell, "upsell": found.upsell}
            excel.write_sheets(out, {**sheets, "itemsets": found.itemsets}, lang=language, inputs=inputs.paths)
        else:
            tables.write_table(found.rules, out, inputs=inputs.paths, lang=language)
    if customers_out is not None:
        tables.write_table(found.cross_sell, customers_out, inputs=inputs.paths, lang=language)
    if output_format is OutputFormat.json:
        terminal.emit_json(found.to_json(top))
        return
    terminal.render_basket(out_console(), found, lang=language, top=top)
    for warning in result.summary.warnings:
        out_console().print(f"Note: {warning}", markup=False, highlight=False)
