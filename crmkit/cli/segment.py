"""``crmkit segment``: every customer scored, the summary on the terminal, the table to a file.

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
    IncludeAttributes,
    LangOpt,
    Margin,
    MemoryLimit,
    Model,
    Out,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Scheduler,
    Scheme,
    Sheet,
    StorageOption,
    Strict,
    TierBy,
    TierMode,
    TimeUnit,
    Unit,
    Workers,
)
from crmkit.errors import OptionError


# --- commands -------------------------------------------------------------------
@app.command()
def segment(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    time_unit: Unit = TimeUnit.day,
    rfm_scheme: Annotated[
        Scheme | None,
        typer.Option(
            "--rfm-scheme", help="classic (Champions … Lost) or cn8 (重要价值客户 … 一般挽留客户). Default classic."
        ),
    ] = None,
    tier_by: Annotated[
        TierBy | None,
        typer.Option(
            "--tier-by",
            help="Value that ranks customers into tiers: profit (the default when there is a cost or margin column), revenue (the default otherwise), clv.",
        ),
    ] = None,
    tiers: Annotated[
        str | None,
        typer.Option(
            "--tiers", help="Platinum and gold cut-offs in percent, e.g. 5,15 (rank mode) or 50,30 (share mode)."
        ),
    ] = None,
    tier_mode: Annotated[
        TierMode | None,
        typer.Option(
            "--tier-mode", help="rank: top N% of customers (default); share: customers making the top N% of value."
        ),
    ] = None,
    model: Model = None,
    no_model: Annotated[
        bool,
        typer.Option("--no-model", help="Skip the value model (no CLV; churn risk from each customer's own rhythm)."),
    ] = False,
    horizon: Horizon = None,
    margin: Margin = None,
    discount_rate: Discount = None,
    group_by: GroupBy = None,
    workbook: Annotated[
        Path | None,
        typer.Option(
            "--workbook",
            help="Also write the analyst workbook (.xlsx), as --out FILE.xlsx does. With --engine dask it holds the summary, the top --top customers and lists, and the definitions; every customer stays in the --out dataset.",
        ),
    ] = None,
    top: Annotated[
        int,
        typer.Option(
            "--top", min=0, help="Top customers to list on the terminal (and, with --engine dask, in --workbook)."
        ),
    ] = 10,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also print the RFM score thresholds and segment rules.")
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
    """Score every customer (RFM, segment, tier, CLV, lifecycle, churn) and summarise.

    Example: crmkit segment data/samples/sales.xlsx --out tiers.xlsx --lang zh
    """
    from crmkit.cli.inputs import Inputs, engine_settings, score, write_frame
    from crmkit.output import excel, terminal
    from crmkit.pipeline.privacy import Sharing

    if workbook is not None and workbook.suffix.lower() != ".xlsx":
        raise OptionError(f"--workbook {workbook} is not an .xlsx file", hint="e.g. --workbook tiers.xlsx")
    if engine is EngineName.dask and out is not None and out.suffix.lower() == ".xlsx":
        raise OptionError(
            f"with --engine dask, --out is the Parquet dataset (a folder) of every customer, not {out}",
            hint=f"e.g. --out scores/ --workbook {out.name}",
        )
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
        outputs={"--out": out, "--workbook": workbook},
        sharing=Sharing(include_attributes, pseudonymize),
        engine=engine_settings(engine, scheduler, workers, memory_limit, storage_option),
    )
    options = inputs.options(
        as_of=as_of,
        time_unit=time_unit,
        rfm_scheme=rfm_scheme,
        tier_by=tier_by,
        tier_cuts=tiers,
        tier_mode=tier_mode,
        model=model,
        no_model=no_model,
        horizon=horizon,
        margin=margin,
        discount_rate=discount_rate,
        group_by=group_by,
    )
    result = score(inputs, options, out=out, top=top)
    language = inputs.lang(lang)
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            excel.write_workbook(out, result, lang=language, inputs=inputs.paths)
        else:
            write_frame(result.customers, out, inputs, language)
    if workbook is not None:
        excel.write_workbook(workbook, result, lang=language, inputs=inputs.paths)
    if output_format is OutputFormat.json:
        terminal.emit_json(result.summary.to_json())
        return
    console = out_console()
    terminal.render_segment(console, result, lang=language, top=top)
    if explain:
        terminal.render_rfm_explain(console, result, lang=language)
