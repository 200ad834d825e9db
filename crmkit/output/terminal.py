"""Terminal output: rich tables that fit the terminal (80 columns and up), and JSON for scripts.

Human output may be localised (``lang="zh"``); JSON always uses canonical
English keys and values. Tables are drawn without vertical rules and with
short headers, numbers right-aligned and never wrapped; when a table of
customers is still wider than the terminal, its least important columns are
left out (and named in a note), so no word or number is ever broken.
Colour follows rich: none when output is not a terminal or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crmkit.output.jsondoc import json_text, jsonable
from crmkit.output.labels import (
    BACKTEST_WORDS,
    UNIT_WORDS,
    column_label,
    label,
    sheet_name,
    short_label,
)
from crmkit.pipeline.results import BandRow, DataSummary, GroupCount, ModelSummary, ScoreResult, TierRow, ValueReport
from crmkit.schema import CUSTOMER_ID, SALESPERSON, check_lang

MONEY = "{:,.0f}"
#: Cells between two columns (one padding cell and the blank rule of ``box.SIMPLE_HEAD``).
COLUMN_GAP: Final = 2
#: Movers listed under each migration of ``crmkit compare`` (all of them go to ``--out``).
COMPARE_TOP: Final = 10


# --- JSON -----------------------------------------------------------------------
def emit_json(payload: Any) -> None:
    """Print one JSON object on stdout (canonical: NaN/inf → null, ISO dates, non-ASCII kept)."""
    sys.stdout.write(json_text(payload) + "\n")


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
    return "" if _missing(value) else str(value)


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
    console.print(Text(title, style="bold"))


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
    header = Text(column.header)  # Text, not str: brackets in data are shown, never read as markup
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
        table.add_row(*(Text(row[i]) for i in keep))
    if title is not None:
        _section(console, title)
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in keep]
    if left_out:
        note = short_label("left_out", lang).format(columns=", ".join(left_out))
        console.print(Text(note, style="dim"))


def print_pairs(console: Console, title: str, pairs: Iterable[tuple[str, str]]) -> None:
    """A heading and item/value lines, values right-aligned."""
    table = _new_table(show_header=False)
    table.add_column(no_wrap=False, overflow="fold")
    table.add_column(justify="right", no_wrap=True, overflow="ellipsis")
    for item, value in pairs:
        table.add_row(Text(item), Text(value))
    _section(console, title)
    console.print(table)


@dataclass(frozen=True)
class Field:
    """How a per-customer column shows on the terminal: formatter, alignment and drop order."""

    format: Callable[[Any], str]
    numeric: bool = True
    drop: int = 0


def print_frame(console: Console, title: str, frame: pd.DataFrame, fields: dict[str, Field], *, lang: str) -> None:
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


def _note(console: Console, message: str) -> None:
    console.print(Text.assemble(("Note:", "yellow"), " ", message))


# --- ingest -----------------------------------------------------------------------
def print_ingest_notes(console: Console, report: Any, *, rejects_written: Path | None) -> None:
    """Dropped rows (count per reason, a few examples) and ingest warnings, on stderr."""
    if report.rows_dropped:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in report.drop_counts.items())
        console.print(f"Dropped {report.rows_dropped:,} of {report.rows_read:,} rows: {reasons}.", highlight=False)
        for example in report.examples[:5]:
            console.print(
                f"  {example.get('file')} row {example.get('row')}: {example.get('column')} "
                f"{example.get('value')!r} ({example.get('reason')})",
                markup=False,
                highlight=False,
            )
        if rejects_written is None:
            console.print(
                "  Write every dropped row with --rejects FILE, or stop on bad rows with --strict.", highlight=False
            )
        else:
            console.print(f"  All dropped rows written to {rejects_written}.", markup=False, highlight=False)
    for warning in report.warnings:
        console.print(f"Note: {warning}", markup=False, highlight=False)


# --- segment ----------------------------------------------------------------------
def render_segment(console: Console, result: ScoreResult, *, lang: str, top: int) -> None:
    """The segment summary: data read, tiers, Pareto figures, segments, lifecycle, churn, top customers."""
    summary = result.summary
    _render_data(console, summary.data, lang)
    render_tiers(console, summary.tiers, lang=lang)
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
            "lifecycle_stage": _vocab_field(lang, drop=3),
            "churn_band": _vocab_field(lang, drop=4),
        },
        lang=lang,
    )
    if summary.groups is not None:
        render_groups(console, summary.groups, lang=lang)
    for warning in summary.warnings:
        _note(console, warning)


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


def render_tiers(console: Console, tiers: Sequence[TierRow], *, lang: str) -> None:
    """Customers, revenue and shares per value tier."""
    keys = ("tier", "customers", "customer_share", "revenue", "revenue_share", "average_value")
    print_table(
        console,
        column_label("tiers", lang),
        [Column(short_label(k, lang), numeric=k != "tier") for k in keys],
        [
            (
                label(t.tier, lang),
                f"{t.customers:,}",
                _pct(t.customer_share),
                _money(t.revenue),
                _pct(t.revenue_share),
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
        _note(console, note)


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
def inspect_record(data: Any, findings: Sequence[Any]) -> dict:
    """Everything `crmkit inspect` shows, as a JSON-ready dict."""
    frame, report = data.frame, data.report
    return {
        "files": [
            {
                "path": f.path,
                "format": f.format,
                "encoding": f.encoding,
                "sheet": f.sheet,
                "rows": f.rows,
                "mapping": f.mapping,
                "date_styles": f.date_styles,
                "date_order": f.date_order,
            }
            for f in report.files
        ],
        "columns": {c: str(frame[c].dtype) for c in frame.columns},
        "rows_read": report.rows_read,
        "rows_used": report.rows_used,
        "rows_dropped": report.rows_dropped,
        "drop_counts": report.drop_counts,
        "first_date": frame["order_date"].min() if len(frame) else None,
        "last_date": frame["order_date"].max() if len(frame) else None,
        "customers": int(frame[CUSTOMER_ID].nunique()),
        "findings": [_finding_dict(f) for f in findings],
        "warnings": report.warnings,
    }


def _finding_dict(finding: Any) -> dict:
    return dict(finding) if isinstance(finding, dict) else dict(vars(finding))


def render_inspect(console: Console, data: Any, findings: Sequence[Any]) -> None:
    """Column mapping and types per file, row counts, date range and data-quality findings."""
    record = inspect_record(data, findings)
    types = record["columns"]
    for f in record["files"]:
        where = ", ".join(part for part in (f["format"], f["encoding"], f["sheet"] and f"sheet {f['sheet']}") if part)
        print_table(
            console,
            f"{f['path']} ({where}): {f['rows']:,} rows",
            [Column("column"), Column("header in file"), Column("type")],
            [(canonical, str(header), types.get(canonical, "")) for canonical, header in sorted(f["mapping"].items())],
        )
        if f["date_styles"]:
            styles = ", ".join(f"{style}: {n:,}" for style, n in f["date_styles"].items())
            console.print(Text(f"date styles: {styles}" + (f" (order {f['date_order']})" if f["date_order"] else "")))
    print_pairs(
        console,
        "data",
        [
            ("rows read", f"{record['rows_read']:,}"),
            ("rows used", f"{record['rows_used']:,}"),
            ("rows dropped", f"{record['rows_dropped']:,}"),
            *[(f"  {reason}", f"{n:,}") for reason, n in record["drop_counts"].items()],
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
        _note(console, warning)


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
        _note(console, report.to_json()["delivered_value_note"])


# --- backtest ---------------------------------------------------------------------
#: Rows of the backtest model table: label and how to read and format the figure from one model's report.
#: The backtest's measures: (English, Chinese) name and how to show a model's value.
_BACKTEST_ROWS: Final = (
    (("log-likelihood", "对数似然"), lambda m: _num(m["log_likelihood"], 1)),
    (("actual repeat purchases", "实际复购次数"), lambda m: _num(m["aggregate"]["actual"], 0)),
    (("predicted repeat purchases", "预测复购次数"), lambda m: _num(m["aggregate"]["predicted"], 1)),
    (("per customer: MAE", "单客户平均绝对误差"), lambda m: _num(m["per_customer"]["mae"], 3)),
    (("per customer: RMSE", "单客户均方根误差"), lambda m: _num(m["per_customer"]["rmse"], 3)),
    (("per customer: correlation", "单客户相关系数"), lambda m: _num(m["per_customer"]["correlation"], 3)),
    (("AUC of P(alive) for buying again", "存活概率预测复购的 AUC"), lambda m: _num(m["p_alive_auc"], 3)),
    (
        ("CLV vs holdout spend: correlation", "CLV 与验证期消费的相关系数"),
        lambda m: _num(m.get("clv", {}).get("correlation"), 3),
    ),
    (
        ("holdout spend of the top 20% by CLV", "CLV 前 20% 客户的验证期消费占比"),
        lambda m: _pct(m.get("clv", {}).get("top20_capture")),
    ),
)


def render_backtest(console: Console, report: dict, *, lang: str = "en") -> None:
    """Calibration vs holdout: one column per model, then mean holdout purchases by calibration frequency."""
    words = {key: pair[check_lang(lang)] for key, pair in BACKTEST_WORDS.items()}
    models = report["models"]
    unit = report.get("time_unit", "")
    customers = report.get("customers")
    console.print(
        Text(
            words["period"].format(
                c=report["calibration_end"],
                h=report["holdout_end"],
                n=_num(report.get("holdout_length"), 1),
                unit=UNIT_WORDS.get(unit, unit) if lang == "zh" else unit,
                customers=words["customers"].format(n=customers) if customers is not None else "",
            )
        )
    )
    print_table(
        console,
        words["models"],
        [Column(words["measure"]), *[Column(m["model"], numeric=True) for m in models]],
        [(names[check_lang(lang)], *[read(m) for m in models]) for names, read in _BACKTEST_ROWS],
    )
    predicted = [{row["frequency"]: row["predicted"] for row in m["by_frequency"]} for m in models]
    print_table(
        console,
        words["by_frequency"],
        [
            Column(words["frequency"], numeric=True),
            Column(words["customers_column"], numeric=True),
            Column(words["actual"], numeric=True),
            *[Column(m["model"], numeric=True) for m in models],
        ],
        [
            (
                row["frequency"],
                f"{row['customers']:,}",
                _num(row["actual"], 3),
                *[_num(p.get(row["frequency"]), 3) for p in predicted],
            )
            for row in (models[0]["by_frequency"] if models else [])
        ],
    )
    for m in models:
        for warning in m.get("warnings", []):
            _note(console, f"{m['model']}: {warning}")


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
    """Churn bands, then the customers worth saving by value at risk."""
    render_churn_bands(console, result.summary.churn, lang=lang)
    saving = result.at_risk
    shown = saving.head(top)
    print_frame(
        console,
        f"{short_label('worth_saving', lang)} ({len(shown):,} / {result.at_risk_total or len(saving):,})",
        shown,
        {
            CUSTOMER_ID: _text_field(),
            "name": _text_field(drop=7),
            "tier": _vocab_field(lang, drop=3),
            "lifecycle_stage": _vocab_field(lang, drop=5),
            "last_purchase": Field(_date, drop=4),
            "usual_gap_days": Field(_count, drop=6),
            "days_overdue": Field(_count, drop=2),
            "churn_risk": Field(_pct),
            "value_at_risk": Field(_money),
            SALESPERSON: _text_field(drop=1),
        },
        lang=lang,
    )
    if result.summary.groups is not None:
        render_groups(console, result.summary.groups, lang=lang)


def render_compare(console: Console, comparison: Any, *, lang: str) -> None:
    """Tier and stage migration matrices (rows: before, columns: after), then who fell and who rose."""
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
