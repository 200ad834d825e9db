"""Terminal output: rich tables that fit the terminal (80 columns and up), and JSON for scripts.

Human output may be localised (``lang="zh"``); JSON always uses canonical
English keys and values. Tables are drawn without vertical rules and with
short headers, numbers right-aligned and never wrapped; when a table of
customers is still wider than the terminal, its least important columns are
left out (and named in a note), so no word or number is ever broken.
Colour follows rich: none when output is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crmkit.output.console import printable
from crmkit.output.jsondoc import json_text, jsonable
from crmkit.output.labels import (
    BACKTEST_WORDS,
    BASKET_WORDS,
    MESSAGE_WORDS,
    TIER_BASIS_WORDS,
    UNIT_WORDS,
    column_label,
    label,
    message_text,
    retention_words,
    sheet_name,
    short_label,
    what_if_lines,
)
from crmkit.pipeline.results import (
    BandRow,
    BasketResult,
    Cohort,
    DataSummary,
    DeliveredSummary,
    GroupCount,
    ModelSummary,
    RetentionPeriod,
    RetentionReport,
    RetentionSummary,
    ScoreResult,
    TierRow,
    ValueReport,
)
from crmkit.pipeline.run import ORDERS_BY, revenue_text
from crmkit.schema import CUSTOMER_ID, SALESPERSON, check_lang
from crmkit.scoring.retention import WhatIf

if TYPE_CHECKING:  # the backtest's models import scipy, which a terminal-only command does not need
    from crmkit.scoring.backtest import BacktestReport

MONEY = "{:,.0f}"
#: Cells between two columns (one padding cell and the blank rule of ``box.SIMPLE_HEAD``).
COLUMN_GAP: Final = 2
#: Movers listed under each migration of ``crmkit compare`` (all of them go to ``--out``).
COMPARE_TOP: Final = 10


#: Characters JSON leaves as they are that a terminal may still act on (DEL, C1 controls, bidirectional controls).
_JSON_UNSAFE: Final = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


# --- JSON -----------------------------------------------------------------------
def emit_json(payload: Any) -> None:
    """Print one JSON object on stdout (canonical: NaN/inf → null, ISO dates, non-ASCII kept; control
    characters escaped, so the JSON is safe to look at in a terminal too)."""
    text = _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", json_text(payload))
    sys.stdout.write(text + "\n")


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as JSON-ready records."""
    return jsonable(frame.to_dict(orient="records"))


# --- cell formats -------------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _money(value: Any) -> str:
    return "" if _missing(value) else MONEY.format(value)


def _pct(value: Any) -> str:
    return "" if _missing(value) else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 2) -> str:
    return "" if _missing(value) else f"{value:,.{digits}f}"


def _count(value: Any) -> str:
    return _num(value, 0)


def _date(value: Any) -> str:
    return "" if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _text(value: Any) -> str:
    return "" if _missing(value) else printable(value, newlines=False)


def _vocab(value: Any, lang: str) -> str:
    """A tier, stage, band or segment key as its label (``absent`` too); other text as is."""
    if _missing(value):
        return ""
    key = str(value)
    return short_label(key, lang) if key == "absent" else label(key, lang)


# --- tables -----------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One terminal column.

    ``numeric`` columns are right-aligned. Only ``prose`` columns wrap (between
    words); every other cell stays on one line. ``drop`` > 0 marks a column that
    may be left out when the table is wider than the terminal, the largest first.
    """

    header: str
    numeric: bool = False
    prose: bool = False
    drop: int = 0


def _section(console: Console, title: str) -> None:
    """A bold heading above a table, with a blank line before it."""
    console.print()
    console.print(Text(printable(title, newlines=False), style="bold"))


def _new_table(*, show_header: bool = True) -> Table:
    return Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        show_header=show_header,
        header_style="bold",
    )


def _add_column(table: Table, column: Column) -> None:
    header = _cell(column.header)
    if column.prose:
        table.add_column(header, justify="left", overflow="fold")
    else:
        table.add_column(header, justify="right" if column.numeric else "left", no_wrap=True, overflow="ellipsis")


def _fit(width: int, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    """Positions of the columns to show: droppable ones leave, the largest ``drop`` first, until the
    table's natural width fits ``width`` (prose columns count as one word wide, since they wrap)."""

    def natural(i: int) -> int:
        cells = [columns[i].header, *(row[i] for row in rows)]
        if columns[i].prose:
            cells = [word for cell in cells for word in cell.split()]
        return max((cell_len(cell) for cell in cells), default=0)

    widths = {i: natural(i) for i in range(len(columns))}
    keep = list(range(len(columns)))
    droppable = sorted((i for i in keep if columns[i].drop), key=lambda i: (-columns[i].drop, -i))
    for i in droppable:
        if sum(widths[k] for k in keep) + COLUMN_GAP * (len(keep) - 1) <= width:
            break
        keep.remove(i)
    return keep


def print_table(
    console: Console, title: str | None, columns: Sequence[Column], rows: Iterable[Sequence[str]], *, lang: str = "en"
) -> None:
    """A table under a heading, narrowed to the console width by leaving out droppable columns."""
    rows = [list(row) for row in rows]
    keep = _fit(console.width, columns, rows)
    table = _new_table()
    for i in keep:
        _add_column(table, columns[i])
    for row in rows:
        table.add_row(*(_cell(row[i]) for i in keep))
    if title is not None:
        _section(console, title)
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in keep]
    if left_out:
        note = short_label("left_out", lang).format(columns=", ".join(left_out))
        console.print(Text(printable(note), style="dim"))


