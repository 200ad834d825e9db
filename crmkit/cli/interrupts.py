"""Ctrl-C and termination signals: one line on stderr and exit 130 (143 for SIGTERM), whatever crmkit was doing.

The first signal raises :class:`Interrupted`, a ``BaseException`` that no ``except Exception`` catches (nor
click, which would print "Aborted!" and exit 1): the run unwinds, removing the temporary file of an output
being written, and :func:`finish` ends the process without waiting for a model fit running in another thread.
A second signal while that unwinding waits ends the process at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import Final, NoReturn

#: What the one line says, per signal.
MESSAGES: Final = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated."}
_unwinding = False


class Interrupted(BaseException):
    """A signal asked crmkit to stop; ``signum`` is which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def install() -> None:
    """Handle SIGINT and SIGTERM as described above (main thread only)."""
    for signum in MESSAGES:
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _unwinding
    if _unwinding:
        finish(signum)
    _unwinding = True
    raise Interrupted(signum)


def finish(signum: int) -> NoReturn:
    """Print the one line and exit with 128 + the signal number, skipping the interpreter's shutdown."""
    terminal = sys.stderr.isatty()
    message = ("\x1b[?25h\n" if terminal else "") + MESSAGES.get(signal.Signals(signum), "Stopped.") + "\n"
    with contextlib.suppress(OSError, ValueError):  # \x1b[?25h: the cursor a spinner hid; \n: after the ^C
        os.write(sys.stderr.fileno(), message.encode())
    os._exit(128 + signum)
