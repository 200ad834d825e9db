"""``crmkit segment``: every customer scored, the summary on the terminal, the table to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmkit import pipeline
from crmkit.cli.app import app, out_console
from crmkit.cli.inputs import Inputs, score, segment_options, write_frame
from crmkit.cli.params import (
    AsOf,
    Col,
    Config,
    CustomersFile,
    DateOrderOpt,
    DecimalMark,
    Discount,
    Files,
    Format,
    GroupBy,
    HeaderRow,
    Horizon,
    IncludeAttributes,
    LangOpt,
    Margin,
    Model,
    Out,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Rejects,
    Scheme,
    Sheet,
    Strict,
    TierBy,
    TierMode,
    TimeUnit,
    Unit,
)
from crmkit.ingest.columns import canonical_name
from crmkit.output import excel, terminal
from crmkit.scoring.rollup import rollup


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
            help="Value that ranks customers into tiers: revenue (default), profit (needs cost/margin), clv.",
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
    top: Annotated[int, typer.Option("--top", help="Top customers to list on the terminal.")] = 10,
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
) -> None:
    """Score every customer (RFM, segment, tier, CLV, lifecycle, churn) and summarise.

    Example: crmkit segment data/samples/sales.xlsx --out tiers.xlsx --lang zh
    """
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
        quiet=quiet or output_format is OutputFormat.json,
        outputs=(out,),
    )
    options = segment_options(
        inputs,
        as_of=as_of,
        time_unit=time_unit,
        rfm_scheme=rfm_scheme,
        tier_by=tier_by,
        tiers=tiers,
        tier_mode=tier_mode,
        model=model,
        no_model=no_model,
        horizon=horizon,
        margin=margin,
        discount_rate=discount_rate,
    )
    result = score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    result.summary["data"] = {**inputs.data_counts(), **result.summary["data"]}
    result.summary["warnings"] = [*inputs.tx.report.warnings, *result.summary.get("warnings", [])]
    groups = rollup(result.customers, canonical_name(group_by)) if group_by else None
    if groups is not None:
        result.summary["groups"] = terminal.records(groups)
    language = inputs.lang(lang)
    if out is not None:
        _write_segment(result, out, inputs, language)
    if output_format is OutputFormat.json:
        terminal.emit_json(result.summary)
        return
    console = out_console()
    terminal.render_segment(console, result, lang=language, top=top, groups=groups)
    if explain:
        terminal.render_rfm_explain(console, result, lang=language)


def _write_segment(result: pipeline.SegmentResult, out: Path, inputs: Inputs, lang: str) -> None:
    if out.suffix.lower() == ".xlsx":
        excel.write_workbook(
            out,
            customers=result.customers,
            summary=result.summary,
            data_quality=terminal.data_quality_frame(inputs.tx.report),
            lang=lang,
            inputs=inputs.paths,
        )
    else:
        write_frame(result.customers, out, inputs, lang)
