"""The analyst workbook: Summary, Customers, one list per tier, At risk, Cross-sell, Data quality, Definitions.

xlsxwriter lays out every sheet (formats, widths, frozen header, autofilter,
colour rules, charts) into memory; :mod:`crmkit.output.xlsx_rows` then adds the
data rows of the table sheets and the package reaches disk through
:func:`~crmkit.output.atomic.atomic_write`. 100k customers × 37 columns take ~4 s
(benchmarks/bench_excel.py, two cores) instead of ~22 s with xlsxwriter and ~35 s with openpyxl cell by cell.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format

from crmkit.output.atomic import atomic_write, check_not_input
from crmkit.output.excel_style import (
    VALUE_COLOURS,
    column_width,
    number_format,
    print_setup,
    text_width,
)
from crmkit.output.excel_summary import write_summary
from crmkit.output.labels import (
    ACTION_LABELS,
    CHURN_BAND_LABELS,
    SEGMENT_LABELS,
    STAGE_LABELS,
    TIER_LABELS,
    column_definition,
    column_label,
    definition,
    explain_actions,
    label,
    localise_frame,
    retention_definition,
    sheet_name,
    value_label,
)
from crmkit.output.xlsx_rows import normalise_column, splice_rows
from crmkit.pipeline.results import ScoreResult
from crmkit.schema import (
    CHANNEL,
    CUSTOMER_ID,
    EMAIL,
    HOLDS_RESULTS,
    NAME,
    PHONE,
    REGION,
    SALESPERSON,
    WORKBOOK_MARKER,
    check_lang,
)
from crmkit.scoring.actions import ActionRules
from crmkit.scoring.retention import PERIOD_COLUMNS

#: Rows in one Excel sheet, header included; longer tables continue on "Customers (2)", ...
EXCEL_MAX_ROWS: Final = 1_048_576
MAX_SHEET_NAME: Final = 31
ATTRIBUTE_COLUMNS: Final = (NAME, REGION, SALESPERSON, CHANNEL, PHONE, EMAIL)
TIER_SHEETS: Final = ("platinum", "gold", "iron")
TIER_LIST_COLUMNS: Final = (
    CUSTOMER_ID,
    *ATTRIBUTE_COLUMNS,
    "value_rank",
    "total_revenue",
    "total_margin",
    "clv",
    "p_alive",
    "n_orders",
    "last_purchase",
    "segment",
    "lifecycle_stage",
    "churn_band",
    "value_at_risk",
    "next_action",
)
#: The Customers sheet's key columns: first on the sheet, and all that prints (one page wide), so the table
#: prints in dozens of pages rather than hundreds; the other columns follow them on screen.
PRINTED_CUSTOMER_COLUMNS: Final = (
    CUSTOMER_ID,
    NAME,
    "tier",
    "value_rank",
    "total_revenue",
    "clv",
    "segment",
    "lifecycle_stage",
    "churn_band",
    "value_at_risk",
    "last_purchase",
    SALESPERSON,
)
AT_RISK_COLUMNS: Final = (
    CUSTOMER_ID,
    *ATTRIBUTE_COLUMNS,
    "tier",
    "churn_band",
    "churn_risk",
    "value_if_active",
    "value_at_risk",
    "next_action",
    "last_purchase",
    "usual_gap_days",
    "days_overdue",
    "total_revenue",
    "lifecycle_stage",
    "segment",
)
LOST_KEY_ACCOUNT_COLUMNS: Final = (
    CUSTOMER_ID,
    *ATTRIBUTE_COLUMNS,
    "tier",
    "lifecycle_stage",
    "total_margin",
    "total_revenue",
    "n_orders",
    "last_purchase",
    "days_since_last",
    "churn_risk",
    "value_at_risk",
    "next_action",
    "segment",
)
HEADER_FORMAT: Final = {
    "bold": True,
    "text_wrap": True,
    "valign": "top",
    "font_color": "#FFFFFF",
    "bg_color": "#1F4E78",
    "border": 1,
    "border_color": "#8EA9DB",
}
#: Text sits one indent in from the left, clear of a right-aligned figure in the column before it.
TEXT_INDENT: Final = 1
#: Headers over figures are right-aligned, indented clear of the autofilter button that covers the cell's right end.
FIGURE_HEADER_INDENT: Final = 2
#: Header rows hold one or two lines of bold text, Chinese included (CJK fonts set taller lines than Calibri).
HEADER_HEIGHT: Final = 20
WRAPPED_HEADER_HEIGHT: Final = 34
#: Lines of the Definitions sheet: room for Chinese text beside the Latin field names; meanings wrap.
DEFINITION_LINE_HEIGHT: Final = 18
MEANING_WIDTH: Final = 80
#: Widest sheet (in characters) printed one page wide: A4 landscape holds ~145 at full size, so this is
#: about half size. The sales lists fit; the full customer table prints across pages.
FIT_WIDTH_MAX: Final = 300
#: Columns of the Cross-sell sheet that print: up to the first offer's expected value.
CROSS_SELL_PRINTED: Final = 11
#: Columns that label the rows of a table: frozen with the header and repeated on every printed page.
KEY_COLUMNS: Final = (CUSTOMER_ID, "from", "period", "cohort")
#: The retention measures the Definitions sheet explains when a workbook shows them.
RETENTION_TERMS: Final = (*PERIOD_COLUMNS, "cohort")
#: Marks the Definitions section whose terms are retention measures.
RETENTION: Final = "retention"
WORKBOOK_OPTIONS: Final = {
    "in_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


@dataclass(frozen=True)
class _Layout:
    """How one column of a table sheet looks: width, its header as shown (two lines when it wraps), cell and
    header formats."""

    width: float
    header: str
    cell_format: Format | None
    header_format: Format


class _Book:
    """An xlsxwriter workbook in memory plus the table sheets whose rows are added when it is saved."""

    def __init__(self, lang: str, *, holds: str = HOLDS_RESULTS) -> None:
        self.lang = lang
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, WORKBOOK_OPTIONS)
        # Lets a later run that reads a whole folder tell its own results from exports (crmkit.ingest.files).
        self.book.set_custom_property(WORKBOOK_MARKER, holds)
        self.rows: dict[str, pd.DataFrame] = {}
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}

    def fmt(self, **props: Any) -> Format:
        """One shared Format per distinct set of properties (None values are left out)."""
        key = tuple(sorted((k, v) for k, v in props.items() if v is not None))
        if key not in self._formats:
            self._formats[key] = self.book.add_format(dict(key))
        return self._formats[key]

    def table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        headers: list[str] | None = None,
        formats: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Add ``frame`` (canonical columns and values) as one or more labelled sheets; returns their names.

        More rows than one sheet holds continue on "name (2)", "name (3)", ... so nothing is cut.
        Sheets up to :data:`FIT_WIDTH_MAX` characters wide print one page wide; wider ones (the full
        customer table) would shrink past reading and print across pages instead. ``formats`` gives the number
        format of columns whose name does not say it.
        """
        columns = [str(c) for c in frame.columns]
        shown = localise_frame(frame, self.lang)
        headers = headers or list(shown.columns)
        formats = formats or {}
        layout = [
            self._column_layout(col, frame.iloc[:, i], shown.iloc[:, i], headers[i], formats.get(col))
            for i, col in enumerate(columns)
        ]
        per_sheet = EXCEL_MAX_ROWS - 1
        names: list[str] = []
        for part, start in enumerate(range(0, max(len(frame), 1), per_sheet), start=1):
            part_name = self._free_name(name, "" if part == 1 else f" ({part})")
            rows = shown.iloc[start : start + per_sheet]
            self._table_sheet(part_name, columns, layout, len(rows))
            self.rows[part_name] = rows
            names.append(part_name)
        return names

    def _free_name(self, name: str, suffix: str) -> str:
        """``name + suffix`` as Excel allows it: no []:*?/\\, at most 31 characters, not taken yet."""
        base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "Sheet"
        taken = {sheet.name.lower() for sheet in self.book.worksheets()}
        candidate, counter = base[: MAX_SHEET_NAME - len(suffix)] + suffix, 1
        while candidate.lower() in taken:
            counter += 1
            extra = f"{suffix} {counter}" if suffix else f" ({counter})"
            candidate = base[: MAX_SHEET_NAME - len(extra)] + extra
        return candidate

    def _column_layout(
        self, col: str, values: pd.Series, shown: pd.Series, header: str, num_format: str | None = None
    ) -> _Layout:
        values = normalise_column(values)
        num_format = num_format or number_format(col, values)
        figures = num_format is not None or (
            pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        )
        width, header = column_width(header, shown if num_format is None else values, num_format)
        if figures:
            cell_format = self.fmt(num_format=num_format) if num_format else None
            header_format = self.fmt(**HEADER_FORMAT, align="right", indent=FIGURE_HEADER_INDENT)
        else:
            width += TEXT_INDENT
            cell_format = self.fmt(align="left", indent=TEXT_INDENT)
            header_format = self.fmt(**HEADER_FORMAT, align="left", indent=TEXT_INDENT)
        return _Layout(width, header, cell_format, header_format)

    def _table_sheet(self, name: str, columns: list[str], layout: list[_Layout], n_rows: int) -> None:
        ws = self.book.add_worksheet(name)
        for i, column in enumerate(layout):
            ws.set_column(i, i, column.width, column.cell_format)
            ws.write_string(0, i, column.header, column.header_format)
        ws.set_row(0, WRAPPED_HEADER_HEIGHT if any("\n" in column.header for column in layout) else HEADER_HEIGHT)
        print_setup(ws, self.lang, fit_width=sum(column.width for column in layout) <= FIT_WIDTH_MAX)
        if not columns:
            return
        key_column = 1 if columns[0] in KEY_COLUMNS else 0
        ws.freeze_panes(1, key_column)
        ws.repeat_rows(0)
        if key_column:
            ws.repeat_columns(0)
        ws.autofilter(0, 0, n_rows, len(columns) - 1)
        last = max(n_rows, 1)
        for col, colours in VALUE_COLOURS.items():
            if col not in columns:
                continue
            index = columns.index(col)
            for key, (fill, font) in colours.items():
                text = value_label(col, key, self.lang).replace('"', '""')
                ws.conditional_format(
                    1,
                    index,
                    last,
                    index,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": f'"{text}"',
                        "format": self.fmt(bg_color=fill, font_color=font),
                    },
                )

    def print_first(self, names: Iterable[str], n_columns: int) -> None:
        """Print only the first ``n_columns`` of these table sheets, one page wide."""
        for name in names:
            ws = self.book.get_worksheet_by_name(name)
            ws.print_area(0, 0, max(len(self.rows[name]), 1), n_columns - 1)
            ws.fit_to_pages(1, 0)

    def definitions(
        self,
        customers: pd.DataFrame,
        group_columns: list[str],
        action_rules: ActionRules | None = None,
        *,
        retention: bool = False,
        cross_sell_columns: list[str] | None = None,
        segments: Iterable[str] | None = None,
    ) -> None:
        """What each column present (customers, the per-group table, the cross-sell list), each retention measure
        (when the workbook shows them) and each tier, stage, churn band, next action and segment means, and the
        next-action rules in force. ``segments``: the segments to define when ``customers`` does not hold every
        customer (default: those of ``customers``)."""
        ws = self.book.add_worksheet(sheet_name("definitions", self.lang))
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 24)
        ws.set_column(2, 2, MEANING_WIDTH, self.fmt(text_wrap=True, valign="top"))
        print_setup(ws, self.lang, fit_width=True)
        ws.repeat_rows(0)
        ws.set_row(0, HEADER_HEIGHT)
        header = self.fmt(**HEADER_FORMAT)
        for i, key in enumerate(("term", "key", "meaning")):
            ws.write_string(0, i, label(key, self.lang), header)
        ws.freeze_panes(1, 0)
        row = 1
        section = self.fmt(bold=True, font_color="#1F4E78", bottom=1, bg_color="#D9E1F2")
        plain, key_format = self.fmt(valign="top"), self.fmt(valign="top", font_color="#595959")
        wrapped = self.fmt(text_wrap=True, valign="top")
        sections = _definition_sections(
            customers, group_columns, cross_sell_columns or [], action_rules, self.lang, segments
        )
        if retention:
            sections.insert(2, ("definitions_retention", list(RETENTION_TERMS), RETENTION))
        for title, terms, column in sections:
            if not terms:
                continue
            for col in range(3):
                ws.write_blank(row, col, None, section)
            ws.write_string(row, 0, label(title, self.lang), section)
            ws.set_row(row, DEFINITION_LINE_HEIGHT)
            row += 1
            for term in terms:
                if column is None:
                    shown, meaning = column_label(term, self.lang), column_definition(term, self.lang)
                elif column == "next_action_rule":
                    order, action, meaning = term
                    term, shown = action, f"{order}. {value_label('next_action', action, self.lang)}"
                elif column == RETENTION:
                    shown, meaning = column_label(term, self.lang), retention_definition(term, self.lang)
                else:
                    shown, meaning = value_label(column, term, self.lang), definition(term, self.lang)
                ws.write_string(row, 0, shown, plain)
                ws.write_string(row, 1, term, key_format)
                meaning = meaning or label("from_input", self.lang)
                ws.write_string(row, 2, meaning, wrapped)
                lines = math.ceil(text_width(pd.Series([meaning])) / (MEANING_WIDTH - 2))
                ws.set_row(row, DEFINITION_LINE_HEIGHT * max(lines, 1))
                row += 1

    def save(self, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]]) -> None:
        self.book.close()
        with atomic_write(path, inputs=inputs) as temporary:
            splice_rows(self.buffer.getvalue(), temporary, self.rows)


