"""``crmkit compare``: month over month, how customers moved between tiers and stages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crmkit.cli.application import app, out_console
from crmkit.cli.params import (
    Col,
    Config,
    DateOrderOpt,
    DecimalMark,
    Format,
    HeaderRow,
    LangOpt,
    OutputFormat,
    Pseudonymize,
    Quiet,
    Sheet,
    Strict,
)
from crmkit.errors import OptionError


@app.command()
def compare(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="OLD NEW: two exports (e.g. last month's and this month's), or one file with --as-of twice.",
            show_default=False,
        ),
    ],
    as_of: Annotated[
        list[str] | None, typer.Option("--as-of", help="With one file: the two snapshot dates, --as-of A --as-of B.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Excel workbook with the migration matrices and each list on its own sheet (.xlsx), or .json."
        ),
    ] = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Skip the value model (faster; churn from rhythm only).")
    ] = False,
    pseudonymize: Pseudonymize = None,
    col: Col = None,
    config: Config = None,
    sheet: Sheet = None,
    strict: Strict = False,
    date_order: DateOrderOpt = None,
    header_row: HeaderRow = None,
    decimal: DecimalMark = None,
    quiet: Quiet = False,
) -> None:
    """Month over month: how customers moved between tiers and lifecycle stages.

    Example: crmkit compare sales_2024-05.xlsx sales_2024-06.xlsx --out migration.xlsx
    """
    from crmkit import pipeline
    from crmkit.cli.inputs import Inputs, score
    from crmkit.output import excel, tables, terminal
    from crmkit.output.atomic import same_file
    from crmkit.pipeline.privacy import Sharing

    if out is not None and out.suffix.lower() not in (".xlsx", ".json"):
        raise OptionError(f"compare --out {out.name}: use .xlsx (one sheet per list) or .json")
    snapshots = _snapshots(files, as_of or [])
    if len(files) == 2 and same_file(files[0], files[1]):
        raise OptionError(
            f"OLD and NEW are the same file ({files[1]})",
            hint="give last month's and this month's exports, or one file with --as-of A --as-of B",
        )
    loaded: dict[tuple[Path, ...], Inputs] = {}  # one file at two dates is read once
    results = []
    for paths, date in snapshots:
        if tuple(paths) not in loaded:
            loaded[tuple(paths)] = Inputs(
                paths,
                customers=None,
                col=col,
                config=config,
                sheet=sheet,
                strict=strict,
                outputs={"--out": out},
                date_order=date_order,
                header_row=header_row,
                decimal=decimal,
                rejects=None,
                quiet=quiet,
                brief=output_format is OutputFormat.json,
                sharing=Sharing(pseudonym_key=pseudonymize),
            )
        inputs = loaded[tuple(paths)]
        results.append(score(inputs, inputs.options(as_of=date, no_model=no_model)))
    names = tuple(str(paths[0]) if len(paths) == 1 else ", ".join(map(str, paths)) for paths, _ in snapshots)
    report = pipeline.compare(results[0], results[1], sources=(names[0], names[1]))
    language = inputs.lang(lang)
    if out is not None:
        sources = [p for read in loaded.values() for p in read.paths]
        if out.suffix.lower() == ".json":
            tables.write_json(report.to_json(), out, inputs=sources)
        else:
            excel.write_sheets(out, pipeline.comparison_sheets(report.comparison), lang=language, inputs=sources)
    if output_format is OutputFormat.json:
        terminal.emit_json(report.to_json())
        return
    terminal.render_compare(out_console(), report.comparison, lang=language, warnings=report.warnings)


def _snapshots(files: list[Path], dates: list[str]) -> list[tuple[list[Path], str | None]]:
    if len(files) == 2 and not dates:
        return [([files[0]], None), ([files[1]], None)]
    if len(files) == 1 and len(dates) == 2:
        return [([files[0]], dates[0]), ([files[0]], dates[1])]
    raise OptionError("compare needs OLD NEW (two files) or one file with --as-of A --as-of B")
