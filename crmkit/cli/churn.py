"""``crmkit churn``: the customers worth saving, by value at risk."""

from __future__ import annotations

from typing import Annotated

import typer

from crmkit.cli.application import app, out_console
from crmkit.cli.params import (
    AsOf,
    Col,
    Config,
    CustomersFile,
    DateOrderOpt,
    Files,
    Format,
    GroupBy,
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


@app.command()
def churn(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="How many customers to list (all are written with --out).")
    ] = 20,
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
    quiet: Quiet = False,
) -> None:
    """List the customers worth saving, by value at risk (CLV × churn risk).

    Example: crmkit churn data/samples/sales.xlsx --min-tier gold --top 20
    """
    from crmkit.cli.inputs import Inputs, run_warnings, score, segment_options, write_frame
    from crmkit.ingest.columns import canonical_name
    from crmkit.output import terminal
    from crmkit.scoring.churn import at_risk
    from crmkit.scoring.rollup import rollup

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
        outputs={"--out": out},
    )
    options = segment_options(inputs, as_of=as_of, model=model)
    result = score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    saving = at_risk(result.customers, min_tier=min_tier)
    language = inputs.lang(lang)
    write_frame(saving, out, inputs, language)
    groups = rollup(result.customers, canonical_name(group_by)) if group_by else None
    if output_format is OutputFormat.json:
        terminal.emit_json(
            {
                "data": {**inputs.data_section(), **result.summary["data"]},
                "churn": result.summary["churn"],
                "customers": terminal.records(saving.head(top)),
                "groups": terminal.records(groups) if groups is not None else None,
                "warnings": run_warnings(inputs, result),
            }
        )
        return
    terminal.render_churn(out_console(), result, saving, lang=language, top=top, groups=groups)
