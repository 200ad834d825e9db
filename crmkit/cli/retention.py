"""``crmkit retention``: per period, who stayed, who came back and who left; cohorts; what more retention earns.

Like every command module, it imports pandas and the models inside the command, when it runs.
"""

from __future__ import annotations

from pathlib import Path
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
    Discount,
    EngineName,
    EngineOpt,
    Files,
    Format,
    GroupBy,
    HeaderRow,
    Horizon,
    LangOpt,
    Margin,
    MemoryLimit,
    OutputFormat,
    PeriodOpt,
    Quiet,
    Rejects,
    Scheduler,
    Sheet,
    StorageOption,
    Strict,
    Workers,
)


@app.command()
def retention(
    files: Files,
    customers: CustomersFile = None,
    period: PeriodOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the report: .xlsx (periods, cohorts with a colour scale, a retention curve), .json (all of it), .csv or .parquet (the period table).",
        ),
    ] = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    group_by: GroupBy = None,
    what_if: Annotated[
        float | None,
        typer.Option(
            "--what-if",
            metavar="POINTS",
            help="Profit over --horizon from today's customers if retention were this many percentage points higher (default 5).",
        ),
    ] = None,
    horizon: Horizon = None,
    margin: Margin = None,
    discount_rate: Discount = None,
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
    """Per month, quarter or year: active, new, returning, won-back and lost customers; churn, retention and
    repeat-purchase rates; revenue by kind of customer; cohorts; and what more retention would earn.

    Example: crmkit retention data/samples/sales.xlsx --period quarter --what-if 5
    """
    from crmkit.cli.inputs import Inputs, engine_settings, retention_report
    from crmkit.output import excel_retention, tables, terminal

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
        header_row=header_row,
        decimal=decimal,
        engine=engine_settings(engine, scheduler, workers, memory_limit, storage_option),
    )
    options = inputs.options(
        as_of=as_of,
        retention_period=period,
        group_by=group_by,
        what_if=what_if,
        horizon=horizon,
        margin=margin,
        discount_rate=discount_rate,
    )
    report = retention_report(inputs, options)
    language = inputs.lang(lang)
    if out is not None:
        suffix = out.suffix.lower()
        if suffix == ".xlsx":
            excel_retention.write_retention(out, report, lang=language, inputs=inputs.paths)
        elif suffix == ".json":
            tables.write_json(report.to_json(), out, inputs=inputs.paths)
        else:
            tables.write_table(report.table(), out, inputs=inputs.paths, lang=language)
    if output_format is OutputFormat.json:
        terminal.emit_json(report.to_json())
        return
    terminal.render_retention(out_console(), report, lang=language)
