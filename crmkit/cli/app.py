"""The Typer application: the command group, --version, --debug, and input errors turned into exit 2."""

from __future__ import annotations

import os
import re
import sys
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from crmkit.errors import CrmkitError
from crmkit.output.labels import MESSAGE_WORDS, choice_key, message_text
from crmkit.schema import LANGUAGES
from crmkit.version import __version__

#: The language of errors and notes in the command running: its --lang, else crmkit.toml's (set once read).
MESSAGE_LANG: ContextVar[str | None] = ContextVar("crmkit_message_lang", default=None)


class _Group(TyperGroup):
    """Turns CrmkitError into ``Error: …`` + exit 2 in one place (unless --debug)."""

    def invoke(self, ctx: typer.Context) -> Any:
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("CRMKIT_DEBUG"))
        language = MESSAGE_LANG.set(_lang_option([*ctx._protected_args, *ctx.args]))
        try:
            return super().invoke(ctx)
        except CrmkitError as error:
            if debug:
                raise
            _print_error(error.message, error.hint, message_lang())
            raise typer.Exit(error.exit_code) from None
        except typer.BadParameter as error:
            if debug or message_lang() == "en":
                raise
            _print_error(_choice_error(error), None, message_lang())  # Typer's own words, for a bad choice
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
        finally:
            MESSAGE_LANG.reset(language)


def message_lang() -> str:
    """The language errors and notes are shown in (English until a command says otherwise)."""
    return MESSAGE_LANG.get() or "en"


def _lang_option(args: list[str]) -> str | None:
    """The --lang given on the command line (also as its Chinese name, 中文), before any option is parsed."""
    for i, arg in enumerate(args):
        value = (
            arg.partition("=")[2]
            if arg.startswith("--lang=")
            else args[i + 1]
            if arg == "--lang" and i + 1 < len(args)
            else None
        )
        if value is not None and choice_key(value) in LANGUAGES:
            return choice_key(value)
    return None


def _print_error(message: str, hint: str | None, lang: str) -> None:
    """``Error: …`` (and ``Hint: …``) on stderr, in command-line words and in ``lang``, shown literally."""
    index = LANGUAGES.index(lang)
    text = Text.assemble((MESSAGE_WORDS["error"][index], "bold red"), message_text(option_words(message), lang))
    if hint:
        text.append(f"\n{MESSAGE_WORDS['hint'][index]}{message_text(option_words(hint), lang)}")
    err_console().print(text, highlight=False, soft_wrap=True)


_BAD_CHOICE = re.compile(r"(?:Value error, )?'(?P<value>.*)' is not one of (?P<choices>.+?)\.?$", re.S)


def _choice_error(error: typer.BadParameter) -> str:
    """A bad option value in the words of crmkit's own errors (``unknown --period 'week'; choose one of …``),
    which :func:`message_text` translates; other usage errors as Typer words them."""
    match = _BAD_CHOICE.search(error.message)
    option = error.param.opts[0] if error.param is not None and error.param.opts else None
    if match is None or option is None:
        return error.format_message()
    return f"unknown {option} '{match['value']}'; choose one of {match['choices'].replace(chr(39), '')}"


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
    "retention_period": "--period",
    "what_if": "--what-if",
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
    # Choices also by their Chinese labels: --min-tier 黄金, --time-unit 周, --period 季度, --tier-by 毛利.
    context_settings={"token_normalize_func": choice_key},
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
