"""User-facing errors: every message is ready to print and says how to fix the problem.

The CLI catches :class:`CrmkitError` in one place, prints ``Error: <message>`` to
stderr and exits with code 2 (the input or the options must change).
"""

from __future__ import annotations


class CrmkitError(Exception):
    """Base class for errors caused by input data or options, not by a bug."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class InputFileError(CrmkitError):
    """A file cannot be found, opened or decoded."""


class MissingColumnsError(CrmkitError):
    """A required column cannot be found in an input file."""


class BadValueError(CrmkitError):
    """Values in the data cannot be used (bad dates, amounts, ids) under --strict, or none are usable."""


class OptionError(CrmkitError):
    """An option value is out of range or inconsistent with the data."""


class OutputError(CrmkitError):
    """An output cannot be written (would overwrite an input, too many rows for Excel, ...)."""
