"""``crmkit lifecycle``: one lifecycle stage per customer, and the rules behind it."""

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
    DecimalMark,
    EngineName,
    EngineOpt,
    Files,
    Format,
    HeaderRow,
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
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
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
    from crmkit.cli.inputs import Inputs, engine_settings, score, write_frame
    from crmkit.output import terminal
    from crmkit.output.labels import explain_rules
    from crmkit.pipeline.privacy import Sharing

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
        quiet=quiet,
        brief=output_format is OutputFormat.json,
        outputs={"--out": out},
        sharing=Sharing(include_attributes, pseudonymize),
        engine=engine_settings(engine, scheduler, workers, memory_limit, storage_option),
    )
    options = inputs.options(as_of=as_of, no_model=no_model)
    result = score(inputs, options, out=out)
    language = inputs.lang(lang)
    write_frame(result.customers, out, inputs, language)
    if output_format is OutputFormat.json:  # machine output stays English
        summary = result.summary.to_json()
        terminal.emit_json(
            {
                "data": summary["data"],
                "lifecycle": summary["lifecycle"],
                "rules": terminal.records(explain_rules(options.lifecycle)),
                "warnings": summary["warnings"],
            }
        )
        return
    rules = explain_rules(options.lifecycle, lang=language) if explain else None
    terminal.render_lifecycle(out_console(), result, rules, lang=language)