def write_workbook(
    path: str | os.PathLike[str],
    result: ScoreResult,
    *,
    lang: str = "en",
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write the analyst workbook of one scoring run in ``lang`` ("en" or "zh") to ``path``, all at once or not
    at all: Summary, Customers (its key columns first: they are what prints), one sheet per tier, At risk, Lost key
    accounts, Cross-sell (when the transactions name products), Data quality, Definitions."""
    check_lang(lang)
    inputs = list(inputs)
    check_not_input(path, inputs)
    customers = ranked_top(result.customers) if result.in_partitions else result.customers
    book = _Book(lang)
    write_summary(book.book, book.fmt, result.summary, lang, notes=partition_notes(result, len(customers)))
    printed = _present(customers, PRINTED_CUSTOMER_COLUMNS)
    keys_first = customers[[*printed, *(c for c in customers.columns if c not in printed)]]
    customers_sheet = sheet_name("top_customers" if result.in_partitions else "customers", lang)
    book.print_first(book.table(customers_sheet, keys_first), len(printed))
    if "tier" in customers.columns and not result.in_partitions:  # a tier's list would hold its top customers only
        for tier in TIER_SHEETS:
            book.table(sheet_name(tier, lang), tier_list(customers, tier))
    if len(result.at_risk.columns):
        book.table(sheet_name("at_risk", lang), result.at_risk[_present(result.at_risk, AT_RISK_COLUMNS)])
    lost = result.lost_key_accounts
    if len(lost.columns):
        book.table(sheet_name("lost_key_accounts", lang), lost[_present(lost, LOST_KEY_ACCOUNT_COLUMNS)])
    cross_sell = result.basket.cross_sell if result.basket is not None else None
    if cross_sell is not None:
        # The call list prints up to the first offer (customer, tier, sales rep, breadth, offer, rule, value).
        book.print_first(book.table(sheet_name("cross_sell", lang), cross_sell), CROSS_SELL_PRINTED)
    quality = result.data_quality
    if len(quality):
        headers = [label(str(col), lang) for col in quality.columns]
        book.table(
            sheet_name("data_quality", lang), numbers_as_numbers(localise_quality(quality, lang)), headers=headers
        )
    groups = result.summary.groups
    group_columns = [str(column) for column in groups.columns] if groups is not None else []
    book.definitions(
        customers,
        group_columns,
        result.action_rules,
        retention=result.summary.retention is not None,
        cross_sell_columns=[str(c) for c in cross_sell.columns if c not in customers.columns]
        if cross_sell is not None
        else [],
        segments=[g.name for g in result.summary.segments] if result.in_partitions else None,
    )
    book.save(path, inputs)


def ranked_top(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers of value rank 1, 2, 3, … up to the first rank missing (of the top customers a partitioned run
    returns), best first: the sheet never skips a rank."""
    if "value_rank" not in customers.columns:
        return customers
    ordered = customers.sort_values("value_rank", kind="stable", ignore_index=True)
    ranks = ordered["value_rank"].to_numpy()
    return ordered.head(int(np.cumprod(ranks == np.arange(1, len(ranks) + 1)).sum()))


def partition_notes(result: ScoreResult, listed: int) -> list[str]:
    """What the workbook of customers scored in partitions holds: the ``listed`` top customers and the first of
    each list; every customer is in the Parquet dataset (when one was written)."""
    if not result.in_partitions:
        return []
    where = (
        f"every customer's row is in the Parquet dataset {result.dataset}"
        if result.dataset is not None
        else "every customer's row goes to a Parquet dataset with --out FOLDER"
    )
    return [
        f"Scored in partitions (--engine dask): {where}. This workbook lists the top {listed:,} of "
        f"{result.summary.data.customers:,} customers by value rank, the first {len(result.at_risk):,} of "
        f"{result.at_risk_total or 0:,} at risk and the first {len(result.lost_key_accounts):,} of "
        f"{result.lost_key_accounts_total or 0:,} lost key accounts."
    ]


def write_sheet(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    *,
    lang: str = "en",
    inputs: Iterable[str | os.PathLike[str]] = (),
    holds: str = HOLDS_RESULTS,
) -> None:
    """Write one table as a formatted workbook (labelled headers and values, frozen header, autofilter).

    ``holds`` is what the workbook says it holds: results (the default), or data meant to be read as an
    export (``crmkit sample``).
    """
    check_lang(lang)
    inputs = list(inputs)
    check_not_input(path, inputs)
    book = _Book(lang, holds=holds)
    book.table(sheet_name("customers" if CUSTOMER_ID in frame.columns else "data", lang), frame)
    book.save(path, inputs)


def write_rejects(
    path: str | os.PathLike[str], rejects: pd.DataFrame, *, inputs: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """The dropped rows as one sheet under the headers of a CSV rejects file (source_file, source_row, reason,
    column, value, then the file's mapped fields): every reason as written, every cell as the text it was."""
    inputs = list(inputs)
    check_not_input(path, inputs)
    book = _Book("en")
    book.table("rejects", rejects, headers=[str(column) for column in rejects.columns])
    book.save(path, inputs)


def write_sheets(
    path: str | os.PathLike[str],
    sheets: Mapping[str, pd.DataFrame],
    *,
    lang: str = "en",
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write several tables as one workbook, a formatted sheet each; keys name the sheets (labelled when known)."""
    check_lang(lang)
    inputs = list(inputs)
    check_not_input(path, inputs)
    book = _Book(lang)
    for key, frame in sheets.items():
        book.table(sheet_name(key, lang), frame)
    book.save(path, inputs)


def tier_list(customers: pd.DataFrame, tier: str) -> pd.DataFrame:
    """The customers of one tier for the sales team: contact details and key figures, best first."""
    chosen = customers.loc[customers["tier"] == tier, _present(customers, TIER_LIST_COLUMNS)]
    if "value_rank" in chosen.columns:
        return chosen.sort_values("value_rank", kind="stable", na_position="last")
    if "total_revenue" in chosen.columns:
        return chosen.sort_values("total_revenue", ascending=False, kind="stable", na_position="last")
    return chosen


def localise_quality(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The data-quality table (:func:`crmkit.output.terminal.data_quality_frame`) with its item keys and drop
    reasons as labels in ``lang``; file names and values are kept as they are."""
    if "item" not in frame.columns:
        return frame
    items = frame["item"].astype("str")
    shown = frame.assign(item=[label(key, lang) for key in items])
    if "detail" in frame.columns:
        shown["detail"] = [
            label(detail, lang) if key == "dropped" else detail for key, detail in zip(items, frame["detail"])
        ]
    return shown


def numbers_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where text cells that are plain numbers ("20000", "-3.5") become numbers, so Excel can sum them."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        plain = values.str.fullmatch(r"\s*-?\d+(\.\d+)?\s*").fillna(False).astype(bool)
        if plain.any():
            mixed = values.astype(object).copy()
            mixed[plain] = pd.to_numeric(values[plain]).to_numpy(dtype=object)
            out[col] = mixed
    return out


def _present(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    return [col for col in columns if col in frame.columns]


def _definition_sections(
    customers: pd.DataFrame,
    group_columns: list[str],
    cross_sell_columns: list[str],
    action_rules: ActionRules | None,
    lang: str,
    segments_shown: Iterable[str] | None = None,
) -> list[tuple[str, list[Any], str | None]]:
    """(section title, terms, vocabulary column or None for columns) for the Definitions sheet; the next-action
    rules come as (order, action, rule text) terms of the pseudo-column ``next_action_rule``."""
    columns = [str(col) for col in customers.columns]
    present = set(customers.columns)
    segments = []
    if "segment" in present:
        shown = set(customers["segment"].dropna().astype("str").unique() if segments_shown is None else segments_shown)
        segments = [key for key in SEGMENT_LABELS if key in shown]
    acting = "next_action" in present
    explained = explain_actions(action_rules, lang=lang) if acting and action_rules is not None else None
    rules = list(explained.itertuples(index=False, name=None)) if explained is not None else []
    return [
        ("section_columns", columns, None),
        ("section_groups", group_columns, None),
        ("section_cross_sell", cross_sell_columns, None),
        ("section_tiers", list(TIER_LABELS) if "tier" in present else [], "tier"),
        ("section_lifecycle", list(STAGE_LABELS) if "lifecycle_stage" in present else [], "lifecycle_stage"),
        ("section_bands", list(CHURN_BAND_LABELS) if "churn_band" in present else [], "churn_band"),
        ("section_actions", list(ACTION_LABELS) if acting else [], "next_action"),
        ("section_action_rules", rules, "next_action_rule"),
        ("section_segments", segments, "segment"),
    ]
