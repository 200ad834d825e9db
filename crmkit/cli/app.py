"""The Typer application: the command group, --version, --debug, and input errors turned into exit 2."""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from crmkit.errors import CrmkitError
from crmkit.version import __version__


class _Group(TyperGroup):
    """Turns CrmkitError into ``Error: …`` + exit 2 in one place (unless --debug)."""

    def invoke(self, ctx: typer.Context) -> Any:
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("CRMKIT_DEBUG"))
        try:
            return super().invoke(ctx)
        except CrmkitError as error:
            if debug:
                raise
            err_console().print(
                f"[bold red]Error:[/] {escape(option_words(str(error)))}", markup=True, highlight=False, soft_wrap=True
            )
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as error:  # an internal error: say so briefly, never dump customer data
            if debug or error.__class__.__module__.startswith(("click", "typer")):
                raise
            err_console().print(
                f"Internal error: {type(error).__name__}: {error}\n"
                "Run again as `crmkit --debug …` for the traceback and please report it.",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(1) from None


#: Library parameters and the command-line options that set them: errors raised below the CLI name the
#: parameter, and the CLI shows the option instead.
OPTION_OF: dict[str, str] = {
    "as_of": "--as-of",
    "time_unit": "--time-unit",
    "rfm_scheme": "--rfm-scheme",
    "tier_by": "--tier-by",
    "tier_cuts": "--tiers",
    "tier_mode": "--tier-mode",
    "discount_rate": "--discount-rate",
    "min_tier": "--min-tier",
    "at_risk_min_tier": "--min-tier",
    "group_by": "--group-by",
    "calibration_end": "--calibration-end",
    "holdout_end": "--holdout-end",
    "date_order": "--date-order",
    "pseudonym_key": "--pseudonymize",
    "basket_by": "--by",
    "item_level": "--level",
    "min_support": "--min-support",
    "min_confidence": "--min-confidence",
    "min_lift": "--min-lift",
    "max_len": "--max-len",
}
_ASSIGNED = re.compile(r"\b(" + "|".join(OPTION_OF) + r")=(['\"]?)([^'\"\s,;)]+)\2")
_NAMED = re.compile(r"\b(" + "|".join(OPTION_OF) + r")\b")
_COLUMN = re.compile(r"columns=\{'(\w+)': '([^']*)'\}")


def option_words(text: str) -> str:
    """A library message in command-line words: ``tier_by='revenue'`` → ``--tier-by revenue``, ``as_of`` →
    ``--as-of``, ``columns={'cost': '<header>'}`` → ``--col cost=<header>``, ``model=None`` → ``--no-model``."""
    text = _COLUMN.sub(r"--col \1=\2", text)
    text = _ASSIGNED.sub(lambda m: f"{OPTION_OF[m.group(1)]} {m.group(3)}", text)
    text = text.replace("do not set model=None", "drop --no-model").replace("model=None", "--no-model")
    return _NAMED.sub(lambda m: OPTION_OF[m.group(1)], text)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Customer analytics for CRM analysts: RFM segments, 80/20 tiers, CLV models, "
    "lifecycle stages and churn risk, from CSV/Excel/Parquet exports.",
)


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def out_console() -> Console:
    return Console(highlight=False)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"crmkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Customer analytics for CRM analysts."""


def main() -> None:
    """Console-script entry point."""
    app()