def print_pairs(console: Console, title: str, pairs: Iterable[tuple[str, str]]) -> None:
    """A heading and item/value lines, values right-aligned."""
    table = _new_table(show_header=False)
    table.add_column(no_wrap=False, overflow="fold")
    table.add_column(justify="right", no_wrap=True, overflow="ellipsis")
    for item, value in pairs:
        table.add_row(_cell(item), _cell(value))
    _section(console, title)
    console.print(table)


@dataclass(frozen=True)
class Field:
    """How a per-customer column shows on the terminal: formatter, alignment and drop order."""

    format: Callable[[Any], str]
    numeric: bool = True
    drop: int = 0


def print_frame(
    console: Console, title: str | None, frame: pd.DataFrame, fields: dict[str, Field], *, lang: str
) -> None:
    """Selected columns of a (small, already cut to --top) per-customer frame."""
    present = [c for c in fields if c in frame.columns]
    columns = [Column(short_label(c, lang), numeric=fields[c].numeric, drop=fields[c].drop) for c in present]
    rows = [
        [fields[c].format(v) for c, v in zip(present, values)]
        for values in frame[present].itertuples(index=False, name=None)
    ]
    print_table(console, title, columns, rows, lang=lang)


def _text_field(drop: int = 0) -> Field:
    return Field(_text, numeric=False, drop=drop)


def _vocab_field(lang: str, drop: int = 0) -> Field:
    return Field(lambda v: _vocab(v, lang), numeric=False, drop=drop)


def _cell(text: str) -> Text:
    """A table cell: Text, not str, so brackets in data are shown and never read as markup; control
    characters escaped."""
    return Text(printable(text, newlines=False))


def print_note(console: Console, message: str, lang: str = "en") -> None:
    """``Note: message`` in ``lang`` (Chinese where :func:`~crmkit.output.labels.message_text` knows the
    message), its control characters escaped."""
    console.print(
        Text.assemble((MESSAGE_WORDS["note"][check_lang(lang)], "yellow"), printable(message_text(message, lang)))
    )


# --- ingest -----------------------------------------------------------------------
def print_ingest_notes(console: Console, report: Any, *, rejects_written: Path | None, lang: str = "en") -> None:
    """Dropped rows (count per reason, a few examples) and ingest warnings, on stderr, in ``lang``."""
    words = {key: pair[check_lang(lang)] for key, pair in MESSAGE_WORDS.items()}
    if report.rows_dropped:
        print_drop_summary(console, report, lang)
        for example in report.examples[:5]:
            _line(
                console,
                words["dropped_example"].format(
                    file=example.get("file"),
                    row=example.get("row"),
                    column=example.get("column"),
                    value=example.get("value"),
                    reason=label(str(example.get("reason")), lang),
                ),
            )
        if rejects_written is None:
            _line(console, words["rejects_hint"])
        else:
            _line(console, words["rejects_written"].format(path=rejects_written))
    for warning in report.warnings:
        print_note(console, warning, lang)


def print_drop_summary(console: Console, report: Any, lang: str = "en") -> None:
    """One line: how many rows were dropped, of how many, and why (nothing when none was), in ``lang``."""
    if report.rows_dropped:
        words = {key: pair[check_lang(lang)] for key, pair in MESSAGE_WORDS.items()}
        reasons = (", " if lang == "en" else "，").join(
            words["dropped_reason"].format(n=n, reason=label(reason, lang)) for reason, n in report.drop_counts.items()
        )
        _line(console, words["dropped"].format(n=report.rows_dropped, total=report.rows_read, reasons=reasons))


#: Files named per folder in the skipped-files note; the rest are counted.
SKIPPED_SHOWN: Final = 10


def print_skipped_files(console: Console, skipped: Sequence[Any]) -> None:
    """One line per input folder: the files in it that were not read, and why."""
    by_folder: dict[Path, list[Any]] = {}
    for entry in skipped:
        by_folder.setdefault(entry.path.parent, []).append(entry)
    for folder, entries in by_folder.items():
        named = ", ".join(f"{e.path.name} ({e.reason})" for e in entries[:SKIPPED_SHOWN])
        more = f" and {len(entries) - SKIPPED_SHOWN:,} more" if len(entries) > SKIPPED_SHOWN else ""
        _line(console, f"Skipped {len(entries):,} file(s) in folder {folder}: {named}{more}.")


def _line(console: Console, message: str) -> None:
    """A plain line on a console: no markup, control characters escaped."""
    console.print(Text(printable(message)))


