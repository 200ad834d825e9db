"""``crmkit value``: the fitted value models and each customer's predicted value."""

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
    HeaderRow,
    Horizon,
    IncludeAttributes,
    LangOpt,
    Margin,
    MemoryLimit,
    Model,
    ModelIn,
    Out,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Scheduler,
    Sheet,
    StorageOption,
    Strict,
    TimeUnit,
    Unit,
    Workers,
)


@app.command()
def value(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    time_unit: Unit = TimeUnit.day,
    model: Model = None,
    horizon: Horizon = None,
    margin: Margin = None,
    discount_rate: Discount = None,
    model_in: ModelIn = None,
    model_out: Annotated[
        Path | None,
        typer.Option("--model-out", help="Write the fitted model (parameters in the chosen time unit) as JSON."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Top customers by CLV to list.")] = 10,
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
    """Fit the purchase and spend models and predict each customer's value (expected purchases, P(alive), CLV).

    Example: crmkit value data/samples/sales.xlsx --time-unit week --horizon 52w --margin 0.3 --model-out model.json
    """
    from crmkit import ingest, pipeline
    from crmkit.cli.inputs import Inputs, engine_settings, score, write_frame
    from crmkit.output import tables, terminal
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
        outputs={"--out": out, "--model-out": model_out},
        sharing=Sharing(include_attributes, pseudonymize),
        engine=engine_settings(engine, scheduler, workers, memory_limit, storage_option),
    )
    fitted = ingest.load_model(model_in) if model_in is not None else None
    options = inputs.options(
        as_of=as_of,
        time_unit=time_unit,
        model=fitted.transactions.name if fitted is not None else model,
        fitted=fitted,
        horizon=horizon,
        margin=margin,
        discount_rate=discount_rate,
        model_required=True,  # the model is this command's purpose
    )
    result = score(inputs, options, out=out, top=top, written="value")
    report = pipeline.value_report(result)
    if model_out is not None and report.model is not None:
        tables.write_json(report.model.to_json(), model_out, inputs=inputs.paths)
    language = inputs.lang(lang)
    write_frame(pipeline.value_columns(result.customers), out, inputs, language)
    if output_format is OutputFormat.json:
        terminal.emit_json(report.to_json())
        return
    terminal.render_value(out_console(), result, report, lang=language, top=top)
