"""``crmkit backtest``: fit on a calibration period, predict the holdout, compare."""

from __future__ import annotations

from typing import Annotated

import typer

from crmkit.cli.application import app, out_console
from crmkit.cli.params import (
    Col,
    Config,
    DateOrderOpt,
    DecimalMark,
    Files,
    Format,
    HeaderRow,
    LangOpt,
    OutputFormat,
    Quiet,
    Sheet,
    Strict,
    TimeUnit,
    Unit,
)


@app.command()
def backtest(
    files: Files,
    calibration_end: Annotated[
        str, typer.Option("--calibration-end", help="Last day of the calibration (fitting) period.", show_default=False)
    ],
    holdout_end: Annotated[
        str | None,
        typer.Option("--holdout-end", help="Last day of the holdout period (default: the last transaction date)."),
    ] = None,
    model: Annotated[str, typer.Option("--model", help="mbgnbd, bgnbd, pareto, or all (side by side).")] = "all",
    time_unit: Unit = TimeUnit.week,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    col: Col = None,
    config: Config = None,
    sheet: Sheet = None,
    strict: Strict = False,
    date_order: DateOrderOpt = None,
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
    quiet: Quiet = False,
) -> None:
    """Fit on a calibration period, predict the holdout and compare with what happened.

    Example: crmkit backtest data/samples/sales.xlsx --calibration-end 2024-06-30
    """
    from crmkit import pipeline
    from crmkit.cli.inputs import Inputs, as_of_date
    from crmkit.output import terminal
    from crmkit.scoring.backtest import backtest as run_backtest

    inputs = Inputs(
        files,
        customers=None,
        col=col,
        config=config,
        sheet=sheet,
        strict=strict,
        date_order=date_order,
        header_row=header_row,
        decimal=decimal,
        rejects=None,
        quiet=quiet,
        brief=output_format is OutputFormat.json,
    )
    report = run_backtest(
        inputs.tx.frame,
        calibration_end=as_of_date(calibration_end, "--calibration-end"),
        holdout_end=as_of_date(holdout_end, "--holdout-end") if holdout_end else None,
        models=pipeline.backtest_models(model),
        time_unit=time_unit.value,
    )
    if output_format is OutputFormat.json:
        terminal.emit_json(
            {"data": inputs.data_section(), **report.to_json(), "warnings": pipeline.read_warnings(inputs.tx.report)}
        )
        return
    terminal.render_backtest(out_console(), report, lang=inputs.lang(lang))