# --- segment ----------------------------------------------------------------------
def render_segment(console: Console, result: ScoreResult, *, lang: str, top: int) -> None:
    """The segment summary: data read, tiers, Pareto figures, segments, lifecycle, churn, next actions,
    delivered value, top customers."""
    summary = result.summary
    _render_data(console, summary.data, lang)
    render_tiers(console, summary.tiers, lang=lang, tier_by=summary.tier_by)
    pareto = summary.pareto
    if pareto.gini is not None:
        print_pairs(
            console,
            column_label("pareto", lang),
            [
                (column_label("top20_revenue_share", lang), _pct(pareto.top20_revenue_share)),
                (
                    column_label("customers_for_80pct", lang),
                    f"{pareto.customers_for_80pct:,} ({_pct(pareto.customers_for_80pct_share)})",
                ),
                (column_label("gini", lang), f"{pareto.gini:.3f}"),
            ],
        )
    total = max(summary.data.customers + summary.data.prospects, 1)
    _count_table(console, column_label("section_segments", lang), "segment", summary.segments, total, lang)
    _count_table(console, column_label("section_lifecycle", lang), "lifecycle_stage", summary.lifecycle, total, lang)
    render_churn_bands(console, summary.churn, lang=lang)
    _count_table(console, column_label("section_actions", lang), "next_action", summary.actions, total, lang)
    if summary.delivered is not None:
        render_delivered(console, summary.delivered, lang=lang)
    if summary.model is not None:
        render_model_fit(console, summary.model, lang=lang)
    buyers = result.customers.loc[result.customers["tier"] != "prospect"]
    top_customers = buyers.nsmallest(top, "value_rank") if "value_rank" in buyers.columns else buyers.head(top)
    print_frame(
        console,
        column_label("top_customers", lang),
        top_customers,
        {
            CUSTOMER_ID: _text_field(),
            "tier": _vocab_field(lang),
            "total_revenue": Field(_money),
            "n_orders": Field(_count, drop=2),
            "clv": Field(_money, drop=1),
            "lifecycle_stage": _vocab_field(lang, drop=4),
            "churn_band": _vocab_field(lang, drop=5),
            "next_action": _vocab_field(lang, drop=3),
        },
        lang=lang,
    )
    if summary.retention is not None:
        render_latest_retention(console, summary.retention, lang=lang)
    if summary.groups is not None:
        render_groups(console, summary.groups, lang=lang)
    for warning in summary.warnings:
        print_note(console, warning, lang)


def _render_data(console: Console, data: DataSummary, lang: str) -> None:
    """What was read and the period scored."""
    pairs = [
        (column_label("rows_read", lang), f"{data.rows_read:,}"),
        (column_label("rows_dropped", lang), f"{data.rows_dropped:,}"),
    ]
    if data.rows_after_as_of:
        pairs.append((column_label("rows_after_as_of", lang), f"{data.rows_after_as_of:,}"))
    pairs.append((column_label("customers", lang), f"{data.customers:,}"))
    if data.prospects:
        pairs.append((column_label("prospects", lang), f"{data.prospects:,}"))
    pairs += [
        (column_label("period", lang), f"{data.first_date} – {data.last_date}"),
        (column_label("as_of", lang), str(data.as_of)),
    ]
    print_pairs(console, column_label("data", lang), pairs)


def render_tiers(console: Console, tiers: Sequence[TierRow], *, lang: str, tier_by: str = "revenue") -> None:
    """Customers, revenue (and profit, when known) and shares per value tier; the title says what ranked them."""
    profit = any(t.profit is not None for t in tiers)
    keys = ("tier", "customers", "customer_share", "revenue", "revenue_share", *(("profit",) if profit else ()))
    drop = {"customer_share": 2, "revenue_share": 1, "average_value": 3}
    basis = TIER_BASIS_WORDS[tier_by][check_lang(lang)]
    print_table(
        console,
        f"{column_label('tiers', lang)} ({basis})",
        [Column(short_label(k, lang), numeric=k != "tier", drop=drop.get(k, 0)) for k in (*keys, "average_value")],
        [
            (
                label(t.tier, lang),
                f"{t.customers:,}",
                _pct(t.customer_share),
                _money(t.revenue),
                _pct(t.revenue_share),
                *((_money(t.profit),) if profit else ()),
                _money(t.average_value),
            )
            for t in tiers
        ],
        lang=lang,
    )


def _count_table(console: Console, title: str, key: str, entries: Sequence[GroupCount], total: int, lang: str) -> None:
    """Customers, their share and revenue per segment / stage."""
    print_table(
        console,
        title,
        [
            Column(short_label(key, lang)),
            Column(short_label("customers", lang), numeric=True),
            Column(short_label("customer_share", lang), numeric=True),
            Column(short_label("revenue", lang), numeric=True),
        ],
        [(label(e.name, lang), f"{e.customers:,}", _pct(e.customers / total), _money(e.revenue)) for e in entries],
        lang=lang,
    )


def render_churn_bands(console: Console, bands: Sequence[BandRow], *, lang: str) -> None:
    """Customers and value at risk per churn band."""
    print_table(
        console,
        column_label("section_churn", lang),
        [
            Column(column_label("churn_band", lang)),
            Column(short_label("customers", lang), numeric=True),
            Column(column_label("value_at_risk", lang), numeric=True),
        ],
        [(label(b.band, lang), f"{b.customers:,}", _money(b.value_at_risk)) for b in bands],
        lang=lang,
    )


def render_delivered(console: Console, delivered: DeliveredSummary, *, lang: str) -> None:
    """Average delivered-value components, one column per tier, then one per stage."""
    for title, rows in (("delivered_by_tier", delivered.by_tier), ("delivered_by_stage", delivered.by_stage)):
        if not rows:
            continue
        print_table(
            console,
            column_label(title, lang),
            [Column(short_label("component", lang)), *[Column(_vocab(r.group, lang), numeric=True) for r in rows]],
            [
                (short_label("customers", lang), *[f"{r.customers:,}" for r in rows]),
                *[(short_label(key, lang), *[_num(r.averages[key], 1) for r in rows]) for key in rows[0].averages],
            ],
            lang=lang,
        )


