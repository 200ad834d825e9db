"""The Summary sheet: headline figures, tier/lifecycle/churn tables, model fit, warnings and native charts.

Laid out for a sales manager reading top to bottom: label in column A, figures
to its right, charts beside the tables. Every value is written with an explicit
type (``write_string`` for text), so nothing from the data becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from crmkit.output.excel_style import (
    COUNT,
    DATE,
    MONEY,
    PERCENT,
    VALUE_COLOURS,
    column_pixels,
    header_lines,
    print_setup,
    text_width,
)
from crmkit.output.jsondoc import jsonable
from crmkit.output.labels import column_label, label, message_text, retention_words, sheet_name, value_label
from crmkit.pipeline.results import Summary
from crmkit.scoring.retention import PERIOD_COLUMNS
from crmkit.scoring.rollup import NO_GROUP
from crmkit.scoring.value import PER_CUSTOMER_MARGIN

FormatFactory = Callable[..., Format]

DATA_FIELDS: Final = (
    "customers",
    "prospects",
    "rows_read",
    "rows_used",
    "rows_dropped",
    "first_date",
    "last_date",
    "as_of",
    "rows_after_as_of",
    "time_unit",
)
PARETO_FIELDS: Final = ("top20_revenue_share", "customers_for_80pct", "customers_for_80pct_share", "gini")
FIELD_FORMATS: Final[dict[str, str]] = {
    "rows_read": COUNT,
    "rows_used": COUNT,
    "rows_dropped": COUNT,
    "customers": COUNT,
    "prospects": COUNT,
    "rows_after_as_of": COUNT,
    "n_customers": COUNT,
    "customers_for_80pct": COUNT,
    "first_date": DATE,
    "last_date": DATE,
    "as_of": DATE,
    "top20_revenue_share": PERCENT,
    "customers_for_80pct_share": PERCENT,
    "customer_share": PERCENT,
    "revenue_share": PERCENT,
    "revenue": MONEY,
    "average_value": MONEY,
    "value_at_risk": MONEY,
    "profit": MONEY,
    "gini": "0.000",
    "log_likelihood": "#,##0.00",
    "platinum": COUNT,
    "gold": COUNT,
    "at_risk": COUNT,
    "top5_share": PERCENT,
    "discount_rate": PERCENT,
    "margin": PERCENT,
    "spend_frequency_correlation": "0.000",
    "prospects_without_model_values": COUNT,
    "population_mean": MONEY,
    "active": COUNT,
    "new": COUNT,
    "returning": COUNT,
    "reactivated": COUNT,
    "lost": COUNT,
    "churn_rate": PERCENT,
    "retention_rate": PERCENT,
    "repeat_purchase_rate": PERCENT,
    "revenue_new": MONEY,
    "revenue_returning": MONEY,
    "revenue_reactivated": MONEY,
    "net_revenue_retention": PERCENT,
}
#: The segment summary's retention figures (the latest complete period), in order.
RETENTION_FIELDS: Final = tuple(c for c in PERIOD_COLUMNS if c not in ("period", "complete"))
MODEL_FIELDS: Final = (
    "model",
    "time_unit",
    "n_customers",
    "log_likelihood",
    "converged",
    "horizon",
    "discount_rate",
    "margin",
    "spend_frequency_correlation",
    "prospects_without_model_values",
)
PARAMETER_FORMAT: Final = "0.0000"
#: (summary key, first column's key, vocabulary column of its values, the other columns).
TABLES: Final = (
    (
        "tiers",
        "tier",
        "tier",
        ("customers", "customer_share", "revenue", "revenue_share", "profit", "average_value"),
    ),
    ("segments", "segment", "segment", ("customers", "revenue")),
    ("lifecycle", "stage", "lifecycle_stage", ("customers", "revenue")),
    ("churn", "band", "churn_band", ("customers", "value_at_risk")),
    ("next_actions", "action", "next_action", ("customers", "revenue")),
)
SECTION_OF: Final = {
    "tiers": "section_tiers",
    "segments": "section_segments",
    "lifecycle": "section_lifecycle",
    "churn": "section_churn",
    "next_actions": "section_actions",
}
#: The delivered-value tables: (key under ``delivered_value``, title, the key naming each column's group and
#: the vocabulary column of those groups).
DELIVERED_TABLES: Final = (
    ("by_tier", "delivered_by_tier", "tier", "tier"),
    ("by_stage", "delivered_by_stage", "stage", "lifecycle_stage"),
)
DELIVERED_FORMAT: Final = "#,##0.0"
LABEL_WIDTH: Final = 44
VALUE_WIDTH: Final = 15
TABLE_COLUMNS: Final = 6
#: The per-group table is wider than the others (group + 8 figures): it goes below the charts.
GROUP_COLUMNS: Final = 9
LINE_HEIGHT: Final = 15
CHART_COLUMN: Final = 7
CHART_SIZE: Final = {"width": 620, "height": 340}
CHART_OFFSET: Final = 10
CHART_ROWS: Final = 19
#: Hidden columns holding the Pareto curve the chart plots.
CURVE_COLUMN: Final = 26
HEADER_FILL: Final = "#D9E1F2"
ACCENT: Final = "#1F4E78"


class _Summary:
    """Writes the Summary sheet row by row, remembering where each table landed for the charts."""

    def __init__(self, book: Workbook, fmt: FormatFactory, lang: str) -> None:
        self.book, self.fmt, self.lang = book, fmt, lang
        self.name = sheet_name("summary", lang)
        self.ws: Worksheet = book.add_worksheet(self.name)
        self.row = 0
        self.tables: dict[str, tuple[int, int]] = {}
        self.tier_keys: list[str] = []

    def text(self, key: str) -> str:
        return label(key, self.lang)

    def title(self) -> None:
        self.ws.set_column(0, 0, LABEL_WIDTH)
        self.ws.set_column(1, GROUP_COLUMNS - 1, VALUE_WIDTH)
        self.ws.set_row(0, 24)
        self.ws.write_string(0, 0, self.text("title"), self.fmt(bold=True, font_size=16, font_color=ACCENT))
        self.row = 2

    def section(self, key: str, width: int = TABLE_COLUMNS) -> None:
        self.ws.set_row(self.row, 20)
        self.ws.write_string(
            self.row,
            0,
            self.text(key),
            self.fmt(bold=True, font_size=12, font_color=ACCENT, bottom=2, bottom_color=ACCENT, valign="bottom"),
        )
        for col in range(1, width):
            self.ws.write_blank(self.row, col, None, self.fmt(bottom=2, bottom_color=ACCENT))
        self.row += 1

    def fields(self, values: Mapping[str, Any], keys: Sequence[str]) -> None:
        for key in keys:
            if key in values:
                self.field(key, values[key])
        self.row += 1

    def field(self, key: str, value: Any) -> None:
        """One labelled figure: the label in column A, the value (labelled when it is a known word) in B."""
        if key in ("time_unit", "tier_by"):
            value = self.text(value)
        elif key == "model":
            value = value_label("model", value, self.lang)
        elif key == "margin" and value == PER_CUSTOMER_MARGIN:
            value = self.text("margin_per_customer")
        self.ws.write_string(self.row, 0, self.text(key))
        self.value(self.row, 1, value, FIELD_FORMATS.get(key))
        self.row += 1

    def value(self, row: int, col: int, value: Any, num_format: str | None, **props: Any) -> None:
        """Write one value with its own cell type: text as text, numbers as numbers, dates as dates."""
        ws = self.ws
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            ws.write_string(row, col, "–", self.fmt(align="right", **props))
        elif isinstance(value, (bool, np.bool_)):
            ws.write_string(row, col, self.text("yes" if value else "no"), self.fmt(align="right", **props))
        elif isinstance(value, (int, float)) or _is_numpy_number(value):
            ws.write_number(row, col, float(value), self.fmt(num_format=num_format, **props))
        elif isinstance(value, (dt.date, pd.Timestamp)) or (num_format == DATE and _is_iso_date(value)):
            ws.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), self.fmt(num_format=DATE, **props))
        else:
            # Short text sits right, over the figures; longer text runs on to the right instead of being cut.
            text = str(value)
            fits = text_width(pd.Series([text])) < VALUE_WIDTH - 1
            ws.write_string(row, col, text, self.fmt(align="right" if fits else "left", **props))

    def header(self, texts: Sequence[str]) -> None:
        """A table's header row: first column left, figures right, tall enough for the longest wrapped header.

        Headers wider than their column go on two lines broken between words (:func:`header_lines`), so Excel
        does not break Chinese ones mid-word.
        """
        room = VALUE_WIDTH - 1
        texts = [texts[0], *("\n".join(header_lines(t)) if _width(t) > room else t for t in texts[1:])]
        lines = max([1, *(sum(math.ceil(_width(line) / room) for line in t.split("\n")) for t in texts[1:])])
        self.ws.set_row(self.row, LINE_HEIGHT * lines + 5)
        props = {"bold": True, "bg_color": HEADER_FILL, "bottom": 1, "text_wrap": True, "valign": "vcenter"}
        self.ws.write_string(self.row, 0, texts[0], self.fmt(**props))
        for col, text in enumerate(texts[1:], start=1):
            self.ws.write_string(self.row, col, text, self.fmt(**props, align="right"))
        self.row += 1

    def table(self, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
        _, first_key, vocabulary_column, keys = next(t for t in TABLES if t[0] == key)
        other_keys = [name for name in keys if any(record.get(name) is not None for record in rows)]
        self.section(SECTION_OF[key], width=max(TABLE_COLUMNS, 1 + len(other_keys)))
        self.header([self.text(first_key), *(self.text(name) for name in other_keys)])
        first = self.row
        colours = VALUE_COLOURS.get(vocabulary_column, {})
        for record in rows:
            canonical = str(record.get(first_key, ""))
            if key == "tiers":
                self.tier_keys.append(canonical)
            fill, font = colours.get(canonical, (None, None))
            props = {"bg_color": fill, "font_color": font} if fill else {}
            self.ws.write_string(self.row, 0, value_label(vocabulary_column, canonical, self.lang), self.fmt(**props))
            for col, name in enumerate(other_keys, start=1):
                self.value(self.row, col, record.get(name), FIELD_FORMATS.get(name))
            self.row += 1
        self.tables[key] = (first, self.row - 1)
        self.row += 1

    def delivered(self, delivered: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Average delivered-value components: one row per component, one column per tier (then per stage)."""
        for key, title, group_key, vocabulary_column in DELIVERED_TABLES:
            rows = delivered.get(key) or []
            if not rows:
                continue
            self.section(title)
            groups = [str(record[group_key]) for record in rows]
            self.header([self.text("component"), *(value_label(vocabulary_column, g, self.lang) for g in groups)])
            components = [name for name in rows[0] if name != group_key]
            for name in components:
                self.ws.write_string(self.row, 0, column_label(name, self.lang))
                for col, record in enumerate(rows, start=1):
                    self.value(self.row, col, record.get(name), COUNT if name == "customers" else DELIVERED_FORMAT)
                self.row += 1
            self.row += 1

    def groups(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The per-group rollup (``--group-by``): the group column first, then its figures."""
        keys = list(rows[0])
        self.section("section_groups", width=max(len(keys), TABLE_COLUMNS))
        self.header([column_label(key, self.lang) for key in keys])
        for record in rows:
            group = str(record.get(keys[0], ""))
            self.ws.write_string(self.row, 0, self.text(group) if group == NO_GROUP else group)
            for col, key in enumerate(keys[1:], start=1):
                self.value(self.row, col, record.get(key), FIELD_FORMATS.get(key))
            self.row += 1
        self.row += 1

    def retention(self, retention: Mapping[str, Any]) -> None:
        """The latest complete period's retention figures, labelled as columns (``new`` customers, not the
        RFM segment), and the period still running at the as-of date, if any."""
        words = retention_words(self.lang, str(retention["period_type"]))
        self.section("section_retention")
        self.ws.write_string(self.row, 0, self.text("period"))
        self.value(self.row, 1, words["period_of"].format(label=retention["period"]), None)
        self.row += 1
        for key in RETENTION_FIELDS:
            self.ws.write_string(self.row, 0, column_label(key, self.lang))
            self.value(self.row, 1, retention.get(key), FIELD_FORMATS.get(key))
            self.row += 1
        if retention.get("partial_period"):
            self.ws.write_string(self.row, 0, self.text("partial_period"))
            self.value(self.row, 1, str(retention["partial_period"]), None)
            self.row += 1
        self.row += 1

    def model(self, model: Mapping[str, Any]) -> None:
        self.section("section_model")
        for key in MODEL_FIELDS:
            if key in model:
                self.field(key, model[key])
        for group in ("params", "gamma_gamma"):
            params = model.get(group) or {}
            if params:
                self.ws.write_string(self.row, 0, self.text(group), self.fmt(italic=True))
                self.row += 1
            for name, number in params.items():
                # Parameter names (r, alpha, a, b, p, q, v) stay as in the literature; counts and sums are labelled.
                shown = self.text(name) if name in FIELD_FORMATS else str(name)
                self.ws.write_string(self.row, 0, shown, self.fmt(indent=2))
                self.value(self.row, 1, number, FIELD_FORMATS.get(name, PARAMETER_FORMAT))
                self.row += 1
        self.row += 1

    def messages(self, key: str, messages: Sequence[str], colour: str) -> None:
        """Notes or warnings, one wrapped line each across the table columns."""
        self.section(key)
        wrap = self.fmt(text_wrap=True, valign="top", font_color=colour)
        for message in messages:
            text = message_text(str(message), self.lang)
            lines = max(1, math.ceil(len(text) / 95)) + text.count("\n")
            self.ws.set_row(self.row, LINE_HEIGHT * lines)
            self.ws.merge_range(self.row, 0, self.row, TABLE_COLUMNS - 1, "", wrap)
            self.ws.write_string(self.row, 0, text, wrap)
            self.row += 1
        self.row += 1

    def pareto_chart(self, pareto: Mapping[str, Any], at_row: int) -> bool:
        """The Lorenz-style curve with the equal-share diagonal and the 80% point marked, with guide lines to
        both axes so the customer share can be read off."""
        curve = pareto.get("curve") or []
        if not curve:
            return False
        x, y, ws = CURVE_COLUMN, CURVE_COLUMN + 1, self.ws
        hidden = self.fmt(num_format="0.000")
        ws.set_column(x, y, 12, None, {"hidden": True})
        ws.write_string(0, x, self.text("customer_share"))
        ws.write_string(0, y, self.text("value_share"))
        for i, point in enumerate(curve, start=1):
            ws.write_number(i, x, float(point["customer_share"]), hidden)
            ws.write_number(i, y, float(point["value_share"]), hidden)
        last = len(curve)
        diagonal = last + 2
        for i, corner in enumerate((0.0, 1.0)):
            ws.write_number(diagonal + i, x, corner, hidden)
            ws.write_number(diagonal + i, y, corner, hidden)
        chart = self.book.add_chart({"type": "scatter", "subtype": "straight"})
        chart.add_series(
            {
                "name": self.text("pareto_curve"),
                "categories": [self.name, 1, x, last, x],
                "values": [self.name, 1, y, last, y],
                "line": {"color": ACCENT, "width": 2.25},
                "marker": {"type": "none"},
            }
        )
        chart.add_series(
            {
                "name": self.text("equal_share"),
                "categories": [self.name, diagonal, x, diagonal + 1, x],
                "values": [self.name, diagonal, y, diagonal + 1, y],
                "line": {"color": "#A6A6A6", "width": 1, "dash_type": "dash"},
                "marker": {"type": "none"},
            }
        )
        share: float | None = pareto.get("customers_for_80pct_share")
        if share is not None:
            # Guide lines (0, 80%) → (share, 80%) → (share, 0), then the point itself.
            guide = diagonal + 3
            for i, (gx, gy) in enumerate(((0.0, 0.8), (float(share), 0.8), (float(share), 0.0), (float(share), 0.8))):
                ws.write_number(guide + i, x, gx, hidden)
                ws.write_number(guide + i, y, gy, hidden)
            chart.add_series(
                {
                    "categories": [self.name, guide, x, guide + 2, x],
                    "values": [self.name, guide, y, guide + 2, y],
                    "line": {"color": "#C00000", "width": 1, "dash_type": "round_dot"},
                    "marker": {"type": "none"},
                }
            )
            point = guide + 3
            # The text goes in the series name: the legend shows it in every spreadsheet program.
            chart.add_series(
                {
                    "name": self.text("pareto_point_text").format(share=f"{float(share):.1%}"),
                    "categories": [self.name, point, x, point, x],
                    "values": [self.name, point, y, point, y],
                    "line": {"none": True},
                    "marker": {
                        "type": "circle",
                        "size": 8,
                        "fill": {"color": "#C00000"},
                        "border": {"color": "#C00000"},
                    },
                }
            )
            chart.set_legend({"position": "bottom", "delete_series": [2]})
        else:
            chart.set_legend({"position": "bottom"})
        axis = {
            "min": 0,
            "max": 1,
            "major_unit": 0.2,
            "num_format": "0%",
            "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}},
        }
        chart.set_x_axis({**axis, "name": self.text("axis_customer_share")})
        chart.set_y_axis({**axis, "name": self.text("axis_value_share")})
        chart.show_hidden_data()
        self._place(chart, "chart_pareto", at_row)
        return True

    def column_chart(
        self, table: str, value_col: int, title: str, num_format: str, at_row: int, *, from_zero: bool = True
    ) -> bool:
        """A column chart of one column of a summary table, bars coloured like the tiers where it shows tiers;
        the value axis starts at 0 (``from_zero``, unless a bar is negative), so bar heights compare fairly."""
        if table not in self.tables or self.tables[table][1] < self.tables[table][0]:
            return False
        first, last = self.tables[table]
        chart = self.book.add_chart({"type": "column"})
        series: dict[str, Any] = {
            "name": self.text(title),
            "categories": [self.name, first, 0, last, 0],
            "values": [self.name, first, value_col, last, value_col],
            "fill": {"color": "#2E75B6"},
            "gap": 60,
            "data_labels": {"value": True, "num_format": num_format},
        }
        if table == "tiers":
            colours = VALUE_COLOURS["tier"]
            series["points"] = [
                {"fill": {"color": colours[key][0]}, "border": {"color": colours[key][1]}} if key in colours else None
                for key in self.tier_keys
            ]
        chart.add_series(series)
        chart.set_legend({"none": True})
        axis = {"num_format": num_format, "major_gridlines": {"visible": True, "line": {"color": "#E0E0E0"}}}
        chart.set_y_axis({**axis, "min": 0} if from_zero else axis)
        self._place(chart, title, at_row)
        return True

    def print_width(self) -> int:
        """The last column the sheet prints: the charts' right edge (the hidden chart data lie beyond it)."""
        right, col = CHART_OFFSET + CHART_SIZE["width"], CHART_COLUMN
        while right > 0:
            right -= column_pixels(LABEL_WIDTH if col == 0 else VALUE_WIDTH if col < GROUP_COLUMNS else None)
            col += 1
        return max(col - 1, GROUP_COLUMNS - 1)

    def _place(self, chart: Any, title: str, at_row: int) -> None:
        chart.set_title({"name": self.text(title), "name_font": {"size": 12, "bold": True}})
        chart.set_size(CHART_SIZE)
        self.ws.insert_chart(at_row, CHART_COLUMN, chart, {"x_offset": CHART_OFFSET, "y_offset": 5})


