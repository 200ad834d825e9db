"""How an export is written: where its header is, its separator, encoding, decimal marks, date style, and which
of its columns hold revenue, refunds and order status.

Every choice is made from the file itself (the whole column, not its first rows), carried in the ingest report
and shown by ``crmkit inspect`` so that a user can see it and correct it (``--header-row``, ``--decimal``,
``--date-order``, ``--col``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crmkit.errors import OptionError
from crmkit.ingest.columns import match_columns

#: Rows searched for the header (title, date-range and filter rows come first in Kingdee/Yonyou reports).
HEADER_SEARCH_ROWS = 30

#: Decimal marks ``--decimal`` accepts.
DECIMAL_MARKS = (".", ",")


@dataclass
class Dialect:
    """What was decided about one file, for the report and ``crmkit inspect``."""

    #: Line (CSV) or sheet row (Excel) of the header, 1-based; None for Parquet.
    header_row: int | None = None
    #: How the header row was found: "detected", "first row" or "--header-row".
    header_found: str | None = None
    #: CSV separator.
    separator: str | None = None
    #: CSV encoding as shown to users (utf-8, utf-8 (BOM), gb18030, windows-1252, utf-16).
    encoding: str | None = None
    #: Decimal mark of each number column written as text: header → "." or ",".
    decimal: dict[str, str] = field(default_factory=dict)
    #: Date styles seen in the order date column (style → rows) and the day/month order used.
    date_styles: dict[str, int] = field(default_factory=dict)
    date_order: str | None = None
    #: A recognised export layout ("shopify"), whose columns are read by its own rules.
    layout: str | None = None
    #: What the amount column holds (e.g. "before tax"), and other amount columns the file offers instead.
    amount_basis: str | None = None
    other_amounts: dict[str, str] = field(default_factory=dict)
    #: True when an order's amount is written on its first line only (Shopify's Total).
    order_totals: bool = False
    #: How orders are counted: "order id" (distinct ids) or "customer and day" (purchase occasions).
    orders_by: str = "order id"


def find_header(
    rows: Sequence[Sequence[object]], aliases: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str]
) -> tuple[int, int] | None:
    """(index, columns named) of the header among the first rows: the row naming the most known (or ``--col``)
    columns, at least two (one when only one is asked for); the first such row on a tie. None when no row
    qualifies.

    The most names, not the first row with two: a date-range row (``日期 | 2024-01-01 | 至 | 2024-12-31``)
    names one column, a filter row two, the real header many.
    """
    needed = min(2, len(aliases) + len(overrides))
    best: tuple[int, int] | None = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len(match_columns([v for v in row if v is not None and str(v).strip()], aliases, overrides))
        if count >= needed and (best is None or count > best[1]):
            best = (index, count)
    return best


def unique_names(headers: Sequence[str]) -> list[str]:
    """The headers made unique, for tables keyed by column name (a repeated or empty header gets its
    position)."""
    seen: set[str] = set()
    names = []
    for i, header in enumerate(headers):
        name = header if header and header not in seen else f"{header or 'column'} [{i + 1}]"
        seen.add(name)
        names.append(name)
    return names


def forced_header(header_row: int | None) -> int | None:
    """The 0-based index of ``--header-row N`` (N counts from 1 like Excel and editors), checked."""
    if header_row is None:
        return None
    if header_row < 1:
        raise OptionError(f"header_row={header_row} is not a row number", hint="rows count from 1, as in Excel")
    return header_row - 1


def check_decimal(decimal: str | None) -> str | None:
    """``--decimal`` checked: '.' or ','."""
    if decimal is not None and decimal not in DECIMAL_MARKS:
        raise OptionError(f"decimal={decimal!r} is not a decimal mark", hint="use decimal='.' or decimal=','")
    return decimal
