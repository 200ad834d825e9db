"""The ``crmkit`` command line: parse options, call ingest → scorers → output.

Errors caused by input or options (:class:`crmkit.errors.CrmkitError`) are
printed as one ``Error: …`` message on stderr with exit code 2; an unexpected
internal error exits 1. ``crmkit --debug …`` shows the traceback instead.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from crmkit import __version__, ingest, pipeline, privacy, simulate
from crmkit.backtest import backtest as run_backtest
from crmkit.compare import compare_snapshots
from crmkit.churn import at_risk
from crmkit.errors import CrmkitError, OptionError
from crmkit.lifecycle import explain_rules, rules_from_config
from crmkit.output import excel, tables, terminal
from crmkit.output.atomic import check_not_input
from crmkit.rollup import rollup
from crmkit.labels import LANGUAGES
from crmkit.models import MODEL_NAMES
from crmkit.parsing import DATE_ORDERS, canonical_name
from crmkit.schema import TIME_UNIT_DAYS
from crmkit.segment import DEFAULT_SHARE_CUTS, RFM_SCHEMES, TIER_MODES, TierRule


class _Group(TyperGroup):
    """Turns CrmkitError into ``Error: …`` + exit 2 in one place (unless --debug)."""

    def invoke(self, ctx: typer.Context) -> Any:
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("CRMKIT_DEBUG"))
        try:
            return super().invoke(ctx)
        except CrmkitError as error:
            if debug:
                raise
            _errors().print(f"[bold red]Error:[/] {escape(str(error))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:       # output piped into `head` and the like: stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as error:  # an internal error: say so briefly, never dump customer data
            if debug or error.__class__.__module__.startswith(("click", "typer")):
                raise
            _errors().print(f"Internal error: {type(error).__name__}: {error}\n"
                            "Run again as `crmkit --debug …` for the traceback and please report it.",
                            markup=False, highlight=False)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group, no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
    help="Customer analytics for CRM analysts: RFM segments, 80/20 tiers, CLV models, "
         "lifecycle stages and churn risk, from CSV/Excel/Parquet exports.",
)


def _errors() -> Console:
    return Console(stderr=True, highlight=False)


def _out() -> Console:
    return Console(highlight=False)


def _choices(name: str, values: Iterable[str]) -> type[Enum]:
    """The choices of an option as the str Enum Typer wants, built from the vocabulary defined where it is used."""
    return Enum(name, {value: value for value in values}, type=str)


OutputFormat = _choices("OutputFormat", ("table", "json"))
TimeUnit = _choices("TimeUnit", TIME_UNIT_DAYS)
ModelName = _choices("ModelName", MODEL_NAMES)
Scheme = _choices("Scheme", RFM_SCHEMES)
TierBy = _choices("TierBy", pipeline.TIER_BY)
TierMode = _choices("TierMode", TIER_MODES)
DateOrder = _choices("DateOrder", DATE_ORDERS)
Lang = _choices("Lang", LANGUAGES)


# --- shared options -----------------------------------------------------------
Files = Annotated[list[Path], typer.Argument(help="Transaction files (CSV/TSV/XLSX/Parquet) or folders of them; concatenated.", show_default=False)]
CustomersFile = Annotated[Path | None, typer.Option("--customers", help="Customer master file (id plus name, region, salesperson, signup date, value components). Customers with no purchases appear as prospects.")]
Col = Annotated[list[str] | None, typer.Option("--col", help="Map a column: CANONICAL=HEADER, e.g. --col amount=实收金额. Repeatable.")]
Config = Annotated[Path | None, typer.Option("--config", help="crmkit.toml with [columns], [tiers], [lifecycle], [churn], [value], [output] tables (default: ./crmkit.toml if present).")]
Sheet = Annotated[str | None, typer.Option("--sheet", help="Excel sheet to read (default: the first).")]
Strict = Annotated[bool, typer.Option("--strict", help="Treat any bad row (bad date, empty id, non-numeric amount) as an error (exit 2).")]
Rejects = Annotated[Path | None, typer.Option("--rejects", help="Write every dropped row with its reason to this CSV/XLSX file.")]
DateOrderOpt = Annotated[DateOrder | None, typer.Option("--date-order", help="Day/month order for ambiguous dates like 05/03/2024 (detected per file when the data tells).")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Score as of this date (default: the last transaction date); later transactions are ignored and counted.")]
Unit = Annotated[TimeUnit, typer.Option("--time-unit", help="Unit of recency, T and model parameters (a month is 365.25/12 days).")]
Out = Annotated[Path | None, typer.Option("--out", help="Write the per-customer table; format by extension: .xlsx, .csv, .parquet, .json.")]
Format = Annotated[OutputFormat, typer.Option("--format", help="table: a summary on the terminal; json: one JSON object on stdout for scripts.")]
LangOpt = Annotated[Lang | None, typer.Option("--lang", help="Language of terminal and Excel labels (default: [output] lang in config, else en). CSV/JSON/Parquet stay English.")]
Model = Annotated[ModelName | None, typer.Option("--model", help="Purchase model for CLV and churn risk: mbgnbd (default; one-time buyers can be inactive, unlike bgnbd), bgnbd, pareto.")]
Horizon = Annotated[str | None, typer.Option("--horizon", help="CLV horizon: 12m (default), 52w, 365d, 1y.")]
Margin = Annotated[float | None, typer.Option("--margin", help="Margin rate for CLV, e.g. 0.3 (default: from a cost/margin column, else 1 = revenue).")]
Discount = Annotated[float | None, typer.Option("--discount-rate", help="Annual discount rate for CLV (default 0.10).")]
GroupBy = Annotated[str | None, typer.Option("--group-by", help="Roll up per salesperson, region, channel or any customer column.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]
IncludeAttributes = Annotated[bool, typer.Option("--include-attributes", help="Also export master-file columns about the person (name, phone, e-mail, signup date, …). Default: customer_id, sales assignment and scores only.")]
Pseudonymize = Annotated[str | None, typer.Option("--pseudonymize", metavar="KEY", help="Replace customer ids with keyed hashes (HMAC-SHA256) in every output, so a list can be shared and joined back by whoever holds KEY. Tip: --pseudonymize \"$CRMKIT_KEY\" keeps the key out of shell history.")]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"crmkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Customer analytics for CRM analysts."""