def render_model_fit(console: Console, model: ModelSummary, *, lang: str) -> None:
    """Fitted parameters, log-likelihood, convergence and warnings."""
    fit = model.fit
    params = ", ".join(f"{k}={v:.4g}" for k, v in fit.model.params.items())
    pairs = [
        (column_label("model", lang), f"{fit.model.name} ({label(fit.time_unit, lang)})"),
        (column_label("params", lang), params),
        (column_label("log_likelihood", lang), _num(fit.model.log_likelihood, 1)),
        (column_label("n_customers", lang), f"{fit.model.n_customers:,}"),
        (column_label("converged", lang), label("yes" if fit.model.converged else "no", lang)),
        ("Gamma-Gamma", f"p={fit.spend.p:.4g}, q={fit.spend.q:.4g}, v={fit.spend.v:.4g}"),
    ]
    print_pairs(console, column_label("model_fit", lang), pairs)
    for note in [*fit.notes, *fit.warnings]:
        print_note(console, note, lang)


def render_rfm_explain(console: Console, result: Any, *, lang: str) -> None:
    """The value range behind each RFM score."""
    print_table(
        console,
        "RFM",
        [
            Column("R/F/M"),
            Column(short_label("input", lang)),
            Column("min", numeric=True),
            Column("max", numeric=True),
            Column(short_label("customers", lang), numeric=True),
        ],
        [
            (
                f"{r.score_name[0].upper()}={r.score}",
                column_label(str(r.input), lang),
                _bound(r.min),
                _bound(r.max),
                f"{r.customers:,}",
            )
            for r in result.rfm_thresholds.itertuples(index=False)
        ],
        lang=lang,
    )


def _bound(value: Any) -> str:
    """A score threshold: whole numbers (days, purchases) without decimals, amounts with two."""
    return _num(value, 0 if not _missing(value) and float(value).is_integer() else 2)


#: Rollup columns after the group column: formatter and drop order (see :class:`Column`).
_GROUP_FIELDS: Final[dict[str, Field]] = {
    "customers": Field(_count),
    "revenue": Field(_money),
    "revenue_share": Field(_pct, drop=4),
    "platinum": Field(_count, drop=3),
    "gold": Field(_count, drop=2),
    "at_risk": Field(_count, drop=1),
    "value_at_risk": Field(_money),
    "top5_share": Field(_pct),
}


def render_groups(console: Console, groups: pd.DataFrame, *, lang: str) -> None:
    """Per-group rollup (salesperson, region, …): the first column names the group."""
    group = str(groups.columns[0])
    fields = {
        group: _text_field(),
        **{c: _GROUP_FIELDS.get(c, Field(_text, numeric=False, drop=5)) for c in groups.columns[1:]},
    }
    print_frame(console, f"{column_label('groups', lang)}: {column_label(group, lang)}", groups, fields, lang=lang)


# --- inspect ----------------------------------------------------------------------
def inspect_record(data: Any, findings: Sequence[Any], *, skipped: Sequence[Any] = ()) -> dict:
    """Everything `crmkit inspect` shows, as a JSON-ready dict (``skipped``: files the folders held but are
    not read)."""
    frame, report = data.frame, data.report
    return {
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "encoding": f.dialect.encoding,
                "sheet": f.sheet,
                "rows": f.rows,
                "mapping": f.mapping,
                "date_styles": f.dialect.date_styles,
                "date_order": f.dialect.date_order,
                "dialect": dataclasses.asdict(f.dialect),
            }
            for f in report.files
        ],
        "columns": {c: str(frame[c].dtype) for c in frame.columns},
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "rows_dropped": report.rows_dropped,
        "drop_counts": report.drop_counts,
        "excluded_orders": report.excluded_orders,
        "first_date": frame["order_date"].min() if len(frame) else None,
        "last_date": frame["order_date"].max() if len(frame) else None,
        "customers": int(frame[CUSTOMER_ID].nunique()),
        "findings": [_finding_dict(f) for f in findings],
        "skipped_files": [{"path": str(s.path), "reason": s.reason} for s in skipped],
        "warnings": report.warnings,
    }


def _finding_dict(finding: Any) -> dict:
    return dict(finding) if isinstance(finding, dict) else dict(vars(finding))


def dialect_lines(f: dict) -> list[tuple[str, str]]:
    """How one file is read, as (what, how) lines: header row, separator, encoding, decimal marks, dates,
    layout, what counts as revenue, how orders are counted."""
    dialect, mapping = f["dialect"], f["mapping"]
    lines = []
    if dialect["header_row"] is not None:
        lines.append(("header row", f"{dialect['header_row']} ({dialect['header_found']}; --header-row N to change)"))
    if dialect["separator"] is not None:
        lines.append(("separator", {"\t": "tab", " ": "space"}.get(dialect["separator"], dialect["separator"])))
    if dialect["encoding"] is not None:
        lines.append(("encoding", dialect["encoding"]))
    if dialect["decimal"]:
        marks = "; ".join(f"{mark} in {header}" for header, mark in dialect["decimal"].items())
        lines.append(("decimal mark", f"{marks} (--decimal to change)"))
    if dialect["date_styles"]:
        styles = ", ".join(f"{style} {n:,}" for style, n in dialect["date_styles"].items())
        order = f"; order {dialect['date_order']}" if dialect["date_order"] else ""
        lines.append(("date style", f"{styles}{order}"))
    if dialect["layout"]:
        lines.append(("layout", dialect["layout"]))
    revenue = revenue_text(mapping, dialect["amount_basis"])
    lines.append(("revenue", revenue))
    if "status" in mapping:
        lines.append(("status", f"{mapping['status']}: cancelled, unpaid and refunded orders left out ([status])"))
    if "refund" in mapping:
        lines.append(("refund", f"{mapping['refund']}, subtracted from {mapping.get('amount', '')}"))
    lines += [("other amount", f"{h} ({basis}): --col amount={h}") for h, basis in dialect["other_amounts"].items()]
    orders = ORDERS_BY[dialect["orders_by"]]
    if dialect["orders_by"] == "order id":
        orders = f"distinct {mapping.get('order_id', '')}"
        orders += "; each order's amount on its first line" if dialect["order_totals"] else ""
    lines.append(("orders", orders))
    return lines


