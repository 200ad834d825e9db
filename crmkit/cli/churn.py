"""``crmkit churn``: the customers worth saving, by value at risk."""

from __future__ import annotations

from typing import Annotated

import typer

from crmkit.cli.app import app, out_console
from crmkit.cli.inputs import Inputs, engine_settings, score, write_frame
from crmkit.cli.params import (
    AsOf,
    Col,
    Config,
    CustomersFile,
    DateOrderOpt,
    EngineName,
    EngineOpt,
    Files,
    Format,
    GroupBy,
    IncludeAttributes,
    LangOpt,
    MemoryLimit,
    Model,
    Out,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Scheduler,
    Sheet,
    StorageOption,
    Strict,
    Workers,
)
from crmkit.output import terminal
from crmkit.pipeline.privacy import Sharing
from crmkit.scoring.churn import AT_RISK_COLUMNS


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
    quiet: Quiet = False,
    engine: EngineOpt = EngineName.pandas,
    scheduler: Scheduler = None,
    workers: Workers = None,
    memory_limit: MemoryLimit = None,
    storage_option: StorageOption = None,
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
        rejects=rejects,
        quiet=quiet or output_format is OutputFormat.json,
        outputs=(out,),
        sharing=Sharing(include_attributes, pseudonymize),
        engine=engine_settings(engine, scheduler, workers, memory_limit, storage_option),
    )
    options = inputs.options(as_of=as_of, model=model, group_by=group_by, at_risk_min_tier=min_tier)
    result = score(inputs, options, out=out, top=top)
    saving = result.at_risk[[c for c in AT_RISK_COLUMNS if c in result.at_risk.columns]]
    language = inputs.lang(lang)
    write_frame(saving, out, inputs, language)
    if output_format is OutputFormat.json:
        summary = result.summary.to_json()
        payload = {"churn": summary["churn"], "customers": terminal.records(saving.head(top))}
        if "groups" in summary:
            payload["groups"] = summary["groups"]
        terminal.emit_json(payload)
        return
    terminal.render_churn(out_console(), result, lang=language, top=top)
