"""The retention workbook: the period table, both cohort tables with a colour scale and the retention curve,
the what-if with its formula, the per-group table and the Definitions sheet.

Laid out by :class:`crmkit.output.excel._Book` like every other workbook: labelled headers, number formats,
frozen panes, A4 printing, and data rows spliced in fast and formula-proof.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Final

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from crmkit.output.atomic import check_not_input
from crmkit.output.excel import _Book
from crmkit.output.excel_style import COUNT, MONEY, PERCENT, print_setup
from crmkit.output.labels import label, sheet_name, what_if_lines
from crmkit.pipeline.results import Cohort, RetentionReport
from crmkit.schema import check_lang
from crmkit.scoring.retention import WhatIf

#: Fills of the cohort tables' colour scale: low, middle, high share.
SCALE: Final = {"min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"}
#: Cohort lines drawn in grey behind the pooled curve (the most recent ones when there are more).
MAX_COHORT_LINES: Final = 36
CURVE_COLOUR: Final = "#1F4E78"
CHART_SIZE: Final = {"width": 720, "height": 360}
LABEL_WIDTH: Final = 62
VALUE_WIDTH: Final = 16


def write_retention(
    path: str | os.PathLike[str],
    report: RetentionReport,
    *,
    lang: str = "en",
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write ``crmkit retention --out FILE.xlsx`` in ``lang``, all at once or not at all."""
    check_lang(lang)
    inputs = list(inputs)
    check_not_input(path, inputs)
    book = _Book(lang)
    book.table(sheet_name("periods", lang), report.table() if report.groups is None else _periods(report))
    cohorts = [*report.cohorts, *([report.curve] if report.curve is not None else [])]
    if cohorts:
        for key, values in (("cohort_customers", "retained"), ("cohort_revenue", "revenue_retained")):
            frame = cohort_frame(cohorts, values)
            shares = [c for c in frame.columns if c.startswith("+")]
            name = book.table(sheet_name(key, lang), frame, formats=dict.fromkeys(shares, PERCENT))[0]
            sheet = book.book.get_worksheet_by_name(name)
            first = len(frame.columns) - len(shares)
            sheet.conditional_format(1, first, len(frame), len(frame.columns) - 1, {"type": "3_color_scale", **SCALE})
            if key == "cohort_customers":
                _curve_chart(book, sheet, name, frame, first, report.period)
    if report.groups is not None:
        book.table(sheet_name("groups", lang), report.groups)
    if report.what_if is not None:
        _what_if_sheet(book, report.what_if)
    book.definitions(pd.DataFrame(), [], retention=True)
    book.save(path, inputs)


def _periods(report: RetentionReport) -> pd.DataFrame:
    """The overall period table (``report.table()`` is the per-group one when grouped)."""
    return RetentionReport(report.data, report.period, report.periods, (), None).table()


def cohort_frame(cohorts: list[Cohort], values: str) -> pd.DataFrame:
    """One row per cohort (the pooled row last): its size, first-period revenue and the shares k periods on
    (``+0``, ``+1``, …), empty after the as-of date."""
    width = max(len(getattr(c, values)) for c in cohorts)
    return pd.DataFrame(
        {
            "cohort": pd.Series([c.cohort for c in cohorts], dtype="str"),
            "customers": [c.customers for c in cohorts],
            "revenue": [c.revenue for c in cohorts],
            **{
                f"+{k}": [
                    float("nan") if k >= len(shares) or shares[k] is None else shares[k]
                    for shares in (getattr(c, values) for c in cohorts)
                ]
                for k in range(width)
            },
        }
    )


def _curve_chart(book: _Book, sheet: Worksheet, name: str, frame: pd.DataFrame, first: int, period: str) -> None:
    """Share of each cohort still active by periods since the first purchase: every cohort a thin grey line,
    all cohorts pooled a bold one; placed below the table."""
    chart = book.book.add_chart({"type": "line"})
    last_col, pooled = len(frame.columns) - 1, len(frame)
    categories = [name, 0, first, 0, last_col]
    lines = range(max(1, pooled - MAX_COHORT_LINES), pooled)
    for row in lines:
        chart.add_series(
            {
                "name": [name, row, 0],
                "categories": categories,
                "values": [name, row, first, row, last_col],
                "line": {"color": "#BFBFBF", "width": 0.75},
                "marker": {"type": "none"},
            }
        )
    chart.add_series(
        {
            "name": [name, pooled, 0],
            "categories": categories,
            "values": [name, pooled, first, pooled, last_col],
            "line": {"color": CURVE_COLOUR, "width": 2.5},
            "marker": {"type": "circle", "size": 5, "fill": {"color": CURVE_COLOUR}, "border": {"color": CURVE_COLOUR}},
        }
    )
    words = book.lang
    chart.set_title({"name": label("chart_retention_curve", words), "name_font": {"size": 12, "bold": True}})
    chart.set_legend({"position": "bottom", "delete_series": list(range(len(lines)))})
    gridlines = {"visible": True, "line": {"color": "#E0E0E0"}}
    chart.set_x_axis({"name": label("axis_periods_since", words) + f" ({label(period, words)})"})
    chart.set_y_axis(
        {
            "name": label("axis_share_active", words),
            "min": 0,
            "max": 1,
            "num_format": "0%",
            "major_gridlines": gridlines,
        }
    )
    chart.set_size(CHART_SIZE)
    sheet.insert_chart(pooled + 2, 0, chart, {"x_offset": 10, "y_offset": 5})


def _what_if_sheet(book: _Book, scenario: WhatIf) -> None:
    """The what-if's figures, one per line, and the formula they come from."""
    title, lines, formula = what_if_lines(scenario, book.lang)
    ws = book.book.add_worksheet(sheet_name("what_if", book.lang))
    ws.set_column(0, 0, LABEL_WIDTH)
    ws.set_column(1, 1, VALUE_WIDTH)
    ws.write_string(0, 0, title, book.fmt(bold=True, font_size=12, font_color=CURVE_COLOUR))
    formats = {"percent": PERCENT, "count": COUNT, "money": MONEY, "change": "+0.0%;-0.0%"}
    for row, (text, value, kind) in enumerate(lines, start=2):
        ws.write_string(row, 0, text)
        if value is None:
            ws.write_string(row, 1, "–", book.fmt(align="right"))
        else:
            ws.write_number(row, 1, float(value), book.fmt(num_format=formats[kind]))
    below = len(lines) + 3
    ws.merge_range(below, 0, below, 1, "", book.fmt(text_wrap=True, valign="top"))
    ws.write_string(below, 0, formula, book.fmt(text_wrap=True, valign="top", font_color="#404040"))
    ws.set_row(below, 48)
    ws.hide_gridlines(2)
    print_setup(ws, book.lang, fit_width=True)