def render_inspect(console: Console, data: Any, findings: Sequence[Any], *, skipped: Sequence[Any] = ()) -> None:
    """Column mapping, types and dialect per file, files skipped in folders, row counts, date range and
    data-quality findings."""
    record = inspect_record(data, findings, skipped=skipped)
    types = record["columns"]
    for f in record["files"]:
        where = ", ".join(part for part in (f["format"], f["encoding"], f["sheet"] and f"sheet {f['sheet']}") if part)
        print_table(
            console,
            f"{f['path']} ({where}): {f['rows']:,} rows",
            [Column("column"), Column("header in file"), Column("type")],
            [(canonical, str(header), types.get(canonical, "")) for canonical, header in sorted(f["mapping"].items())],
        )
        table = _new_table(show_header=False)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for what, how in dialect_lines(f):
            table.add_row(Text(what), Text(how))
        console.print(table)
    if skipped:
        print_table(
            console,
            "skipped",
            [Column("file"), Column("reason", prose=True)],
            [(entry["path"], entry["reason"]) for entry in record["skipped_files"]],
        )
    print_pairs(
        console,
        "data",
        [
            ("rows read", f"{record['rows_read']:,}"),
            ("rows used", f"{record['rows_used']:,}"),
            ("rows dropped", f"{record['rows_dropped']:,}"),
            *[(f"  {reason}", f"{n:,}") for reason, n in record["drop_counts"].items()],
            *[(f"  orders {status}", f"{n:,}") for status, n in record["excluded_orders"].items()],
            ("customers", f"{record['customers']:,}"),
            ("dates", f"{_date(record['first_date'])} – {_date(record['last_date'])}"),
        ],
    )
    print_table(
        console,
        "data quality",
        [Column("finding"), Column("count", numeric=True), Column("detail", prose=True)],
        [
            (str(f.get("kind", f.get("check", ""))), _count(f.get("count")), str(f.get("detail", f.get("message", ""))))
            for f in record["findings"]
        ],
    )
    for warning in record["warnings"]:
        print_note(console, warning)


# --- value ------------------------------------------------------------------------
def render_value(console: Console, result: ScoreResult, report: ValueReport, *, lang: str, top: int) -> None:
    """Model fit, value by tier and the top customers by CLV."""
    if report.model is not None:
        render_model_fit(console, report.model, lang=lang)
    keys = ("tier", "customers", "historic_value", "clv", "expected_purchases")
    print_table(
        console,
        column_label("value_by_tier", lang),
        [Column(short_label(k, lang), numeric=k != "tier") for k in keys],
        [
            (
                label(t.tier, lang),
                f"{t.customers:,}",
                _money(t.historic_value),
                _money(t.clv),
                _num(t.expected_purchases, 1),
            )
            for t in report.value_by_tier
        ],
        lang=lang,
    )
    best = result.customers.dropna(subset=["clv"]).sort_values(["clv", CUSTOMER_ID], ascending=[False, True]).head(top)
    print_frame(
        console,
        column_label("top_customers", lang),
        best,
        {
            CUSTOMER_ID: _text_field(),
            "tier": _vocab_field(lang, drop=2),
            "frequency": Field(_count, drop=3),
            "p_alive": Field(_pct),
            "expected_purchases": Field(_num, drop=1),
            "expected_spend": Field(_money, drop=4),
            "clv": Field(_money),
        },
        lang=lang,
    )
    if report.delivered_value_needs is not None:
        print_note(console, report.to_json()["delivered_value_note"], lang)
    for warning in report.warnings:
        print_note(console, warning, lang)


# --- backtest ---------------------------------------------------------------------
#: Rows of the backtest model table: label and how to read and format the figure from one model's report.
#: The backtest's measures: (English, Chinese) name and how to show a model's value.
_BACKTEST_ROWS: Final = (
    (("log-likelihood", "对数似然"), lambda m: _num(m.log_likelihood, 1)),
    (("actual repeat purchases", "实际复购次数"), lambda m: _num(m.actual_purchases, 0)),
    (("predicted repeat purchases", "预测复购次数"), lambda m: _num(m.predicted_purchases, 1)),
    (("per customer: MAE", "单客户平均绝对误差"), lambda m: _num(m.mae, 3)),
    (("per customer: RMSE", "单客户均方根误差"), lambda m: _num(m.rmse, 3)),
    (("per customer: correlation", "单客户相关系数"), lambda m: _num(m.correlation, 3)),
    (
        ("AUC of P(alive) for buying again", "存活概率预测复购的 AUC"),
        lambda m: _num(m.p_alive_auc, 3) + ("*" if m.p_alive_ties else ""),
    ),
    (
        ("CLV vs holdout spend: correlation", "CLV 与验证期消费的相关系数"),
        lambda m: _num(m.clv_correlation, 3),
    ),
    (
        ("holdout spend of the top 20% by CLV", "CLV 前 20% 客户的验证期消费占比"),
        lambda m: _pct(m.top20_capture),
    ),
)