# --- input ----------------------------------------------------------------------
class _Inputs:
    """Transactions, optional master file and config, read through the ingest layer."""

    def __init__(self, files: list[Path], *, customers: Path | None, col: list[str] | None,
                 config: Path | None, sheet: str | None, strict: bool, date_order: DateOrder | None,
                 rejects: Path | None, quiet: bool, outputs: tuple[Path | None, ...] = ()) -> None:
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = ingest.expand_paths([*files, *([customers] if customers else [])])
        for output in (*outputs, rejects):      # refuse before minutes of reading and scoring, not after
            if output is not None:
                check_not_input(output, self.paths)
        self.config = ingest.load_config(config)
        self.quiet = quiet
        columns = {**self.config.get("columns", {}), **_parse_col(col)}
        order = date_order.value if date_order else None
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            self.tx = ingest.load_transactions(files, columns=columns, sheet=sheet, strict=strict, date_order=order)
            self.customers = ingest.load_customers(customers, columns=columns, date_order=order) \
                if customers else None
        if rejects is not None:
            tables.write_table(self.tx.rejects, rejects, inputs=self.paths)
        if not quiet:
            terminal.print_ingest_notes(_errors(), self.tx.report, rejects_written=rejects)

    def setting(self, section: str, key: str, value: Any, default: Any) -> Any:
        """A command-line value, else the config file's ``[section] key``, else the default."""
        if value is not None:
            return value.value if isinstance(value, Enum) else value
        return self.config.get(section, {}).get(key, default)

    def lang(self, value: Lang | None) -> str:
        return self.setting("output", "lang", value, "en")

    def data_counts(self) -> dict:
        report = self.tx.report
        return {"rows_read": report.rows_read, "rows_used": report.rows_used, "rows_dropped": report.rows_dropped}


@contextlib.contextmanager
def progress(message: str, quiet: bool) -> Iterator[None]:
    """A spinner on stderr for a long step; nothing when quiet or when stderr is not a terminal."""
    console = _errors()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


