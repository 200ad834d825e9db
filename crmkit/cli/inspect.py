"""``crmkit inspect``: what crmkit understood of a file, before scoring."""

from __future__ import annotations

from crmkit.cli.application import app, out_console
from crmkit.cli.params import (
    Col,
    Config,
    DateOrderOpt,
    DecimalMark,
    Files,
    Format,
    HeaderRow,
    OutputFormat,
    Sheet,
)


@app.command()
def inspect(
    files: Files,
    output_format: Format = OutputFormat.table,
    col: Col = None,
    config: Config = None,
    sheet: Sheet = None,
    date_order: DateOrderOpt = None,
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
) -> None:
    """Show the detected column mapping, types, date range, row counts and data-quality findings, without scoring.

    Example: crmkit inspect data/samples/sales_zh.xlsx
    """
    from crmkit import ingest
    from crmkit.cli.inputs import Inputs
    from crmkit.output import terminal

    inputs = Inputs(
        files,
        customers=None,
        col=col,
        config=config,
        sheet=sheet,
        strict=False,
        date_order=date_order,
        header_row=header_row,
        decimal=decimal,
        rejects=None,
        quiet=True,
    )
    findings = ingest.inspect_transactions(inputs.tx)
    if output_format is OutputFormat.json:
        terminal.emit_json(terminal.inspect_record(inputs.tx, findings, skipped=inputs.tx.report.skipped))
        return
    terminal.render_inspect(out_console(), inputs.tx, findings, skipped=inputs.tx.report.skipped)
