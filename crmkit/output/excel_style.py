"""How each column looks in Excel: number format, width and the colours of tiers and churn bands;
and how every sheet prints.

Pure functions of column names and values, so the workbook writer and the
single-sheet table writer format the same column the same way.
"""

from __future__ import annotations

import math
import re
from typing import Final

import numpy as np
import pandas as pd
from xlsxwriter.worksheet import Worksheet

from crmkit.output.labels import label
from crmkit.schema import COST_COMPONENTS, SIGNUP_DATE, STAGES, TIERS, VALUE_COMPONENTS
from crmkit.scoring.basket import MAX_OFFERS

MONEY: Final = "#,##0.00"
PERCENT: Final = "0.0%"
DATE: Final = "yyyy-mm-dd"
DATETIME: Final = "yyyy-mm-dd hh:mm"
COUNT: Final = "#,##0"
INTEGER: Final = "0"
DECIMAL: Final = "0.00"

MONEY_COLUMNS: Final = frozenset(
    {
        "total_revenue",
        "total_margin",
        "avg_order_value",
        "monetary",
        "expected_spend",
        "clv",
        "value_if_active",
        "historic_value",
        "value_at_risk",
        "total_customer_value",
        "total_customer_cost",
        "delivered_value",
        *VALUE_COMPONENTS,
        *COST_COMPONENTS,
        "recent_revenue",
        "previous_revenue",
        "value_before",
        "value_after",
        "revenue",
        "revenue_new",
        "revenue_returning",
        "revenue_reactivated",
        # Market baskets.
        "tier_typical_order",
        "order_gap",
        "upsell_potential",
        *(f"offer_{k}_value" for k in range(1, MAX_OFFERS + 1)),
    }
)
PERCENT_COLUMNS: Final = frozenset(
    {
        "p_alive",
        "churn_risk",
        "churn_rate",
        "retention_rate",
        "repeat_purchase_rate",
        "net_revenue_retention",
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "catalogue_share",
        *(f"offer_{k}_confidence" for k in range(1, MAX_OFFERS + 1)),
    }
)
DECIMAL_COLUMNS: Final = frozenset(
    {
        "frequency",
        "recency",
        "T",
        "expected_purchases",
        "delivered_value_ratio",
        "usual_gap_days",
        "lift",
        "conviction",
    }
)
COUNT_COLUMNS: Final = frozenset(
    {
        "n_orders",
        "value_rank",
        "r_score",
        "f_score",
        "m_score",
        "days_since_last",
        "days_overdue",
        "recent_days",
        "previous_days",
        "customers",
        "at_risk",
        "active",
        "new",
        "returning",
        "reactivated",
        "lost",
        "baskets",
        "products_bought",
        "categories_bought",
        # Migration matrices count customers per tier or stage; the rollup counts platinum and gold customers.
        *TIERS,
        *STAGES,
        "absent",
    }
)
DATE_COLUMNS: Final = frozenset({"first_purchase", "last_purchase", "expected_next_purchase", SIGNUP_DATE})

_TIER_COLOURS: Final = {
    "platinum": ("#DDEBF7", "#1F4E78"),
    "gold": ("#FFE699", "#7F6000"),
    "iron": ("#E7E6E6", "#3A3838"),
    "prospect": ("#E2EFDA", "#375623"),
}
#: Fill and font colours of vocabulary values (canonical keys), by the column that holds them.
VALUE_COLOURS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "tier": _TIER_COLOURS,
    "tier_before": _TIER_COLOURS,
    "tier_after": _TIER_COLOURS,
    "churn_band": {
        "high": ("#FFC7CE", "#9C0006"),
        "medium": ("#FFEB9C", "#9C5700"),
        "low": ("#C6EFCE", "#006100"),
    },
    "next_action": {
        "win_back": ("#FFC7CE", "#9C0006"),
        "retain": ("#FFEB9C", "#9C5700"),
        "develop": ("#DDEBF7", "#1F4E78"),
        "maintain": ("#C6EFCE", "#006100"),
        "let_go": ("#E7E6E6", "#3A3838"),
    },
}

MIN_WIDTH: Final = 6.0
MAX_WIDTH: Final = 50.0
#: Room for the autofilter drop-down arrow in a header cell.
FILTER_ARROW: Final = 2.5
#: Headers this wide (arrow included) stay on one line even over narrow figures: "Orders", "潜在客户".
SHORT_HEADER: Final = 12.0
_WIDTH_SAMPLE: Final = 5000
_WIDE_CHARS: Final = r"[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]"


