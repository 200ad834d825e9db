"""The Typer application: the command group, --version, --debug, and how a run ends.

- an input or option error (:class:`CrmkitError`) is ``Error: …`` on stderr and exit 2;
- an unexpected error is ``Internal error: …`` and exit 1 (a bug; ``--debug`` shows the traceback);
- Ctrl-C is one line and exit 130 (see :mod:`crmkit.cli.interrupts`);
- library warnings (openpyxl, numpy, pandas) are not shown: crmkit reports what matters itself
  (``--debug`` shows them).

Only typer and rich are imported here: the commands import pandas and the models when they run, so
``crmkit --version`` and ``--help`` answer at once.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
import warnings
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from crmkit.cli.interrupts import MESSAGES
from crmkit.errors import CrmkitError
from crmkit.output.console import printable, stderr_console, stdout_console
from crmkit.schema import LANGUAGES
from crmkit.version import __version__

#: The language of errors and notes in the command running: its --lang, else crmkit.toml's (set once read).
MESSAGE_LANG: ContextVar[str | None] = ContextVar("crmkit_message_lang", default=None)


class _Group(TyperGroup):
    """Turns errors into their message and exit code in one place (unless --debug)."""

    def invoke(self, ctx: Any) -> Any:  # a typer.Context (click's, as TyperGroup declares it)
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("CRMKIT_DEBUG"))
        language = MESSAGE_LANG.set(_lang_option([*ctx._protected_args, *ctx.args]))
        try:
            with warnings.catch_warnings():
                if not debug:
                    warnings.simplefilter("ignore")
                result = super().invoke(ctx)
                sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
                return result
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
        except KeyboardInterrupt:  # when run in-process without crmkit's own signal handling (see cli.main)
            err_console().print(Text(MESSAGES[signal.SIGINT]))
            raise typer.Exit(130) from None
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as error:
            if debug or error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                raise _internal(error, debug) from None
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
            err_console().print(Text(f"Error: cannot write to standard output: {error.strerror}"))
            raise typer.Exit(2) from None
        except Exception as error:  # an internal error: say so briefly, never dump customer data
            if debug or error.__class__.__module__.startswith(("click", "typer")):
                raise
            raise _internal(error, debug) from None
        finally:
            MESSAGE_LANG.reset(language)


def _internal(error: Exception, debug: bool) -> BaseException:
    """The brief report of an unexpected error, as the exit to raise (the error itself with --debug)."""
    if debug:
        return error
    err_console().print(
        Text(
            printable(f"Internal error: {type(error).__name__}: {error}")
            + "\nRun again as `crmkit --debug …` for the traceback and please report it."
        )
    )
    return typer.Exit(1)


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
    if lang == "en":
        words, say = ("Error: ", "Hint: "), option_words
    else:  # the translations load only when needed: --version and --help stay quick
        from crmkit.output.labels import MESSAGE_WORDS, message_text

        index = LANGUAGES.index(lang)
        words = (MESSAGE_WORDS["error"][index], MESSAGE_WORDS["hint"][index])

        def say(text: str) -> str:
            return message_text(option_words(text), lang)

    text = Text.assemble((words[0], "bold red"), printable(say(message)))
    if hint:
        text.append(f"\n{words[1]}{printable(say(hint))}")
    err_console().print(text)


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
    "margin": "--margin",
    "horizon": "--horizon",
    "min_tier": "--min-tier",
    "at_risk_min_tier": "--min-tier",
    "group_by": "--group-by",
    "calibration_end": "--calibration-end",
    "holdout_end": "--holdout-end",
    "date_order": "--date-order",
    "header_row": "--header-row",
    "pseudonym_key": "--pseudonymize",
    "retention_period": "--period",
    "what_if": "--what-if",
    "basket_by": "--by",
    "item_level": "--level",
    "min_support": "--min-support",
    "min_confidence": "--min-confidence",
    "min_lift": "--min-lift",
    "max_len": "--max-len",
}
#: Parameters named in messages only as ``name=value`` (their bare names are ordinary words: "decimal mark").
OPTION_OF_VALUE: dict[str, str] = {"decimal": "--decimal", "sheet": "--sheet"}
#: Library advice and the command line's words for it.
PHRASE_OF = {
    "read them without strict=True to skip them (they are kept in .rejects)": (
        "drop --strict to skip them (write them out with --rejects FILE)"
    ),
    "do not set model=None": "drop --no-model",
    "model=None": "--no-model",
}
_ASSIGNABLE = OPTION_OF | OPTION_OF_VALUE
_ASSIGNED = re.compile(r"\b(" + "|".join(_ASSIGNABLE) + r")=(?:'([^']*)'|\"([^\"]*)\"|([^'\"\s,;)]+))")
_NAMED = re.compile(r"(?<!\] )\b(" + "|".join(OPTION_OF) + r")\b")  # not "[value] discount_rate in crmkit.toml"
_COLUMNS = re.compile(r"columns=\{([^{}]*)\}")
_COLUMN_ENTRY = re.compile(r"'(\w+)': '([^']*)'")


def option_words(text: str) -> str:
    """A library message in command-line words: ``tier_by='revenue'`` → ``--tier-by revenue``, ``as_of`` →
    ``--as-of``, ``decimal=','`` → ``--decimal ,``, ``columns={'cost': '<header>'}`` → ``--col
    cost="<header>"``, ``model=None`` → ``--no-model``."""
    text = _COLUMNS.sub(lambda m: " ".join(_col_option(*entry) for entry in _COLUMN_ENTRY.findall(m.group(1))), text)
    for phrase, words in PHRASE_OF.items():
        text = text.replace(phrase, words)
    text = _ASSIGNED.sub(
        lambda m: f"{_ASSIGNABLE[m.group(1)]} {next(g for g in m.groups()[1:] if g is not None)}",
        text,
    )
    return _NAMED.sub(lambda m: OPTION_OF[m.group(1)], text)


def _col_option(column: str, header: str) -> str:
    """``--col column=header``, the header quoted for the shell unless it is one plain word."""
    return f"--col {column}={header}" if re.fullmatch(r"[\w.-]+", header) else f'--col {column}="{header}"'


def choice_key(value: str) -> str:
    """The canonical choice a command-line value names: its key when it is a Chinese label, else itself (the
    labels load only for a value that is not plain ASCII)."""
    if value.isascii():
        return value
    from crmkit.output.labels import choice_key as labelled_key

    return labelled_key(value)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: [output] and [columns] print as written
    pretty_exceptions_enable=False,
    # Choices also by their Chinese labels: --min-tier 黄金, --time-unit 周, --period 季度, --tier-by 毛利.
    context_settings={"token_normalize_func": choice_key},
    help="Customer analytics for CRM analysts: RFM segments, 80/20 tiers, CLV models, "
    "lifecycle stages and churn risk, from CSV/Excel/Parquet exports.",
)


def err_console() -> Console:
    """The console for notes and errors on stderr (never wrapped when it is not a terminal)."""
    return stderr_console()


def out_console() -> Console:
    """The console for reports on stdout."""
    return stdout_console()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"crmkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks for errors, and library warnings.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Customer analytics for CRM analysts."""
