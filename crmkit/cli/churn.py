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
    DecimalMark,
    EngineName,
    EngineOpt,
    Files,
    Format,
    GroupBy,
    HeaderRow,
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
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
    quiet: Quiet = False,
    engine: EngineOpt = EngineName.pandas,
    scheduler: Scheduler = None,
    workers: Workers = None,
    memory_limit: MemoryLimit = None,
    storage_option: StorageOption = None,
) -> None:
    """List the customers worth saving, by value at risk (value if they stay × churn risk), and the key accounts
    being lost.

    Example: crmkit churn data/samples/sales.xlsx --min-tier gold --top 20
    """
    from crmkit.cli.inputs import Inputs, engine_settings, score, write_frame
    from crmkit.output import terminal
    from crmkit.pipeline.privacy import Sharing
    from crmkit.scoring.churn import AT_RISK_COLUMNS, LOST_KEY_ACCOUNT_COLUMNS

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
    options = inputs.options(as_of=as_of, model=model, group_by=group_by, at_risk_min_tier=min_tier)
    result = score(inputs, options, out=out, top=top, written="at_risk")
    saving = result.at_risk[[c for c in AT_RISK_COLUMNS if c in result.at_risk.columns]]
    lost = result.lost_key_accounts[[c for c in LOST_KEY_ACCOUNT_COLUMNS if c in result.lost_key_accounts.columns]]
    language = inputs.lang(lang)
    write_frame(saving, out, inputs, language)
    if output_format is OutputFormat.json:
        summary = result.summary.to_json()
        terminal.emit_json(
            {
                "data": summary["data"],
                "churn": summary["churn"],
                "customers": terminal.records(saving.head(top)),
                "lost_key_accounts": terminal.records(lost.head(top)),
                "groups": summary["groups"],
                "warnings": summary["warnings"],
            }
        )
        return
    terminal.render_churn(out_console(), result, lang=language, top=top)
