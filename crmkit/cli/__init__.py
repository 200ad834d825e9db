"""The ``crmkit`` command line: a thin Typer layer over the library.

Each command parses its options, reads through :mod:`crmkit.ingest`, runs :mod:`crmkit.pipeline` and hands
the result to :mod:`crmkit.output`. Errors caused by input or options (:class:`crmkit.errors.CrmkitError`)
are printed as one ``Error: …`` message on stderr with exit code 2; an unexpected internal error exits 1.
``crmkit --debug …`` shows the traceback instead.
"""

# Importing a command's module registers it; --help lists the commands in this order.
# isort: off
from crmkit.cli import segment, inspect, sample, value, backtest, lifecycle, churn, compare, basket  # noqa: F401

# isort: on
from crmkit.cli.app import app, main

__all__ = ["app", "main"]