def number_format(col: str, values: pd.Series) -> str | None:
    """The Excel number format of a column: from its canonical name, else from its dtype (None = General)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return DATE if _dates_only(values) else DATETIME
    if col in DATE_COLUMNS:
        return DATE
    if values.dtype == object:
        return _mixed_format(values)
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return None
    if col in MONEY_COLUMNS:
        return MONEY
    if col in PERCENT_COLUMNS or col.endswith("_share"):
        return PERCENT
    if col in DECIMAL_COLUMNS:
        # Day counts are whole numbers; week and month counts are not. Show decimals only when there are any.
        return COUNT if _whole_numbers(values) else DECIMAL
    if col in COUNT_COLUMNS:
        return COUNT
    if pd.api.types.is_integer_dtype(values.dtype):
        return INTEGER
    return None


def print_setup(ws: Worksheet, lang: str, *, fit_width: bool) -> None:
    """A4 landscape with the sheet's name and "page 2 of 5" at the foot; ``fit_width``: one page wide."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.set_footer(f"&L&A&R{label('page_footer', lang)}")
    if fit_width:
        ws.fit_to_pages(1, 0)


#: Excel's default column width, in characters.
DEFAULT_WIDTH: Final = 8.43


def column_pixels(width: float | None) -> int:
    """Pixels Excel gives a column ``width`` characters wide (Calibri 11: 7 pixels a character, 5 of padding);
    None is the default width."""
    return math.floor(7 * (DEFAULT_WIDTH if width is None else width) + 5)


def text_width(texts: pd.Series) -> float:
    """Display width of the widest text in characters; CJK characters count double."""
    texts = texts.dropna().astype("str")
    if texts.empty:
        return 0.0
    widths = texts.str.len() + texts.str.count(_WIDE_CHARS)
    return float(widths.max())


def column_width(header: str, values: pd.Series, num_format: str | None) -> tuple[float, str]:
    """Width for a column and its header as shown: on one line, or on two (joined by a line break).

    Wide headers over narrow data go onto two lines rather than stretch the column, broken where
    :func:`header_lines` allows, and the column is at least as wide as the longer line: Excel then has no
    line to wrap on its own, which for Chinese it would do mid-word.
    """
    data = _data_width(values.head(_WIDTH_SAMPLE) if num_format is None else values, num_format)
    head = _width(header) + FILTER_ARROW
    width, shown = max(data, head), header
    if head > max(data + 6, SHORT_HEADER):
        lines = header_lines(header)
        width = max(data, max(_width(line) for line in lines) + FILTER_ARROW)
        shown = "\n".join(lines)
    return min(max(width + 1.5, MIN_WIDTH), MAX_WIDTH), shown


#: Where a header may break: at a space, never inside a word or a run of Chinese characters (labels put a space
#: between Chinese and Latin text or brackets: "客户年龄 (T)"), and never just inside a bracket.
_BREAK = re.compile(r" +")
_OPENING: Final = ("(", "（", "[", "【", "“", "《")
_CLOSING: Final = (")", "）", "]", "】", "”", "》", "、", "，", "。", "：", "；", ",", ".", ":", ";", "%")


def header_lines(header: str) -> list[str]:
    """The header on the two lines that make the longer one shortest, broken at a space (:data:`_BREAK`);
    a header with no such place (a run of Chinese characters) stays on one line."""
    best, best_width = [header], _width(header)
    for match in _BREAK.finditer(header):
        lines = [header[: match.start()], header[match.end() :]]
        if not all(lines) or lines[0].endswith(_OPENING) or lines[1].startswith(_CLOSING):
            continue
        width = max(_width(line) for line in lines)
        if width < best_width:
            best, best_width = lines, width
    return best


def _width(text: str) -> float:
    return text_width(pd.Series([text], dtype="str"))


def _data_width(values: pd.Series, num_format: str | None) -> float:
    if num_format in (DATE, DATETIME):
        return 10.0 if num_format == DATE else 16.0
    if num_format == PERCENT:
        return 7.0
    if num_format is None and (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    ):
        num_format = "general"
    if values.dtype == object:
        # Text and numbers mixed: numbers are shown with thousands separators (see _mixed_format).
        return text_width(
            values.map(lambda v: f"{v:,.0f}" if num_format == COUNT and isinstance(v, (int, float)) else v)
        )
    if num_format is None:
        return text_width(values)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return 4.0
    largest = float(np.abs(finite).max())
    sign = 1 if (finite < 0).any() else 0
    if num_format == MONEY:
        return len(f"{largest:,.2f}") + sign
    if num_format == DECIMAL:
        return len(f"{largest:.2f}") + sign
    if num_format == COUNT:
        return len(f"{largest:,.0f}") + sign
    if num_format == INTEGER:
        return len(f"{largest:.0f}") + sign
    return min(len(f"{largest:.10g}") + sign, 12)


def _mixed_format(values: pd.Series) -> str | None:
    """Thousands separators for a text-and-numbers column whose numbers are all whole (counts)."""
    is_number = values.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)))
    numbers = values[is_number.astype(bool)].astype(float)
    if numbers.empty or not np.all(np.isfinite(numbers) & (numbers == np.round(numbers))):
        return None
    return COUNT


def _whole_numbers(values: pd.Series) -> bool:
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    return bool(np.all(finite == np.round(finite)))


def _dates_only(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty:
        return True
    return bool((present.dt.normalize() == present).all())