def render_backtest(console: Console, report: BacktestReport, *, lang: str = "en") -> None:
    """Calibration vs holdout: one column per model, then mean holdout purchases by calibration frequency."""
    words = {key: pair[check_lang(lang)] for key, pair in BACKTEST_WORDS.items()}
    models, unit, customers = report.models, report.time_unit, report.customers
    console.print(
        Text(
            words["period"].format(
                c=f"{report.calibration_end:%Y-%m-%d}",
                h=f"{report.holdout_end:%Y-%m-%d}",
                n=_num(report.holdout_length, 1),
                unit=UNIT_WORDS.get(unit, unit) if lang == "zh" else unit,
                customers=words["customers"].format(n=customers),
            )
        )
    )
    print_table(
        console,
        words["models"],
        [Column(words["measure"]), *[Column(m.model, numeric=True) for m in models]],
        [(names[check_lang(lang)], *[read(m) for m in models]) for names, read in _BACKTEST_ROWS],
    )
    for m in models:  # why a starred AUC is low, right below it
        if m.p_alive_ties:
            ties = words["p_alive_ties"].format(model=m.model, n=m.p_alive_ties, customers=customers)
            console.print(Text(ties, style="dim"))
    predicted = [{row.frequency: row.predicted for row in m.by_frequency} for m in models]
    print_table(
        console,
        words["by_frequency"],
        [
            Column(words["frequency"], numeric=True),
            Column(words["customers_column"], numeric=True),
            Column(words["actual"], numeric=True),
            *[Column(m.model, numeric=True) for m in models],
        ],
        [
            (
                row.frequency,
                f"{row.customers:,}",
                _num(row.actual, 3),
                *[_num(p.get(row.frequency), 3) for p in predicted],
            )
            for row in (models[0].by_frequency if models else [])
        ],
    )
    for m in models:
        for warning in m.warnings:
            print_note(console, f"{m.model}: {warning}", lang)
    if len(models) > 1:
        console.print(Text(words["choose"]))


# --- lifecycle / churn / compare ------------------------------------------------------
def render_lifecycle(console: Console, result: ScoreResult, rules: pd.DataFrame | None, *, lang: str) -> None:
    """Stage distribution, and the rule table (checked in order) with the thresholds used."""
    total = max(result.summary.data.customers + result.summary.data.prospects, 1)
    _count_table(
        console, column_label("section_lifecycle", lang), "lifecycle_stage", result.summary.lifecycle, total, lang
    )
    if rules is not None:
        ordered = rules.sort_values("order")
        print_table(
            console,
            column_label("rules", lang),
            [
                Column(short_label("order", lang), numeric=True),
                Column(short_label("stage", lang)),
                Column(short_label("rule", lang), prose=True),
            ],
            [
                (str(order), _vocab(stage, lang), _text(rule))
                for order, stage, rule in ordered[["order", "stage", "rule"]].itertuples(index=False)
            ],
            lang=lang,
        )


def render_churn(console: Console, result: ScoreResult, *, lang: str, top: int) -> None:
    """Churn bands, the customers worth saving by value at risk, then the key accounts being lost."""
    render_churn_bands(console, result.summary.churn, lang=lang)
    saving = result.at_risk
    shown = saving.head(top)
    print_frame(
        console,
        f"{short_label('worth_saving', lang)} ({len(shown):,} / {result.at_risk_total or len(saving):,})",
        shown,
        {
            CUSTOMER_ID: _text_field(),
            "name": _text_field(drop=8),
            "tier": _vocab_field(lang, drop=4),
            "lifecycle_stage": _vocab_field(lang, drop=5),
            "last_purchase": Field(_date, drop=6),
            "usual_gap_days": Field(_count, drop=7),
            "days_overdue": Field(_count, drop=2),
            "churn_risk": Field(_pct),
            "value_at_risk": Field(_money),
            "next_action": _vocab_field(lang, drop=3),
            SALESPERSON: _text_field(drop=1),
        },
        lang=lang,
    )
    lost = result.lost_key_accounts
    if len(lost.columns):
        shown = lost.head(top)
        print_frame(
            console,
            f"{short_label('lost_key_accounts', lang)} ({len(shown):,} / {result.lost_key_accounts_total or len(lost):,})",
            shown,
            {
                CUSTOMER_ID: _text_field(),
                "tier": _vocab_field(lang, drop=3),
                "lifecycle_stage": _vocab_field(lang, drop=4),
                "days_since_last": Field(_count, drop=5),
                "total_revenue": Field(_money, drop=6),
                "total_margin": Field(_money),
                "value_at_risk": Field(_money, drop=2),
                "next_action": _vocab_field(lang),
                SALESPERSON: _text_field(drop=1),
            },
            lang=lang,
        )
    if result.summary.groups is not None:
        render_groups(console, result.summary.groups, lang=lang)


def render_compare(console: Console, comparison: Any, *, lang: str, warnings: Sequence[str] = ()) -> None:
    """Notes first (they change how the rest reads), then the tier and stage migration matrices (rows: before,
    columns: after), and who fell and who rose."""
    for warning in warnings:
        print_note(console, warning, lang)
    corner = f"{column_label('from', lang)} \\ {column_label('to', lang)}"
    for name, matrix in (
        ("tier_migration", comparison.tier_migration),
        ("stage_migration", comparison.stage_migration),
    ):
        print_table(
            console,
            sheet_name(name, lang),
            [Column(corner), *[Column(_vocab(c, lang), numeric=True) for c in matrix.columns]],
            (
                [_vocab(index, lang), *[f"{int(v):,}" for v in row]]
                for index, row in zip(matrix.index, matrix.to_numpy())
            ),
            lang=lang,
        )
    for name, movers in (("fell", comparison.fell), ("rose", comparison.rose)):
        _render_movers(console, name, movers, lang)


