"""What every command does first: read the inputs through ingest, settle options (command line, then
crmkit.toml, then defaults, each checked, in :func:`crmkit.pipeline.options_from`), and score through the
pipeline."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from rich.text import Text

from crmkit import ingest, pipeline
from crmkit.cli.application import MESSAGE_LANG, choice_key, err_console
from crmkit.cli.params import DateOrder, Lang
from crmkit.engine import EngineSettings, parse_storage_options
from crmkit.errors import OptionError
from crmkit.ingest.config import DEFAULT_CONFIG
from crmkit.ingest.files import check_regular_file, scan_inputs
from crmkit.ingest.report import IngestReport
from crmkit.output import excel, tables, terminal
from crmkit.output.atomic import check_not_input, same_file
from crmkit.output.labels import CHOICE_LABELS
from crmkit.pipeline.options import ScoreOptions, options_from
from crmkit.pipeline.privacy import Sharing
from crmkit.pipeline.results import RetentionReport, ScoreResult


# --- input ----------------------------------------------------------------------
class Inputs:
    """Transactions, optional master file and config, read through the ingest layer.

    ``outputs`` maps each output option (``--out``, ``--model-out``) to its path: none may be an input, the
    config file, ``--rejects`` or another output. ``quiet`` keeps stderr silent; ``brief`` (``--format json``)
    keeps it to the one-line drop summary and warnings. Rejected rows and the examples of dropped rows are shown
    as ``sharing`` allows (pseudonymised ids), like every other output. With ``engine`` set to Dask nothing is
    read here: the inputs are planned in pieces that the workers read (:func:`score`).
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
        sharing: Sharing | None = None,
        header_row: int | None = None,
        decimal: str | None = None,
        engine: EngineSettings | None = None,
    ) -> None:
        if config is not None:
            check_regular_file(config, what="config file")
        self.config = ingest.load_config(config)
        # Errors and notes from here on speak the --lang given, else crmkit.toml's.
        MESSAGE_LANG.set(MESSAGE_LANG.get() or self.lang(None))
        self.engine = engine or EngineSettings()
        if self.engine.engine == "dask":
            self._plan(
                files,
                customers=customers,
                col=col,
                config=config,
                sheet=sheet,
                strict=strict,
                date_order=date_order,
                rejects=rejects,
                quiet=quiet,
                brief=brief,
                outputs=outputs or {},
                sharing=sharing,
                header_row=header_row,
                decimal=decimal,
            )
            return
        found = scan_inputs(files)
        if customers is not None:
            check_regular_file(customers, what="customers file")
        #: Every input file (folders expanded): outputs may never replace one of them.
        self.paths = [*found.files, *([customers] if customers is not None else [])]
        config_file = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        # Refused before minutes of reading and scoring, not after.
        _check_outputs({**(outputs or {}), "--rejects": rejects}, [*self.paths, *filter(None, [config_file])])
        self.quiet = quiet
        self.brief = brief and not quiet
        self.sharing = sharing or Sharing()
        console = err_console()
        if found.skipped and not quiet:
            terminal.print_skipped_files(console, found.skipped)
        columns = {**self.config.get("columns", {}), **parse_col(col)}
        order = date_order.value if date_order else None
        status = ingest.StatusRules.from_config(self.config.get("status", {}))
        with progress("Reading " + ", ".join(p.name for p in files[:3]) + (" …" if len(files) > 3 else ""), quiet):
            tx = ingest.load_transactions(
                found.files,
                columns=columns,
                sheet=sheet,
                strict=strict,
                date_order=order,
                header_row=header_row,
                decimal=decimal,
                status=status,
            )
            master = ingest.load_customers(customers, columns=columns, date_order=order) if customers else None
            self.customers = ingest.match_customers(tx, master) if master is not None else None
        self.tx = dataclasses.replace(tx, report=dataclasses.replace(tx.report, skipped=tuple(found.skipped)))
        shown = self.sharing.transactions(self.tx)
        if rejects is not None and rejects.suffix.lower() == ".xlsx":
            excel.write_rejects(rejects, shown.rejects, inputs=self.paths)
        elif rejects is not None:
            tables.write_table(shown.rejects, rejects, inputs=self.paths)
        if self.brief:
            terminal.print_drop_summary(console, shown.report)
        elif not quiet:
            terminal.print_ingest_notes(console, shown.report, rejects_written=rejects, lang=self.lang(None))
        for warning in pipeline.dropped_warning(self.tx.report) if not quiet else []:
            terminal.print_note(console, warning)

    def _plan(
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
        brief: bool,
        outputs: Mapping[str, Path | None],
        sharing: Sharing | None,
        header_row: int | None,
        decimal: str | None,
    ) -> None:
        """With the Dask engine: the inputs cut into pieces (headers read and mapped, nothing else), and what the
        engine does not do yet refused before any work starts."""
        for option, given in (("--customers", customers), ("--sheet", sheet)):
            if given is not None:
                raise OptionError(f"{option} is not available with --engine dask yet", hint="use --engine pandas")
        from crmkit.ingest.pieces import ReadSettings, plan_pieces

        self.settings = ReadSettings(
            columns={**self.config.get("columns", {}), **parse_col(col)},
            date_order=date_order.value if date_order else None,
            header_row=header_row,
            decimal=decimal,
            status=ingest.StatusRules.from_config(self.config.get("status", {})),
            storage_options=self.engine.storage_options,
        )
        self.plan = plan_pieces([_source(f) for f in files], self.settings)
        self.paths = self.plan.local_paths
        config_file = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
        _check_outputs({**outputs, "--rejects": rejects}, [*self.paths, *filter(None, [config_file])])
        self.rejects = rejects
        self.quiet = quiet
        self.brief = brief and not quiet
        self.sharing = sharing or Sharing()
        self.strict = strict
        self.customers = None
        if self.plan.skipped and not quiet:
            terminal.print_skipped_files(err_console(), self.plan.skipped)

    def options(self, **given: Any) -> ScoreOptions:
        """Scoring options: the command line's values (None when not given), else crmkit.toml, else defaults.
        Choices may be given by their Chinese labels (``at_risk_min_tier="黄金"``)."""
        if given.get("as_of") is not None:
            given["as_of"] = as_of_date(given["as_of"])
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

    def data_section(self) -> dict[str, Any]:
        """What was read, for the ``data`` part of the JSON of commands that do not score (backtest, compare)."""
        return pipeline.read_summary(self.tx.report)


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
    inputs: Inputs, options: ScoreOptions, *, out: Path | None = None, top: int = 10, written: str = "customers"
) -> ScoreResult:
    """Run the pipeline on the inputs (with a spinner on a terminal). With the Dask engine the workers write
    ``out`` as a Parquet dataset (every customer, their value columns or those worth saving, as ``written``
    says) while they score, and the result lists the ``top`` customers."""
    if inputs.engine.engine == "dask":
        return _score_on_dask(inputs, options, out, top, written)
    with progress("Scoring customers (summary, models, tiers, lifecycle, churn) …", inputs.quiet):
        return pipeline.score(inputs.tx, customers=inputs.customers, options=options)