def _score(inputs: _Inputs, options: pipeline.SegmentOptions, *, include_attributes: bool = False,
           pseudonymize: str | None = None) -> pipeline.SegmentResult:
    """Run the pipeline, then keep only what may leave the team (attributes on request, ids pseudonymised)."""
    with progress("Scoring customers (summary, models, tiers, lifecycle, churn) …", inputs.quiet):
        result = pipeline.segment(inputs.tx.frame, customers=_master(inputs), options=options)
    return _shareable(result, include_attributes=include_attributes, pseudonymize=pseudonymize)


def _shareable(result: pipeline.SegmentResult, *, include_attributes: bool,
               pseudonymize: str | None) -> pipeline.SegmentResult:
    customers = result.customers
    if not include_attributes:
        customers = privacy.without_attributes(customers, result.attributes)
    if pseudonymize is not None:
        customers = privacy.pseudonymize(customers, pseudonymize)
    return dataclasses.replace(result, customers=customers)


def _parse_col(values: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in values or []:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise OptionError(f"--col {item!r} is not CANONICAL=HEADER", hint='e.g. --col amount="实收金额"')
        mapping[key.strip()] = header.strip()
    return mapping


def _tier_rule(inputs: _Inputs, tiers: str | None, mode: TierMode | None) -> TierRule:
    tier_mode = inputs.setting("tiers", "mode", mode, "rank")
    default_cuts = DEFAULT_SHARE_CUTS if tier_mode == "share" else (TierRule.platinum, TierRule.gold)
    cuts = inputs.setting("tiers", "cuts", tiers, default_cuts)
    if isinstance(cuts, str):
        try:
            cuts = [float(part) for part in cuts.split(",")]
        except ValueError:
            raise OptionError(f"--tiers {cuts!r} must be two numbers like 5,15") from None
    if len(cuts) != 2:
        raise OptionError(f"--tiers needs two numbers (platinum, gold), got {cuts!r}")
    return TierRule(mode=tier_mode, platinum=float(cuts[0]), gold=float(cuts[1]))


def _segment_options(inputs: _Inputs, *, as_of: str | None, time_unit: TimeUnit = TimeUnit.day,
                     rfm_scheme: Scheme | None = None, tier_by: TierBy | None = None, tiers: str | None = None,
                     tier_mode: TierMode | None = None, model: ModelName | None = None, no_model: bool = False,
                     horizon: str | None = None, margin: float | None = None,
                     discount_rate: float | None = None) -> pipeline.SegmentOptions:
    """Options from the command line, else crmkit.toml, else the defaults; a command passes the ones it offers."""
    default = pipeline.SegmentOptions()
    return pipeline.SegmentOptions(
        as_of=ingest.parse_date(as_of) if as_of else None,
        time_unit=time_unit.value,
        rfm_scheme=inputs.setting("rfm", "scheme", rfm_scheme, default.rfm_scheme),
        tier_by=inputs.setting("tiers", "by", tier_by, default.tier_by),
        tier_rule=_tier_rule(inputs, tiers, tier_mode),
        model=None if no_model else inputs.setting("value", "model", model, default.model),
        horizon=inputs.setting("value", "horizon", horizon, default.horizon),
        margin=inputs.setting("value", "margin", margin, default.margin),
        discount_rate=inputs.setting("value", "discount_rate", discount_rate, default.discount_rate),
        lifecycle_rules=inputs.config.get("lifecycle", {}),
        churn_bands=inputs.config.get("churn", {}),
        delivered_weights=inputs.config.get("delivered_value", {}),
    )


def _write(frame, out: Path | None, inputs: _Inputs, lang: str) -> None:
    if out is not None:
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)


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
    rfm_scheme: Annotated[Scheme | None, typer.Option("--rfm-scheme", help="classic (Champions … Lost) or cn8 (重要价值客户 … 一般挽留客户). Default classic.")] = None,
    tier_by: Annotated[TierBy | None, typer.Option("--tier-by", help="Value that ranks customers into tiers: revenue (default), profit (needs cost/margin), clv.")] = None,
    tiers: Annotated[str | None, typer.Option("--tiers", help="Platinum and gold cut-offs in percent, e.g. 5,15 (rank mode) or 50,30 (share mode).")] = None,
    tier_mode: Annotated[TierMode | None, typer.Option("--tier-mode", help="rank: top N% of customers (default); share: customers making the top N% of value.")] = None,
    model: Model = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Skip the value model (no CLV; churn risk from each customer's own rhythm).")] = False,
    horizon: Horizon = None,
    margin: Margin = None,
    discount_rate: Discount = None,
    group_by: GroupBy = None,
    top: Annotated[int, typer.Option("--top", help="Top customers to list on the terminal.")] = 10,
    explain: Annotated[bool, typer.Option("--explain", help="Also print the RFM score thresholds and segment rules.")] = False,
    include_attributes: IncludeAttributes = False, pseudonymize: Pseudonymize = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    rejects: Rejects = None, date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """Score every customer (RFM, segment, tier, CLV, lifecycle, churn) and summarise.

    Example: crmkit segment data/samples/sales.xlsx --out tiers.xlsx --lang zh
    """
    inputs = _Inputs(files, customers=customers, col=col, config=config, sheet=sheet, strict=strict,
                     date_order=date_order, rejects=rejects, quiet=quiet or output_format is OutputFormat.json,
                     outputs=(out,))
    options = _segment_options(inputs, as_of=as_of, time_unit=time_unit, rfm_scheme=rfm_scheme, tier_by=tier_by,
                               tiers=tiers, tier_mode=tier_mode, model=model, no_model=no_model, horizon=horizon,
                               margin=margin, discount_rate=discount_rate)
    result = _score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
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
    console = _out()
    terminal.render_segment(console, result, lang=language, top=top, groups=groups)
    if explain:
        terminal.render_rfm_explain(console, result, lang=language)


def _master(inputs: _Inputs):
    return inputs.customers.frame if inputs.customers is not None else None


def _write_segment(result: pipeline.SegmentResult, out: Path, inputs: _Inputs, lang: str) -> None:
    if out.suffix.lower() == ".xlsx":
        excel.write_workbook(out, customers=result.customers, summary=result.summary,
                             data_quality=terminal.data_quality_frame(inputs.tx.report), lang=lang,
                             inputs=inputs.paths)
    else:
        _write(result.customers, out, inputs, lang)


@app.command()
def inspect(
    files: Files,
    output_format: Format = OutputFormat.table,
    col: Col = None, config: Config = None, sheet: Sheet = None, date_order: DateOrderOpt = None,
) -> None:
    """Show the detected column mapping, types, date range, row counts and data-quality findings, without scoring.

    Example: crmkit inspect data/samples/sales_zh.xlsx
    """
    inputs = _Inputs(files, customers=None, col=col, config=config, sheet=sheet, strict=False,
                     date_order=date_order, rejects=None, quiet=True)
    findings = ingest.inspect_transactions(inputs.tx)
    if output_format is OutputFormat.json:
        terminal.emit_json(terminal.inspect_record(inputs.tx, findings))
        return
    terminal.render_inspect(_out(), inputs.tx, findings)


@app.command()
def sample(
    customers: Annotated[int, typer.Option("--customers", help="Number of buying customers to simulate.")] = 2000,
    out: Annotated[Path, typer.Option("--out", help="Transactions file to write (.xlsx, .csv, .parquet).")] = Path("sales.xlsx"),
    customers_out: Annotated[Path | None, typer.Option("--customers-out", help="Also write the customer master file (with prospects and value components).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")] = 7,
    lang: Annotated[Lang, typer.Option("--lang", help="en: English headers; zh: Chinese headers, names and 2024年1月5日 dates.")] = Lang.en,
) -> None:
    """Generate realistic synthetic sales data (buy-till-you-die purchases, gamma-gamma spend, returns).

    Example: crmkit sample --customers 500 --out demo.xlsx --lang zh
    """
    if customers < 1:
        raise OptionError("--customers must be at least 1")
    data = simulate.localise_sample(simulate.simulate_sales(customers, seed=seed), lang.value)
    tables.write_table(data.transactions, out)
    if customers_out is not None:
        tables.write_table(data.customers, customers_out)
    _errors().print(f"wrote {len(data.transactions):,} rows for {customers:,} customers to {out}")


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
    model_out: Annotated[Path | None, typer.Option("--model-out", help="Write the fitted model (parameters in the chosen time unit) as JSON.")] = None,
    top: Annotated[int, typer.Option("--top", help="Top customers by CLV to list.")] = 10,
    include_attributes: IncludeAttributes = False, pseudonymize: Pseudonymize = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    rejects: Rejects = None, date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """Fit the purchase and spend models and predict each customer's value (expected purchases, P(alive), CLV).

    Example: crmkit value data/samples/sales.xlsx --time-unit week --horizon 52w --margin 0.3 --model-out model.json
    """
    inputs = _Inputs(files, customers=customers, col=col, config=config, sheet=sheet, strict=strict,
                     date_order=date_order, rejects=rejects, quiet=quiet or output_format is OutputFormat.json,
                     outputs=(out, model_out))
    options = _segment_options(inputs, as_of=as_of, time_unit=time_unit, model=model, horizon=horizon,
                               margin=margin, discount_rate=discount_rate)
    options = dataclasses.replace(options, model_required=True)     # the model is this command's purpose
    result = _score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    if model_out is not None:
        tables.write_json(result.summary["model"], model_out, inputs=inputs.paths)
    language = inputs.lang(lang)
    _write(pipeline.value_columns(result.customers), out, inputs, language)
    report = pipeline.value_report(result)
    if output_format is OutputFormat.json:
        terminal.emit_json(report)
        return
    terminal.render_value(_out(), result, report, lang=language, top=top)


@app.command()
def backtest(
    files: Files,
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="Last day of the calibration (fitting) period.", show_default=False)],
    holdout_end: Annotated[str | None, typer.Option("--holdout-end", help="Last day of the holdout period (default: the last transaction date).")] = None,
    model: Annotated[str, typer.Option("--model", help="mbgnbd, bgnbd, pareto, or all (side by side).")] = "all",
    time_unit: Unit = TimeUnit.week,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """Fit on a calibration period, predict the holdout and compare with what happened.

    Example: crmkit backtest data/samples/sales.xlsx --calibration-end 2024-06-30
    """
    inputs = _Inputs(files, customers=None, col=col, config=config, sheet=sheet, strict=strict,
                     date_order=date_order, rejects=None, quiet=quiet or output_format is OutputFormat.json)
    report = run_backtest(
        inputs.tx.frame, calibration_end=ingest.parse_date(calibration_end),
        holdout_end=ingest.parse_date(holdout_end) if holdout_end else None,
        models=pipeline.backtest_models(model), time_unit=time_unit.value,
    )
    if output_format is OutputFormat.json:
        terminal.emit_json(report)
        return
    terminal.render_backtest(_out(), report, lang=inputs.lang(lang))


