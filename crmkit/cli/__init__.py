"""The ``crmkit`` command line: a thin Typer layer over the library.

Each command parses its options, reads through :mod:`crmkit.ingest`, runs :mod:`crmkit.pipeline` and hands
the result to :mod:`crmkit.output`. Errors caused by input or options (:class:`crmkit.errors.CrmkitError`)
are printed as one ``Error: …`` message on stderr with exit code 2; an unexpected internal error exits 1;
Ctrl-C exits 130. ``crmkit --debug …`` shows the traceback instead.

This module is the console script's entry point and stays tiny: signal handling is in place before
anything else is imported, and ``app`` (with every command) is imported on first use.
"""

from __future__ import annotations

from typing import Any

from crmkit.cli import interrupts

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    interrupts.install()
    try:
        from crmkit.cli.commands import app

        app(prog_name="crmkit")
    except interrupts.Interrupted as stop:
        interrupts.finish(stop.signum)


def __getattr__(name: str) -> Any:
    if name == "app":
        from crmkit.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