def _render_movers(console: Console, name: str, movers: pd.DataFrame, lang: str) -> None:
    """The first movers of one list: tier and stage before → after, value before and after."""
    shown = movers.head(COMPARE_TOP)

    def moves(before: str, after: str) -> list[str]:
        return [
            f"{_vocab(b, lang)} → {_vocab(a, lang)}" if b != a else _vocab(a, lang)
            for b, a in zip(shown[before], shown[after])
        ]

    rows = zip(
        shown[CUSTOMER_ID].map(_text),
        moves("tier_before", "tier_after"),
        moves("stage_before", "stage_after"),
        shown["value_before"].map(_money),
        shown["value_after"].map(_money),
    )
    print_table(
        console,
        f"{short_label(name, lang)} ({len(shown):,} / {len(movers):,})",
        [
            Column(short_label(CUSTOMER_ID, lang)),
            Column(short_label("tier", lang)),
            Column(short_label("lifecycle_stage", lang), drop=1),
            Column(short_label("before", lang), numeric=True),
            Column(short_label("after", lang), numeric=True),
        ],
        rows,
        lang=lang,
    )


# --- retention --------------------------------------------------------------------------------
#: Columns of the two period tables: customers, then revenue (retention = 1 − churn goes first when narrow).
_PERIOD_CUSTOMERS: Final[dict[str, Field]] = {
    "active": Field(_count),
    "new": Field(_count),
    "returning": Field(_count),
    "reactivated": Field(_count),
    "lost": Field(_count),
    "churn_rate": Field(_pct),
    "retention_rate": Field(_pct, drop=1),
    "repeat_purchase_rate": Field(_pct),
}
_PERIOD_REVENUE: Final[dict[str, Field]] = {
    "revenue": Field(_money),
    "revenue_new": Field(_money),
    "revenue_returning": Field(_money),
    "revenue_reactivated": Field(_money),
    "net_revenue_retention": Field(_pct),
}
#: Cohort heat grid: cell width (a space and three digits), and fills from low to high shares.
_GRID_CELL: Final = 4
_HEAT: Final = (
    (0.10, "black on #F7FBFF"),
    (0.20, "black on #DEEBF7"),
    (0.35, "black on #C6DBEF"),
    (0.50, "black on #9ECAE1"),
    (0.75, "white on #4292C6"),
    (float("inf"), "white on #08519C"),
)


def render_retention(console: Console, report: RetentionReport, *, lang: str) -> None:
    """The period tables, both cohort grids, the what-if and the per-group figures."""
    words = retention_words(lang, report.period)
    _period_tables(console, report.periods, words["customers_title"], words["revenue_title"], lang)
    partial = [row.period for row in report.periods if not row.complete]
    if partial:
        console.print(Text(words["partial"].format(label=partial[-1]), style="dim"))
    cohorts = [*report.cohorts, *([report.curve] if report.curve is not None else [])]
    _heat_grid(console, words["cohort_customers"], words, cohorts, "retained", lang)
    _heat_grid(console, words["cohort_revenue"], words, cohorts, "revenue_retained", lang)
    if report.what_if is not None:
        _render_what_if(console, report.what_if, lang)
    if report.groups is not None:
        _retention_groups(console, report.groups, words, lang)
    for warning in report.warnings:
        print_note(console, warning, lang)


def render_latest_retention(console: Console, retention: RetentionSummary, *, lang: str) -> None:
    """The segment summary's retention: the latest complete period in one row per table."""
    words = retention_words(lang, retention.period_type)
    title = words["latest_title"].format(label=retention.latest.period)
    _period_tables(console, (retention.latest,), title, None, lang)
    if retention.partial_period is not None:
        console.print(Text(words["partial"].format(label=retention.partial_period).lstrip("* "), style="dim"))


def _period_tables(
    console: Console, periods: Sequence[RetentionPeriod], title: str, revenue_title: str | None, lang: str
) -> None:
    """Customers per period (active, new, returning, won back, lost, rates), then revenue per period."""
    frame = pd.DataFrame([vars(row) for row in periods])
    frame["period"] = [row.period + ("" if row.complete else "*") for row in periods]
    print_frame(console, title, frame, {"period": _text_field(), **_PERIOD_CUSTOMERS}, lang=lang)
    if revenue_title is None:
        console.print()
    print_frame(console, revenue_title, frame, {"period": _text_field(), **_PERIOD_REVENUE}, lang=lang)


def _heat_share(share: float | None) -> tuple[str, str]:
    """A cohort cell: the share in whole percent (three characters) and its fill."""
    if share is None:
        return "   ", ""
    shown = round(100 * share)
    text = f"{shown:>3}" if -99 <= shown <= 999 else ("+++" if shown > 0 else "---")
    return text, next(style for top, style in _HEAT if share < top)


