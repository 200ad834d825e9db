"""What every command does first: read the inputs through ingest, settle options (command line, then
crmkit.toml, then defaults, each checked), and score through the pipeline."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Final

from rich.text import Text

from crmkit import ingest, pipeline
from crmkit.cli import checks
from crmkit.cli.application import err_console
from crmkit.cli.params import (
    DateOrder,
    Lang,
    ModelName,
    Scheme,
    TierBy,
    TierMode,
    TimeUnit,
)
from crmkit.errors import OptionError
from crmkit.ingest.config import DEFAULT_CONFIG
from crmkit.ingest.files import check_regular_file, scan_inputs
from crmkit.output import excel, tables, terminal
from crmkit.output.atomic import check_not_input, same_file
from crmkit.pipeline import privacy
from crmkit.scoring.tiers import DEFAULT_SHARE_CUTS, TierRule
from crmkit.scoring.value import parse_horizon

#: More dropped rows than this share of those read is worth a warning: the mapping or the file may be wrong.
DROPPED_WARNING_SHARE: Final = 0.10


# --- input ----------------------------------------------------------------------
class Inputs:
    """Transactions, optional master file and config, read through the ingest layer.

    ``outputs`` maps each output option (``--out``, ``--model-out``) to its path: none may be an input, the
    config file, ``--rejects`` or another output. ``quiet`` keeps stderr silent; ``brief`` (``--format json``)
    keeps it to the one-line drop summary and warnings.
    """

    def __init__(
        self,
        files: list[Path],
        *,
        customers: Path | None,
        col: list[str] | None,
        config: Path | None,
        sheet: str | None,
        strict: bool,
        date_order: DateOrder | None,
        rejects: Path | None,
        quiet: bool,
        brief: bool = False,
        outputs: Mapping[str, Path | None] | None = None,
    ) -> None:
        found = scan_inputs(files)
        if customers is not None:
            check_regular_file(customers, what="customers file")
        if config is not None:
            check_regular_file(config, what="config file")
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = [*found.files, *([customers] if customers is not None else [])]
        self.skipped = found.skipped
        config_file = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        # Refused before minutes of reading and scoring, not after.
        _check_outputs({**(outputs or {}), "--rejects": rejects}, [*self.paths, *filter(None, [config_file])])
        self.config = ingest.load_config(config)
        self.quiet = quiet
        self.brief = brief and not quiet
        console = err_console()
        if self.skipped and not quiet:
            terminal.print_skipped_files(console, self.skipped)
        columns = {**self.config.get("columns", {}), **parse_col(col)}
        order = date_order.value if date_order else None
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            self.tx = ingest.load_transactions(
                found.files, columns=columns, sheet=sheet, strict=strict, date_order=order
            )
            self.customers = ingest.load_customers(customers, columns=columns, date_order=order) if customers else None
        if rejects is not None and rejects.suffix.lower() == ".xlsx":
            excel.write_rejects(rejects, self.tx.rejects, inputs=self.paths)
        elif rejects is not None:
            tables.write_table(self.tx.rejects, rejects, inputs=self.paths)
        dropped = _dropped_warning(self.tx.report)
        #: Ingest's warnings and the dropped share: they go into every JSON output's warnings.
        self.warnings = [*self.tx.report.warnings, *dropped]
        if self.brief:
            terminal.print_drop_summary(console, self.tx.report)
        elif not quiet:
            terminal.print_ingest_notes(console, self.tx.report, rejects_written=rejects)
        for warning in dropped if not quiet else []:
            terminal.print_note(console, warning)

    def setting(self, section: str, key: str, value: Any, default: Any) -> Any:
        """A command-line value, else the config file's ``[section] key``, else the default."""
        if value is not None:
            return value.value if isinstance(value, Enum) else value
        return self.config.get(section, {}).get(key, default)

    def source(self, section: str, key: str, option: str, value: Any) -> str:
        """Where a setting came from, as a message names it: the option, or the crmkit.toml entry."""
        return option if value is not None else f"[{section}] {key} in crmkit.toml"

    def lang(self, value: Lang | None) -> str:
        return self.setting("output", "lang", value, "en")

    def data_section(self) -> dict[str, Any]:
        """What was read for the ``data`` part of JSON output: counts, drops per reason, files skipped."""
        report = self.tx.report
        return {
            "rows_read": report.rows_read,
            "rows_used": report.rows_used,
            "rows_dropped": report.rows_dropped,
            "dropped_by_reason": dict(report.drop_counts),
            "skipped_files": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
        }


def _dropped_warning(report: ingest.IngestReport) -> list[str]:
    """A warning when more than a tenth of the rows were dropped (a wrong column, a wrong date order …)."""
    if not report.rows_read or report.rows_dropped <= DROPPED_WARNING_SHARE * report.rows_read:
        return []
    reason, count = max(report.drop_counts.items(), key=lambda item: item[1])
    return [
        f"{report.rows_dropped:,} of {report.rows_read:,} rows ({report.rows_dropped / report.rows_read:.0%}) "
        f"were dropped, {count:,} of them for {reason}; check the column mapping with `crmkit inspect`"
    ]


def _check_outputs(outputs: Mapping[str, Path | None], inputs: list[Path]) -> None:
    """Each output is a file of its own: not an input or the config file, not another output."""
    given = [(option, path) for option, path in outputs.items() if path is not None]
    for _, path in given:
        check_not_input(path, inputs)
    for i, (option, path) in enumerate(given):
        for other, other_path in given[i + 1 :]:
            if same_file(path, other_path):
                raise OptionError(
                    f"{option} and {other} are the same file ({path}); one would overwrite the other",
                    hint=f"give {other} another name",
                )


