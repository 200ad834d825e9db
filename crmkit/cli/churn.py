"""``crmkit churn``: the customers worth saving, by value at risk."""

from __future__ import annotations

from typing import Annotated

import typer

from crmkit.cli.app import app, out_console
from crmkit.cli.inputs import Inputs, score, segment_options, write_frame
from crmkit.cli.params import (
    AsOf,
    Col,
    Config,
    CustomersFile,
    DateOrderOpt,
    DecimalMark,
    Files,
    Format,
    GroupBy,
    HeaderRow,
    IncludeAttributes,
    LangOpt,
    Model,
    Out,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Sheet,
    Strict,
)
from crmkit.ingest.columns import canonical_name
from crmkit.output import terminal
from crmkit.scoring.churn import at_risk
from crmkit.scoring.rollup import rollup


@app.command()
def churn(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option("--top", help="How many customers to list (all are written with --out).")] = 20,
    min_tier: Annotated[
        str | None, typer.Option("--min-tier", help="Only customers in this tier or better: platinum, gold, iron.")
    ] = None,
    group_by: GroupBy = None,
    model: Model = None,
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
    """List the customers worth saving, by value at risk (CLV × churn risk).

    Example: crmkit churn data/samples/sales.xlsx --min-tier gold --top 20
    """
    inputs = Inputs(
        files,
        customers=customers,
        col=col,
        config=config,
        sheet=sheet,
        strict=strict,
        date_order=date_order,
        header_row=header_row,
        decimal=decimal,
        rejects=rejects,
        quiet=quiet or output_format is OutputFormat.json,
        outputs=(out,),
    )
    options = segment_options(inputs, as_of=as_of, model=model)
    result = score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    saving = at_risk(result.customers, min_tier=min_tier)
    language = inputs.lang(lang)
    write_frame(saving, out, inputs, language)
    groups = rollup(result.customers, canonical_name(group_by)) if group_by else None
    if output_format is OutputFormat.json:
        payload = {"churn": result.summary["churn"], "customers": terminal.records(saving.head(top))}
        if groups is not None:
            payload["groups"] = terminal.records(groups)
        terminal.emit_json(payload)
        return
    terminal.render_churn(out_console(), result, saving, lang=language, top=top, groups=groups)