def write_summary(book: Workbook, fmt: FormatFactory, result: Summary, lang: str, *, notes: Sequence[str] = ()) -> None:
    """Add the Summary sheet (first sheet) with its tables and charts to ``book``, laid out from the summary's
    canonical (JSON) form, so the sheet shows exactly the figures ``--format json`` gives; ``notes`` (what the
    workbook holds) come first, under the title.

    The overview (data, Pareto figures, tier/segment/lifecycle/churn tables) runs down columns A-F with the
    charts to its right; the details (model fit, notes, warnings and the wider per-group table) follow below
    the charts, on a printed page of their own, so nothing overlaps.
    """
    summary = jsonable(result.to_json())
    sheet = _Summary(book, fmt, lang)
    sheet.title()
    if notes:
        sheet.messages("notes", notes, "#1F4E78")
    if summary.get("data"):
        sheet.section("section_data")
        sheet.fields({**summary["data"], "tier_by": summary.get("tier_by")}, (*DATA_FIELDS, "tier_by"))
    pareto = summary.get("pareto") or {}
    if pareto:
        sheet.section("section_pareto")
        sheet.fields(pareto, PARETO_FIELDS)
    for key, *_ in TABLES:
        if summary.get(key):
            sheet.table(key, summary[key])
    if summary.get("delivered_value"):
        sheet.delivered(summary["delivered_value"])
    if summary.get("retention"):
        sheet.retention(summary["retention"])
    chart_row = 2
    for draw in (
        lambda row: sheet.pareto_chart(pareto, row),
        lambda row: sheet.column_chart(
            "tiers",
            3,
            "chart_tier_revenue",
            "#,##0",
            row,
            from_zero=all((t.get("revenue") or 0) >= 0 for t in summary.get("tiers") or []),
        ),
        lambda row: sheet.column_chart("lifecycle", 1, "chart_lifecycle", "#,##0", row),
    ):
        if draw(chart_row):
            chart_row += CHART_ROWS
    # The details (model, notes, warnings, groups) start on a new printed page, below the charts.
    model = summary.get("model") or {}
    warnings = [*model.get("warnings", []), *summary.get("warnings", [])]
    if model or warnings or summary.get("groups"):
        sheet.row = max(sheet.row, chart_row + 1)
        sheet.ws.set_h_pagebreaks([sheet.row])
    if model:
        sheet.model(model)
    if model.get("notes"):
        sheet.messages("notes", model["notes"], "#404040")
    if warnings:
        sheet.messages("warnings", warnings, "#9C5700")
    if summary.get("groups"):
        sheet.groups(summary["groups"])
    sheet.ws.hide_gridlines(2)
    print_setup(sheet.ws, lang, fit_width=True)
    sheet.ws.print_area(0, 0, max(sheet.row, chart_row), sheet.print_width())


def _width(text: str) -> float:
    return text_width(pd.Series([text], dtype="str"))


def _is_numpy_number(value: Any) -> bool:
    return hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf"


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        pd.Timestamp(value)
    except ValueError:
        return False
    return True