def _heat_grid(
    console: Console, title: str, words: dict[str, str], cohorts: Sequence[Cohort], values: str, lang: str
) -> None:
    """Cohorts (rows) by periods since the first purchase (columns), each cell a whole percent on a fill
    that darkens with it; as many columns as the console holds (plain numbers when it is not a terminal)."""
    if not cohorts:
        return
    head, size = short_label("cohort", lang), short_label("cohort_size", lang)
    names = [short_label(c.cohort, lang) if c.cohort == "all" else c.cohort for c in cohorts]
    label_width = max(cell_len(head), *(cell_len(name) for name in names))
    size_width = max(cell_len(size), *(len(f"{c.customers:,}") for c in cohorts))
    total = max(len(c.retained) for c in cohorts) - 1  # column 0 is the first period itself (100%)
    shown = max(0, min(total, (console.width - label_width - size_width - 2) // _GRID_CELL))

    def pad(text: str, width: int, right: bool = False) -> str:
        gap = " " * max(width - cell_len(text), 0)
        return gap + text if right else text + gap

    _section(console, title)
    header = pad(head, label_width) + "  " + pad(size, size_width, right=True)
    header += "".join(f"{'+' + str(k):>{_GRID_CELL}}" for k in range(1, shown + 1))
    console.print(Text(header, style="bold"), no_wrap=True, overflow="crop")
    for name, cohort in zip(names, cohorts):
        line = Text(pad(name, label_width) + "  " + pad(f"{cohort.customers:,}", size_width, right=True))
        cells = getattr(cohort, values)[1 : shown + 1]
        for share in cells:
            text, style = _heat_share(share)
            line.append(" ")
            line.append(text, style=style)
        console.print(line, no_wrap=True, overflow="crop")
    if shown < total:
        console.print(Text(words["cohort_more"].format(shown=shown, total=total), style="dim"))


def _render_what_if(console: Console, scenario: WhatIf, lang: str) -> None:
    """Profit over the horizon at the observed and the raised retention, with the formula."""
    title, lines, formula = what_if_lines(scenario, lang)
    shown = {"percent": _pct, "count": _count, "money": _money, "change": lambda v: "" if v is None else f"{v:+.1%}"}
    print_pairs(console, title, [(text, shown[kind](value)) for text, value, kind in lines])
    console.print(Text(formula, style="dim"))


def _retention_groups(console: Console, groups: pd.DataFrame, words: dict[str, str], lang: str) -> None:
    """Each group's latest complete period: the customers it holds and loses, and its revenue retention."""
    column = str(groups.columns[0])
    done = groups.loc[groups["complete"] & groups["churn_rate"].notna(), "period"]
    if done.empty:
        return
    latest = str(done.max())  # period labels (2024-03, 2024-Q1, 2024) sort in time order
    rows = groups.loc[groups["period"] == latest].sort_values(["active", column], ascending=[False, True])
    fields = {
        column: _text_field(),
        "active": Field(_count),
        "new": Field(_count, drop=3),
        "returning": Field(_count, drop=2),
        "reactivated": Field(_count, drop=4),
        "lost": Field(_count),
        "churn_rate": Field(_pct),
        "repeat_purchase_rate": Field(_pct, drop=1),
        "revenue": Field(_money),
        "net_revenue_retention": Field(_pct),
    }
    title = words["groups_title"].format(group=column_label(column, lang), label=latest)
    print_frame(console, title, rows.assign(**{column: rows[column].map(lambda g: _vocab(g, lang))}), fields, lang=lang)


# --- basket -------------------------------------------------------------------------
def render_basket(console: Console, basket: BasketResult, *, lang: str, top: int) -> None:
    """The baskets mined, the strongest rules, the next-best offers of the most valuable customers and the
    up-sell list."""
    index = check_lang(lang)
    words = {key: pair[index] for key, pair in BASKET_WORDS.items()}
    summary = basket.summary
    itemsets = words["itemsets"].format(k=summary.max_len) if summary.max_len else words["itemsets_any"]
    print_pairs(
        console,
        words["title"],
        [
            (words["baskets"], words[f"by_{summary.basket_by}"].format(n=summary.baskets)),
            (words["items"], words[summary.item_level].format(n=summary.items)),
            (words["lines_used"], f"{summary.lines_used:,}"),
            (
                words["min_support"],
                words["min_support_value"].format(share=_share(summary.min_support), n=summary.min_count),
            ),
            (itemsets, f"{summary.itemsets:,}"),
            (
                words["rules"].format(c=_share(summary.min_confidence), l=f"{summary.min_lift:g}"),
                f"{summary.rules:,}",
            ),
        ],
    )
    rules = basket.rules.head(top)
    print_frame(
        console,
        words["strongest"].format(n=len(rules), total=len(basket.rules)),
        rules,
        {
            "antecedent": _text_field(),
            "consequent": _text_field(),
            "support": Field(_pct, drop=3),
            "confidence": Field(_pct),
            "lift": Field(_num),
            "leverage": Field(lambda v: _num(v, 4), drop=1),
            "conviction": Field(lambda v: "∞" if v == float("inf") else _num(v), drop=2),
            "baskets": Field(_count, drop=4),
        },
        lang=lang,
    )
    calls = basket.call_list()
    shown = calls.head(top)
    print_frame(
        console,
        words["offers"].format(n=len(shown), total=len(calls)),
        shown,
        {
            CUSTOMER_ID: _text_field(),
            "tier": _vocab_field(lang, drop=3),
            "products_bought": Field(_count, drop=2),
            "offer_1": _text_field(),
            "offer_1_rule": _text_field(drop=1),
            "offer_1_confidence": Field(_pct, drop=4),
            "offer_1_value": Field(_money),
        },
        lang=lang,
    )
    upsell = basket.upsell.head(top)
    print_frame(
        console,
        words["upsell"].format(share=_share(summary.upsell_below), n=len(upsell), total=len(basket.upsell)),
        upsell,
        {
            CUSTOMER_ID: _text_field(),
            "tier": _vocab_field(lang, drop=2),
            "n_orders": Field(_count, drop=1),
            "avg_order_value": Field(_money),
            "tier_typical_order": Field(_money, drop=3),
            "order_gap": Field(_money),
            "upsell_potential": Field(_money),
        },
        lang=lang,
    )


def _share(value: float) -> str:
    """A share as a short percentage: 1%, 0.1%, 12.5%."""
    return f"{100 * value:g}%"
