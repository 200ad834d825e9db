"""What every command does first: read the inputs through ingest, settle options (command line, then
crmkit.toml, then defaults), and score through the pipeline."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from crmkit import ingest, pipeline
from crmkit.cli.app import err_console
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
from crmkit.output import tables, terminal
from crmkit.output.atomic import check_not_input
from crmkit.pipeline import privacy
from crmkit.scoring.tiers import DEFAULT_SHARE_CUTS, TierRule


# --- input ----------------------------------------------------------------------
class Inputs:
    """Transactions, optional master file and config, read through the ingest layer."""

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
        outputs: tuple[Path | None, ...] = (),
        header_row: int | None = None,
        decimal: str | None = None,
    ) -> None:
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = ingest.expand_paths([*files, *([customers] if customers else [])])
        for output in (*outputs, rejects):  # refuse before minutes of reading and scoring, not after
            if output is not None:
                check_not_input(output, self.paths)
        self.config = ingest.load_config(config)
        self.quiet = quiet
        columns = {**self.config.get("columns", {}), **parse_col(col)}
        order = date_order.value if date_order else None
        status = ingest.StatusRules.from_config(self.config.get("status", {}))
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            self.tx = ingest.load_transactions(
                files,
                columns=columns,
                sheet=sheet,
                strict=strict,
                date_order=order,
                header_row=header_row,
                decimal=decimal,
                status=status,
            )
            master = ingest.load_customers(customers, columns=columns, date_order=order) if customers else None
            self.customers = ingest.match_customers(self.tx, master) if master is not None else None
        if rejects is not None:
            tables.write_table(self.tx.rejects, rejects, inputs=self.paths)
        if not quiet:
            terminal.print_ingest_notes(err_console(), self.tx.report, rejects_written=rejects)

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
    console = err_console()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(message):
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
    if isinstance(cuts, str):
        try:
            cuts = [float(part) for part in cuts.split(",")]
        except ValueError:
            raise OptionError(f"--tiers {cuts!r} must be two numbers like 5,15") from None
    if len(cuts) != 2:
        raise OptionError(f"--tiers needs two numbers (platinum, gold), got {cuts!r}")
    return TierRule(mode=tier_mode, platinum=float(cuts[0]), gold=float(cuts[1]))


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
    margin: float | None = None,
    discount_rate: float | None = None,
) -> pipeline.SegmentOptions:
    """Options from the command line, else crmkit.toml, else the defaults; a command passes the ones it offers."""
    default = pipeline.SegmentOptions()
    return pipeline.SegmentOptions(
        as_of=ingest.parse_date(as_of) if as_of else None,
        time_unit=time_unit.value,
        rfm_scheme=inputs.setting("rfm", "scheme", rfm_scheme, default.rfm_scheme),
        tier_by=inputs.setting("tiers", "by", tier_by, default.tier_by),
        tier_rule=tier_rule(inputs, tiers, tier_mode),
        model=None if no_model else inputs.setting("value", "model", model, default.model),
        horizon=inputs.setting("value", "horizon", horizon, default.horizon),
        margin=inputs.setting("value", "margin", margin, default.margin),
        discount_rate=inputs.setting("value", "discount_rate", discount_rate, default.discount_rate),
        lifecycle_rules=inputs.config.get("lifecycle", {}),
        churn_bands=inputs.config.get("churn", {}),
        delivered_weights=inputs.config.get("delivered_value", {}),
    )


def write_frame(frame, out: Path | None, inputs: Inputs, lang: str) -> None:
    if out is not None:
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)


def master_frame(inputs: Inputs):
    return inputs.customers.frame if inputs.customers is not None else None
