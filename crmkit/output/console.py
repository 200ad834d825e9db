"""The consoles crmkit prints to, and text from the data made safe to print.

- On a terminal, rich fits the output to the window. Into a file or a pipe nothing is hard-wrapped or
  padded and no table column is left out, so a batch script's log keeps whole lines; only a report on
  stdout still fits a width set with ``COLUMNS``.
- Text from the data (ids, names, headers, file names) may hold control characters: an ANSI colour code,
  an OSC 8 link, a carriage return that rewrites the line, a bidirectional override that reorders it.
  :func:`printable` shows them as escapes (``\\x1b``) instead, and every console crmkit makes applies it
  to whatever it renders, as a last line of defence behind the callers that already did.

Only rich is imported here, so the command line can make its consoles without loading pandas.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Final

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.segment import Segment

#: Width of a console that writes to a file or a pipe: in effect no limit.
UNBOUNDED_WIDTH: Final = 10_000
#: C0 controls but newline, DEL, C1 controls, line/paragraph separators and bidirectional controls.
_CONTROL: Final = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE: Final = re.compile(f"[\n{_CONTROL.pattern[1:-1]}]")


def printable(text: object, *, newlines: bool = True) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``, ``\\r``, ``\\u202e``).

    ``newlines=False`` escapes line breaks too: for a table cell or one line of a message.
    """
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def stdout_console() -> Console:
    """The console for reports on stdout."""
    return _console(stderr=False)


def stderr_console() -> Console:
    """The console for notes, warnings and errors on stderr."""
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    # A report on stdout keeps a width the user set (COLUMNS=80 crmkit … > report.txt); stderr never wraps.
    if not console.is_terminal and (stderr or "COLUMNS" not in os.environ):
        console.soft_wrap = True
        console.width = UNBOUNDED_WIDTH
    console.push_render_hook(_Neutralise())
    return console


class _Neutralise(RenderHook):
    """Renders everything printed through :func:`printable` (rich's own control segments pass untouched)."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Printable(renderable) for renderable in renderables]


class _Printable:
    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        segments: Iterable[Segment] = console.render(self.renderable, options)
        for segment in segments:
            if segment.control or not _CONTROL.search(segment.text):
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style)
