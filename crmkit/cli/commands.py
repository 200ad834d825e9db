"""The application with every command registered (importing a command's module registers it).

``--help`` lists the commands in the order of the imports below.
"""

# isort: off
from crmkit.cli import segment, inspect, sample, value, backtest, lifecycle, churn, retention, compare, basket  # noqa: F401

# isort: on
from crmkit.cli.application import app

__all__ = ["app"]