def _score_on_dask(inputs: Inputs, options: ScoreOptions, out: Path | None, top: int, written: str) -> ScoreResult:
    from crmkit.engine.cluster import dask_client
    from crmkit.engine.dask_engine import score_pieces
    from crmkit.engine.dask_rejects import RejectsFile
    from crmkit.output.dataset import DatasetWriter

    dataset = DatasetWriter(out, inputs=inputs.paths) if out is not None else None
    rejects = RejectsFile(inputs.rejects, inputs=inputs.paths) if inputs.rejects is not None else None
    try:
        with (
            progress("Scoring customers on the Dask cluster …", inputs.quiet),
            dask_client(inputs.engine) as client,
        ):
            result, report = score_pieces(
                inputs.plan,
                options,
                client=client,
                settings=inputs.settings,
                dataset=dataset,
                partitions=inputs.engine.partitions,
                top=top,
                strict=inputs.strict,
                written=written,
                rejects=rejects,
            )
    except BaseException:
        if dataset is not None:
            dataset.abort()
        raise
    _print_read(inputs, report)
    return result


def _print_read(inputs: Inputs, report: IngestReport) -> None:
    """What the workers read and dropped, on stderr as the pandas engine shows it."""
    console = err_console()
    if inputs.brief:
        terminal.print_drop_summary(console, report)
    elif not inputs.quiet:
        terminal.print_ingest_notes(console, report, rejects_written=inputs.rejects, lang=inputs.lang(None))
    for warning in pipeline.dropped_warning(report) if not inputs.quiet else []:
        terminal.print_note(console, warning)


def retention_report(inputs: Inputs, options: ScoreOptions) -> RetentionReport:
    """The retention report of the inputs (with a spinner on a terminal), on the engine the inputs name."""
    if inputs.engine.engine != "dask":
        with progress("Counting customers per period …", inputs.quiet):
            return pipeline.retention_report(inputs.tx, customers=inputs.customers, options=options)
    from crmkit.engine.cluster import dask_client
    from crmkit.engine.dask_rejects import RejectsFile
    from crmkit.engine.dask_retention import retention_pieces

    rejects = RejectsFile(inputs.rejects, inputs=inputs.paths) if inputs.rejects is not None else None
    with (
        progress("Counting customers per period on the Dask cluster …", inputs.quiet),
        dask_client(inputs.engine) as client,
    ):
        report, read = retention_pieces(
            inputs.plan,
            options,
            client=client,
            settings=inputs.settings,
            partitions=inputs.engine.partitions,
            strict=inputs.strict,
            rejects=rejects,
        )
    _print_read(inputs, read)
    return report


def engine_settings(
    engine: Enum, scheduler: str | None, workers: int | None, memory_limit: str | None, storage: list[str] | None
) -> EngineSettings:
    """The engine options of a command; the Dask ones mean something only with ``--engine dask``."""
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


def as_of_date(text: str, option: str = "--as-of") -> Any:
    """A date typed on the command line, within the years crmkit reads (dates out of range are refused)."""
    return ingest.parse_date(text, option=option)


def _source(path: Path) -> str:
    """A command-line input as given: URLs such as s3://bucket/key survive being read as a path (s3:/bucket/key)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", r"\1://", str(path))


def write_frame(frame: Any, out: Path | None, inputs: Inputs, lang: str) -> None:
    """Write a table to ``out`` (the Dask engine's workers have written their dataset there already)."""
    if out is not None and inputs.engine.engine != "dask":
        tables.write_table(frame, out, inputs=inputs.paths, lang=lang)
