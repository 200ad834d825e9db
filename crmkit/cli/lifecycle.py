"""``crmkit lifecycle``: one lifecycle stage per customer, and the rules behind it."""

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
    IncludeAttributes,
    LangOpt,
    MemoryLimit,
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
from crmkit.output.labels import explain_rules
from crmkit.pipeline.privacy import Sharing


@app.command()
def lifecycle(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the stage rules with the thresholds actually used.")
    ] = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Skip the value model (termination from silence only).")
    ] = False,
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
    """Put every customer in one lifecycle stage: acquisition, growth, maturity, decline, termination.

    Example: crmkit lifecycle data/samples/sales.xlsx --explain --lang zh
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
    options = inputs.options(as_of=as_of, no_model=no_model)
    result = score(inputs, options, out=out)
    language = inputs.lang(lang)
    write_frame(result.customers, out, inputs, language)
    if output_format is OutputFormat.json:  # machine output stays English
        lifecycle = result.summary.to_json()["lifecycle"]
        terminal.emit_json({"lifecycle": lifecycle, "rules": terminal.records(explain_rules(options.lifecycle))})
        return
    rules = explain_rules(options.lifecycle, lang=language) if explain else None
    terminal.render_lifecycle(out_console(), result, rules, lang=language)