@contextlib.contextmanager
def progress(message: str, quiet: bool) -> Iterator[None]:
    """A spinner on stderr for a long step; nothing when quiet or when stderr is not a terminal."""
    console = err_console()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(Text(terminal.printable(message))):
        yield


def score(
    inputs: Inputs,
    options: pipeline.SegmentOptions,
    *,
    include_attributes: bool = False,
    pseudonymize: str | None = None,
) -> pipeline.SegmentResult:
    """Run the pipeline, then keep only what may leave the team (attributes on request, ids pseudonymised)."""
    with progress("Scoring customers (summary, models, tiers, lifecycle, churn) …", inputs.quiet):
        result = pipeline.segment(inputs.tx.frame, customers=master_frame(inputs), options=options)
    return shareable(result, include_attributes=include_attributes, pseudonymize=pseudonymize)


def shareable(
    result: pipeline.SegmentResult, *, include_attributes: bool, pseudonymize: str | None
) -> pipeline.SegmentResult:
    customers = result.customers
    if not include_attributes:
        customers = privacy.without_attributes(customers, result.attributes)
    if pseudonymize is not None:
        customers = privacy.pseudonymize(customers, pseudonymize)
    return dataclasses.replace(result, customers=customers)


def run_warnings(inputs: Inputs, result: pipeline.SegmentResult) -> list[str]:
    """Warnings about the run as a whole: ingest's, the dropped share, an as-of date after the data, the model's."""
    data = result.summary["data"]
    warnings = list(inputs.warnings)
    if data["as_of"] and data["last_date"] and data["as_of"] > data["last_date"]:  # ISO dates compare as text
        warnings.append(
            f"the as-of date {data['as_of']} is after the last transaction ({data['last_date']}): every customer "
            "has been silent since, so recency, lifecycle stages and churn risk look worse than they are"
        )
    return [*warnings, *result.summary.get("warnings", [])]


def parse_col(values: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in values or []:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise OptionError(f"--col {item!r} is not CANONICAL=HEADER", hint='e.g. --col amount="实收金额"')
        mapping[key.strip()] = header.strip()
    return mapping


def tier_rule(inputs: Inputs, tiers: str | None, mode: TierMode | None) -> TierRule:
    tier_mode = inputs.setting("tiers", "mode", mode, "rank")
    default_cuts = DEFAULT_SHARE_CUTS if tier_mode == "share" else (TierRule.platinum, TierRule.gold)
    cuts = inputs.setting("tiers", "cuts", tiers, default_cuts)
    platinum, gold = checks.tier_cuts(cuts, name=inputs.source("tiers", "cuts", "--tiers", tiers))
    return TierRule(mode=tier_mode, platinum=platinum, gold=gold)


def as_of_date(text: str, option: str = "--as-of") -> Any:
    """A date typed on the command line, within the range crmkit computes with."""
    try:
        date = ingest.parse_date(text, option=option)
    except ValueError:  # pandas' out-of-bounds error: a year such as 9999
        checks.date_in_range(9999, name=option, text=text)
        raise
    checks.date_in_range(date.year, name=option, text=text)
    return date


def segment_options(
    inputs: Inputs,
    *,
    as_of: str | None,
    time_unit: TimeUnit = TimeUnit.day,
    rfm_scheme: Scheme | None = None,
    tier_by: TierBy | None = None,
    tiers: str | None = None,
    tier_mode: TierMode | None = None,
    model: ModelName | None = None,
    no_model: bool = False,
    horizon: str | None = None,
    margin: str | None = None,
    discount_rate: str | None = None,
) -> pipeline.SegmentOptions:
    """Options from the command line, else crmkit.toml, else the defaults; a command passes the ones it offers."""
    default = pipeline.SegmentOptions()
    horizon_text = str(inputs.setting("value", "horizon", horizon, default.horizon))
    checks.horizon_days(
        parse_horizon(horizon_text, "day"),
        name=inputs.source("value", "horizon", "--horizon", horizon),
        text=horizon_text,
    )
    margin_value = inputs.setting("value", "margin", margin, default.margin)
    return pipeline.SegmentOptions(
        as_of=as_of_date(as_of) if as_of else None,
        time_unit=time_unit.value,
        rfm_scheme=inputs.setting("rfm", "scheme", rfm_scheme, default.rfm_scheme),
        tier_by=inputs.setting("tiers", "by", tier_by, default.tier_by),
        tier_rule=tier_rule(inputs, tiers, tier_mode),
        model=None if no_model else inputs.setting("value", "model", model, default.model),
        horizon=horizon_text,
        margin=None
        if margin_value is None
        else checks.margin(margin_value, name=inputs.source("value", "margin", "--margin", margin)),
        discount_rate=checks.discount_rate(
            inputs.setting("value", "discount_rate", discount_rate, default.discount_rate),
            name=inputs.source("value", "discount_rate", "--discount-rate", discount_rate),
        ),
        lifecycle_rules=inputs.config.get("lifecycle", {}),
        churn_bands=inputs.config.get("churn", {}),
        delivered_weights=inputs.config.get("delivered_value", {}),
    )


def write_frame(frame, out: Path | None, inputs: Inputs, lang: str) -> None:
    if out is not None:
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)


def master_frame(inputs: Inputs):
    return inputs.customers.frame if inputs.customers is not None else None
