"""What every command does first: read the inputs through ingest, settle options (command line, then
crmkit.toml, then defaults), and score through the pipeline."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from crmkit import ingest, pipeline
from crmkit.cli.app import err_console
from crmkit.cli.params import (
    DateOrder,
    Lang,
)
from crmkit.engine import EngineSettings, parse_storage_options
from crmkit.errors import OptionError
from crmkit.output import tables, terminal
from crmkit.output.atomic import check_not_input
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
        engine: EngineSettings | None = None,
    ) -> None:
        self.engine = engine or EngineSettings()
        self.config = ingest.load_config(config)
        self.quiet = quiet
        self.sharing = sharing or Sharing()
        columns = {**self.config.get("columns", {}), **parse_col(col)}
        order = date_order.value if date_order else None
        self.date_order = order
        self.strict = strict
        if self.engine.engine == "dask":
            self._plan_pieces(files, customers=customers, columns=columns, rejects=rejects, outputs=outputs)
            return
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = ingest.expand_paths([*files, *([customers] if customers else [])])
        for output in (*outputs, rejects):  # refuse before minutes of reading and scoring, not after
            if output is not None:
                check_not_input(output, self.paths)
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            self.tx = ingest.load_transactions(files, columns=columns, sheet=sheet, strict=strict, date_order=order)
            self.customers = ingest.load_customers(customers, columns=columns, date_order=order) if customers else None
        shown = self.sharing.transactions(self.tx)
        if rejects is not None:
            tables.write_table(shown.rejects, rejects, inputs=self.paths)
        if not quiet:
            terminal.print_ingest_notes(err_console(), shown.report, rejects_written=rejects)

    def _plan_pieces(
        self,
        files: list[Path],
        *,
        customers: Path | None,
        columns: dict[str, str],
        rejects: Path | None,
        outputs: tuple[Path | None, ...],
    ) -> None:
        """With the Dask engine nothing is read here: the inputs are cut into pieces the workers read."""
        if customers is not None:
            raise OptionError("--customers is not available with --engine dask yet", hint="use --engine pandas")
        if rejects is not None:
            raise OptionError(
                "--rejects is not available with --engine dask; the dropped rows are counted with examples",
                hint="use --engine pandas to write every dropped row",
            )
        from crmkit.ingest.pieces import plan_pieces

        self.pieces = plan_pieces(
            [_source(f) for f in files], columns=columns, storage_options=self.engine.storage_options
        )
        self.paths = [Path(p) for p in dict.fromkeys(piece.path for piece in self.pieces) if "://" not in p]
        for output in outputs:
            if output is not None:
                check_not_input(output, self.paths)
        self.customers = None

    def options(self, **given: Any) -> ScoreOptions:
        """Scoring options: the command line's values (None when not given), else crmkit.toml, else defaults."""
        if given.get("as_of") is not None:
            given["as_of"] = ingest.parse_date(given["as_of"])
        return options_from(
            self.config, sharing=self.sharing, **{k: v.value if isinstance(v, Enum) else v for k, v in given.items()}
        )

    def lang(self, value: Lang | None) -> str:
        if value is not None:
            return str(value.value)
        return str(self.config.get("output", {}).get("lang", "en"))


@contextlib.contextmanager
def progress(message: str, quiet: bool) -> Iterator[None]:
    """A spinner on stderr for a long step; nothing when quiet or when stderr is not a terminal."""
    console = err_console()
    if quiet or not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


def score(inputs: Inputs, options: ScoreOptions, *, out: Path | None = None, top: int = 10) -> ScoreResult:
    """Run the pipeline on the inputs (with a spinner on a terminal). With the Dask engine the per-customer
    table goes to the Parquet dataset ``out`` as it is scored, and the result lists the ``top`` customers."""
    if inputs.engine.engine == "dask":
        return _score_on_dask(inputs, options, out, top)
    with progress("Scoring customers (summary, models, tiers, lifecycle, churn) …", inputs.quiet):
        return pipeline.score(inputs.tx, customers=inputs.customers, options=options)


def _score_on_dask(inputs: Inputs, options: ScoreOptions, out: Path | None, top: int) -> ScoreResult:
    from crmkit.engine.cluster import dask_client
    from crmkit.engine.dask_engine import check_supported, score_pieces
    from crmkit.output.dataset import DatasetWriter

    check_supported(options)
    dataset = DatasetWriter(out, inputs=inputs.paths) if out is not None else None
    try:
        with (
            progress("Scoring customers on the Dask cluster …", inputs.quiet),
            dask_client(inputs.engine) as client,
        ):
            result, report = score_pieces(
                inputs.pieces,
                options,
                client=client,
                date_order=inputs.date_order,
                storage_options=inputs.engine.storage_options,
                dataset=dataset,
                partitions=inputs.engine.partitions,
                top=top,
                strict=inputs.strict,
            )
    except BaseException:
        if dataset is not None:
            dataset.abort()
        raise
    if not inputs.quiet:
        terminal.print_ingest_notes(err_console(), report, rejects_written=None)
    return result


def engine_settings(
    engine: Enum, scheduler: str | None, workers: int | None, memory_limit: str | None, storage: list[str] | None
) -> EngineSettings:
    """The engine options of a command; the Dask ones only mean something with ``--engine dask``."""
    if engine.value != "dask" and (workers or memory_limit or storage):
        raise OptionError("--workers, --memory-limit and --storage-option need --engine dask")
    return EngineSettings(
        str(engine.value),
        scheduler=scheduler if engine.value == "dask" else None,
        workers=workers,
        memory_limit=memory_limit,
        storage_options=parse_storage_options(storage),
    )


def parse_col(values: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in values or []:
        key, sep, header = item.partition("=")
        if not sep or not key.strip() or not header.strip():
            raise OptionError(f"--col {item!r} is not CANONICAL=HEADER", hint='e.g. --col amount="实收金额"')
        mapping[key.strip()] = header.strip()
    return mapping


def _source(path: Path) -> str:
    """A command-line input as given: URLs such as s3://bucket/key survive being read as a path (s3:/bucket/key)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", r"\1://", str(path))


def write_frame(frame: Any, out: Path | None, inputs: Inputs, lang: str) -> None:
    """Write a table to ``out`` (the Dask engine has written its dataset there already)."""
    if out is not None and inputs.engine.engine != "dask":
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)
