"""File outputs: CSV/Parquet/JSON tables, the analyst workbook, all written atomically.

The names below are imported on first use, so the command line can use :mod:`crmkit.output.console`
without loading pandas.
"""

from __future__ import annotations

from typing import Any

__all__ = ["atomic_write", "write_table", "write_workbook"]


def __getattr__(name: str) -> Any:
    if name == "atomic_write":
        from crmkit.output.atomic import atomic_write

        return atomic_write
    if name == "write_table":
        from crmkit.output.tables import write_table

        return write_table
    if name == "write_workbook":
        from crmkit.output.excel import write_workbook

        return write_workbook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