@app.command()
def lifecycle(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    explain: Annotated[bool, typer.Option("--explain", help="Print the stage rules with the thresholds actually used.")] = False,
    no_model: Annotated[bool, typer.Option("--no-model", help="Skip the value model (termination from silence only).")] = False,
    include_attributes: IncludeAttributes = False, pseudonymize: Pseudonymize = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    rejects: Rejects = None, date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """Put every customer in one lifecycle stage: acquisition, growth, maturity, decline, termination.

    Example: crmkit lifecycle data/samples/sales.xlsx --explain --lang zh
    """
    inputs = _Inputs(files, customers=customers, col=col, config=config, sheet=sheet, strict=strict,
                     date_order=date_order, rejects=rejects, quiet=quiet or output_format is OutputFormat.json,
                     outputs=(out,))
    options = _segment_options(inputs, as_of=as_of, no_model=no_model)
    result = _score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    language = inputs.lang(lang)
    _write(result.customers, out, inputs, language)
    rules = rules_from_config(options.lifecycle_rules)
    if output_format is OutputFormat.json:        # machine output stays English
        terminal.emit_json({"lifecycle": result.summary["lifecycle"], "rules": terminal.records(explain_rules(rules))})
        return
    terminal.render_lifecycle(_out(), result, explain_rules(rules, lang=language) if explain else None, lang=language)


@app.command()
def churn(
    files: Files,
    customers: CustomersFile = None,
    out: Out = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option("--top", help="How many customers to list (all are written with --out).")] = 20,
    min_tier: Annotated[str | None, typer.Option("--min-tier", help="Only customers in this tier or better: platinum, gold, iron.")] = None,
    group_by: GroupBy = None,
    model: Model = None,
    include_attributes: IncludeAttributes = False, pseudonymize: Pseudonymize = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    rejects: Rejects = None, date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """List the customers worth saving, by value at risk (CLV × churn risk).

    Example: crmkit churn data/samples/sales.xlsx --min-tier gold --top 20
    """
    inputs = _Inputs(files, customers=customers, col=col, config=config, sheet=sheet, strict=strict,
                     date_order=date_order, rejects=rejects, quiet=quiet or output_format is OutputFormat.json,
                     outputs=(out,))
    options = _segment_options(inputs, as_of=as_of, model=model)
    result = _score(inputs, options, include_attributes=include_attributes, pseudonymize=pseudonymize)
    saving = at_risk(result.customers, min_tier=min_tier)
    language = inputs.lang(lang)
    _write(saving, out, inputs, language)
    groups = rollup(result.customers, canonical_name(group_by)) if group_by else None
    if output_format is OutputFormat.json:
        payload = {"churn": result.summary["churn"], "customers": terminal.records(saving.head(top))}
        if groups is not None:
            payload["groups"] = terminal.records(groups)
        terminal.emit_json(payload)
        return
    terminal.render_churn(_out(), result, saving, lang=language, top=top, groups=groups)


@app.command()
def compare(
    files: Annotated[list[Path], typer.Argument(help="OLD NEW: two exports (e.g. last month's and this month's), or one file with --as-of twice.", show_default=False)],
    as_of: Annotated[list[str] | None, typer.Option("--as-of", help="With one file: the two snapshot dates, --as-of A --as-of B.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Excel workbook with the migration matrices and each list on its own sheet (.xlsx), or .json.")] = None,
    output_format: Format = OutputFormat.table,
    lang: LangOpt = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Skip the value model (faster; churn from rhythm only).")] = False,
    pseudonymize: Pseudonymize = None,
    col: Col = None, config: Config = None, sheet: Sheet = None, strict: Strict = False,
    date_order: DateOrderOpt = None, quiet: Quiet = False,
) -> None:
    """Month over month: how customers moved between tiers and lifecycle stages.

    Example: crmkit compare sales_2024-05.xlsx sales_2024-06.xlsx --out migration.xlsx
    """
    if out is not None and out.suffix.lower() not in (".xlsx", ".json"):
        raise OptionError(f"compare --out {out.name}: use .xlsx (one sheet per list) or .json")
    loaded: dict[tuple[Path, ...], _Inputs] = {}       # one file at two dates is read once
    results = []
    for paths, date in _snapshots(files, as_of or []):
        if tuple(paths) not in loaded:
            loaded[tuple(paths)] = _Inputs(paths, customers=None, col=col, config=config, sheet=sheet,
                                           strict=strict, outputs=(out,), date_order=date_order, rejects=None,
                                           quiet=quiet or output_format is OutputFormat.json)
        inputs = loaded[tuple(paths)]
        options = _segment_options(inputs, as_of=date, no_model=no_model)
        results.append(_score(inputs, options, pseudonymize=pseudonymize))
    comparison = compare_snapshots(results[0].customers, results[1].customers)
    language = inputs.lang(lang)
    if out is not None:
        sources = [p for read in loaded.values() for p in read.paths]
        if out.suffix.lower() == ".json":
            tables.write_json(comparison.to_json(), out, inputs=sources)
        else:
            excel.write_sheets(out, pipeline.comparison_sheets(comparison), lang=language, inputs=sources)
    if output_format is OutputFormat.json:
        terminal.emit_json(comparison.to_json())
        return
    terminal.render_compare(_out(), comparison, lang=language)


def _snapshots(files: list[Path], dates: list[str]) -> list[tuple[list[Path], str | None]]:
    if len(files) == 2 and not dates:
        return [([files[0]], None), ([files[1]], None)]
    if len(files) == 1 and len(dates) == 2:
        return [([files[0]], dates[0]), ([files[0]], dates[1])]
    raise OptionError("compare needs OLD NEW (two files) or one file with --as-of A --as-of B")


def main() -> None:
    """Console-script entry point."""
    app()
