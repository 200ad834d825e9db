"""What every command does first: read the inputs through ingest, settle options (command line, then
crmkit.toml, then defaults), and score through the pipeline."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from crmkit import ingest, pipeline
from crmkit.cli.app import MESSAGE_LANG, err_console
from crmkit.cli.params import (
    DateOrder,
    Lang,
)
from crmkit.errors import OptionError
from crmkit.output import tables, terminal
from crmkit.output.atomic import check_not_input
from crmkit.output.labels import CHOICE_LABELS, choice_key
from crmkit.pipeline.options import ScoreOptions, options_from
from crmkit.pipeline.privacy import Sharing
from crmkit.pipeline.results import ScoreResult


# --- input ----------------------------------------------------------------------
class Inputs:
    """Transactions, optional master file and config, read through the ingest layer.

    Rejected rows and the examples of dropped rows are shown as ``sharing`` allows (pseudonymised ids), like
    every other output.
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
        outputs: tuple[Path | None, ...] = (),
        sharing: Sharing | None = None,
    ) -> None:
        self.config = ingest.load_config(config)
        # Errors and notes from here on speak the --lang given, else crmkit.toml's.
        MESSAGE_LANG.set(MESSAGE_LANG.get() or self.lang(None))
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = ingest.expand_paths([*files, *([customers] if customers else [])])
        for output in (*outputs, rejects):  # refuse before minutes of reading and scoring, not after
            if output is not None:
                check_not_input(output, self.paths)
        self.quiet = quiet
        self.sharing = sharing or Sharing()
        columns = {**self.config.get("columns", {}), **parse_col(col)}
        order = date_order.value if date_order else None
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            self.tx = ingest.load_transactions(files, columns=columns, sheet=sheet, strict=strict, date_order=order)
            self.customers = ingest.load_customers(customers, columns=columns, date_order=order) if customers else None
        shown = self.sharing.transactions(self.tx)
        if rejects is not None:
            tables.write_table(shown.rejects, rejects, inputs=self.paths)
        if not quiet:
            terminal.print_ingest_notes(err_console(), shown.report, rejects_written=rejects, lang=self.lang(None))

    def options(self, **given: Any) -> ScoreOptions:
        """Scoring options: the command line's values (None when not given), else crmkit.toml, else defaults.
        Choices may be given by their Chinese labels (``at_risk_min_tier="黄金"``)."""
        if given.get("as_of") is not None:
            given["as_of"] = ingest.parse_date(given["as_of"])
        values = {k: v.value if isinstance(v, Enum) else v for k, v in given.items()}
        return options_from(
            self.config,
            sharing=self.sharing,
            **{k: choice_key(v) if k in CHOICE_LABELS and isinstance(v, str) else v for k, v in values.items()},
        )

    def lang(self, value: Lang | None) -> str:
        """The language of terminal and workbook labels: ``--lang`` (None when not given), else crmkit.toml's,
        else English; errors and notes follow it."""
        if value is not None:
            return str(value.value)
        return MESSAGE_LANG.get() or choice_key(str(self.config.get("output", {}).get("lang", "en")))


@contextlib.contextmanager
def progress(message: str, quiet: bool) -> Iterator[None]:
    """A spinner on stderr for a long step; nothing when quiet or when stderr is not a terminal."""
    console = err_console()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


def score(inputs: Inputs, options: ScoreOptions) -> ScoreResult:
    """Run the pipeline on the inputs (with a spinner on a terminal)."""
    with progress("Scoring customers (summary, models, tiers, lifecycle, churn) …", inputs.quiet):
        return pipeline.score(inputs.tx, customers=inputs.customers, options=options)


def parse_col(values: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in values or []:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise OptionError(f"--col {item!r} is not CANONICAL=HEADER", hint='e.g. --col amount="实收金额"')
        mapping[key.strip()] = header.strip()
    return mapping


def write_frame(frame: Any, out: Path | None, inputs: Inputs, lang: str) -> None:
    if out is not None:
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)
