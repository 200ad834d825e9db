"""Terminal output: rich tables readable at 80 columns, and JSON for scripts.

Human output may be localised (``lang="zh"``); JSON always uses canonical
English keys and values.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from crmkit.labels import column_label, label
from crmkit.schema import CUSTOMER_ID

MONEY = "{:,.0f}"


# --- JSON -----------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return None if pd.isna(value) else value.strftime("%Y-%m-%d")
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is pd.NaT or (not isinstance(value, (str, bool, int)) and value is not None and pd.isna(value)):
        return None
    return value


def json_text(payload: Any) -> str:
    """Canonical JSON: NaN/inf → null, dates as YYYY-MM-DD, non-ASCII kept."""
    return json.dumps(_json_safe(payload), ensure_ascii=False, indent=2)


def emit_json(payload: Any) -> None:
    """Print one JSON object on stdout."""
    sys.stdout.write(json_text(payload) + "\n")


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as JSON-ready records."""
    return _json_safe(frame.to_dict(orient="records"))


# --- shared pieces ----------------------------------------------------------------
def _money(value: Any) -> str:
    return "" if value is None or pd.isna(value) else MONEY.format(value)


def _pct(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def _date(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _table(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int = 1) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold", pad_edge=False)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i >= numeric_from else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _frame_table(title: str, frame: pd.DataFrame, formats: dict[str, Any], lang: str) -> Table:
    """Render selected columns of a per-customer frame with per-column formatters."""
    columns = [c for c in formats if c in frame.columns]
    headers = [column_label(c, lang) for c in columns]
    rows = ([formats[c](v) for c, v in zip(columns, row)] for row in frame[columns].itertuples(index=False))
    return _table(title, headers, rows)


def _vocab(value: Any, lang: str) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else label(str(value), lang)


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


# --- ingest -----------------------------------------------------------------------
def print_ingest_notes(console: Console, report: Any, *, rejects_written: Path | None) -> None:
    """Dropped rows (count per reason, a few examples) and ingest warnings, on stderr."""
    if report.rows_dropped:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in report.drop_counts.items())
        console.print(f"Dropped {report.rows_dropped:,} of {report.rows_read:,} rows: {reasons}.")
        for example in report.examples[:5]:
            console.print(f"  {example.get('file')} row {example.get('row')}: {example.get('column')} "
                          f"{example.get('value')!r} ({example.get('reason')})")
        if rejects_written is None:
            console.print("  Write every dropped row with --rejects FILE, or stop on bad rows with --strict.")
        else:
            console.print(f"  All dropped rows written to {rejects_written}.")
    for warning in report.warnings:
        console.print(f"Note: {warning}")


def data_quality_frame(report: Any) -> pd.DataFrame:
    """What was read, dropped and why, as item/value rows for the workbook."""
    rows = [("rows read", report.rows_read), ("rows used", report.rows_used), ("rows dropped", report.rows_dropped)]
    rows += [(f"dropped: {reason}", n) for reason, n in report.drop_counts.items()]
    rows += [(f"file: {f.path}", f"{f.rows:,} rows, {f.format}" + (f", {f.encoding}" if f.encoding else ""))
             for f in report.files]
    rows += [("note", warning) for warning in report.warnings]
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": "str"})


# --- segment ----------------------------------------------------------------------
def render_segment(console: Console, result: Any, *, lang: str, top: int,
                   groups: pd.DataFrame | None = None) -> None:
    """The segment summary: data read, tiers, Pareto figures, segments, lifecycle, churn, top customers."""
    summary = result.summary
    data = summary["data"]
    console.print(_table(
        column_label("data", lang), [column_label("item", lang), column_label("value", lang)],
        [(column_label("rows_read", lang), f"{data['rows_read']:,}"),
         (column_label("rows_dropped", lang), f"{data['rows_dropped']:,}"),
         (column_label("customers", lang), f"{data['customers']:,}"),
         (column_label("prospects", lang), f"{data['prospects']:,}"),
         (column_label("period", lang), f"{data['first_date']} – {data['last_date']}"),
         (column_label("as_of", lang), str(data["as_of"]))],
    ))
    console.print(_table(
        column_label("tiers", lang),
        [column_label(c, lang) for c in ("tier", "customers", "customer_share", "revenue", "revenue_share", "average_value")],
        [(label(t["tier"], lang), f"{t['customers']:,}", _pct(t["customer_share"]), _money(t["revenue"]),
          _pct(t["revenue_share"]), _money(t["average_value"])) for t in summary["tiers"]],
    ))
    pareto = summary["pareto"]
    if pareto.get("gini") is not None:
        console.print(_table(
            column_label("pareto", lang), [column_label("item", lang), column_label("value", lang)],
            [(column_label("top20_revenue_share", lang), _pct(pareto["top20_revenue_share"])),
             (column_label("customers_for_80pct", lang),
              f"{pareto['customers_for_80pct']:,} ({_pct(pareto['customers_for_80pct_share'])})"),
             (column_label("gini", lang), f"{pareto['gini']:.3f}")],
        ))
    _render_counts(console, summary, lang)
    if "model" in summary:
        render_model_fit(console, summary["model"], lang=lang)
    top_customers = result.customers.loc[result.customers["tier"] != "prospect"].nsmallest(top, "value_rank")
    console.print(_frame_table(column_label("top_customers", lang), top_customers, {
        CUSTOMER_ID: _text, "tier": lambda v: _vocab(v, lang), "total_revenue": _money,
        "n_orders": lambda v: _num(v, 0), "clv": _money, "lifecycle_stage": lambda v: _vocab(v, lang),
        "churn_band": lambda v: _vocab(v, lang),
    }, lang))
    if groups is not None:
        render_groups(console, groups, lang=lang)
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]Note:[/] {warning}", highlight=False)


def _render_counts(console: Console, summary: dict, lang: str) -> None:
    """Segments, lifecycle stages and churn bands side by side as small tables."""
    total = max(summary["data"]["customers"] + summary["data"]["prospects"], 1)
    console.print(_table(
        column_label("segment", lang), [column_label(c, lang) for c in ("segment", "customers", "customer_share", "revenue")],
        [(label(s["segment"], lang), f"{s['customers']:,}", _pct(s["customers"] / total), _money(s["revenue"]))
         for s in summary["segments"]],
    ))
    console.print(_table(
        column_label("lifecycle_stage", lang), [column_label(c, lang) for c in ("lifecycle_stage", "customers", "customer_share", "revenue")],
        [(label(s["stage"], lang), f"{s['customers']:,}", _pct(s["customers"] / total), _money(s["revenue"]))
         for s in summary["lifecycle"]],
    ))
    console.print(_table(
        column_label("churn_band", lang), [column_label(c, lang) for c in ("churn_band", "customers", "value_at_risk")],
        [(label(b["band"], lang), f"{b['customers']:,}", _money(b["value_at_risk"])) for b in summary["churn"]],
    ))


def render_model_fit(console: Console, model: dict, *, lang: str) -> None:
    """Fitted parameters, log-likelihood, convergence and warnings."""
    params = ", ".join(f"{k}={v:.4g}" for k, v in model["params"].items())
    rows = [(column_label("model", lang), f"{model['model']} ({model.get('time_unit', '')})"),
            (column_label("params", lang), params),
            (column_label("log_likelihood", lang), _num(model["log_likelihood"], 1)),
            (column_label("converged", lang), str(model["converged"]))]
    gamma_gamma = model.get("gamma_gamma")
    if gamma_gamma:
        rows.append(("Gamma-Gamma", ", ".join(f"{k}={gamma_gamma[k]:.4g}" for k in ("p", "q", "v"))))
    console.print(_table(column_label("model_fit", lang), [column_label("item", lang), column_label("value", lang)], rows))
    for note in [*model.get("notes", []), *model.get("warnings", [])]:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)


def render_rfm_explain(console: Console, result: Any, *, lang: str) -> None:
    """The value range behind each RFM score."""
    thresholds = result.rfm_thresholds
    console.print(_table(
        "RFM", ["score", "input", "min", "max", column_label("customers", lang)],
        [(f"{r.score_name}={r.score}", r.input, _num(r.min), _num(r.max), f"{r.customers:,}")
         for r in thresholds.itertuples(index=False)],
    ))


def render_groups(console: Console, groups: pd.DataFrame, *, lang: str) -> None:
    """Per-group rollup (salesperson, region, …)."""
    formats = {c: (_text if i == 0 else _money if c in ("revenue", "value_at_risk") else
                   _pct if c.endswith("share") or c == "concentration" else lambda v: _num(v, 0))
               for i, c in enumerate(groups.columns)}
    console.print(_frame_table(column_label("groups", lang), groups, formats, lang))


# --- inspect ----------------------------------------------------------------------
def inspect_record(data: Any, findings: Sequence[Any]) -> dict:
    """Everything `crmkit inspect` shows, as a JSON-ready dict."""
    frame, report = data.frame, data.report
    return {
        "files": [{"path": f.path, "format": f.format, "encoding": f.encoding, "sheet": f.sheet, "rows": f.rows,
                   "mapping": f.mapping, "date_styles": f.date_styles, "date_order": f.date_order}
                  for f in report.files],
        "columns": {c: str(frame[c].dtype) for c in frame.columns},
        "rows_read": report.rows_read, "rows_used": report.rows_used, "rows_dropped": report.rows_dropped,
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
    """Column mapping, types, date range, row counts and data-quality findings."""
    record = inspect_record(data, findings)
    for f in record["files"]:
        console.print(_table(
            f"{f['path']} ({f['format']}{', ' + f['encoding'] if f['encoding'] else ''}"
            f"{', sheet ' + f['sheet'] if f['sheet'] else ''}): {f['rows']:,} rows",
            ["column", "header in file"], sorted(f["mapping"].items()),
        ))
        if f["date_styles"]:
            styles = ", ".join(f"{style}: {n:,}" for style, n in f["date_styles"].items())
            console.print(f"date styles: {styles}" + (f" (order {f['date_order']})" if f["date_order"] else ""))
    console.print(_table("data", ["item", "value"], [
        ("rows read", f"{record['rows_read']:,}"), ("rows used", f"{record['rows_used']:,}"),
        ("rows dropped", f"{record['rows_dropped']:,}"),
        *[(f"  {reason}", f"{n:,}") for reason, n in record["drop_counts"].items()],
        ("customers", f"{record['customers']:,}"),
        ("dates", f"{_date(record['first_date'])} – {_date(record['last_date'])}"),
        *[(c, t) for c, t in record["columns"].items()],
    ]))
    rows = [(str(f.get("kind", f.get("check", ""))), str(f.get("count", "")), str(f.get("detail", f.get("message", ""))))
            for f in record["findings"]]
    console.print(_table("data quality", ["finding", "count", "detail"], rows, numeric_from=1))
    for warning in record["warnings"]:
        console.print(f"[yellow]Note:[/] {warning}", highlight=False)


# --- value ------------------------------------------------------------------------
def render_value(console: Console, result: Any, report: dict, *, lang: str, top: int) -> None:
    """Model fit, value by tier and the top customers by CLV."""
    render_model_fit(console, report["model"], lang=lang)
    console.print(_table(
        column_label("value_by_tier", lang),
        [column_label(c, lang) for c in ("tier", "customers", "historic_value", "clv", "expected_purchases")],
        [(label(t["tier"], lang), f"{t['customers']:,}", _money(t["historic_value"]), _money(t["clv"]),
          _num(t["expected_purchases"], 1)) for t in report["value_by_tier"]],
    ))
    best = result.customers.dropna(subset=["clv"]).sort_values(["clv", CUSTOMER_ID], ascending=[False, True]).head(top)
    console.print(_frame_table(column_label("top_customers", lang), best, {
        CUSTOMER_ID: _text, "tier": lambda v: _vocab(v, lang), "frequency": lambda v: _num(v, 0),
        "p_alive": _pct, "expected_purchases": _num, "expected_spend": _money, "clv": _money,
    }, lang))
    if report.get("delivered_value_note"):
        console.print(f"Note: {report['delivered_value_note']}", highlight=False)


# --- backtest ---------------------------------------------------------------------
def render_backtest(console: Console, report: dict) -> None:
    """Calibration vs holdout, model by model, with the by-frequency table."""
    console.print(f"calibration to {report['calibration_end']}, holdout to {report['holdout_end']} "
                  f"({_num(report.get('holdout_length'), 1)} {report.get('time_unit', '')})")
    console.print(_table("models", ["model", "LL", "actual", "predicted", "MAE", "RMSE", "corr", "AUC p_alive",
                                    "CLV corr", "top20 capture"], [
        (m["model"], _num(m["log_likelihood"], 1), _num(m["aggregate"]["actual"], 0),
         _num(m["aggregate"]["predicted"], 1), _num(m["per_customer"]["mae"], 3), _num(m["per_customer"]["rmse"], 3),
         _num(m["per_customer"]["correlation"], 3), _num(m["p_alive_auc"], 3),
         _num(m.get("clv", {}).get("correlation"), 3), _pct(m.get("clv", {}).get("top20_capture")))
        for m in report["models"]]))
    for m in report["models"]:
        console.print(_table(f"{m['model']}: repeat purchases in the holdout by calibration frequency",
                             ["frequency", "customers", "actual", "predicted"], [
            (str(row["frequency"]), f"{row['customers']:,}", _num(row["actual"], 3), _num(row["predicted"], 3))
            for row in m["by_frequency"]]))


# --- lifecycle / churn / compare ------------------------------------------------------
def render_lifecycle(console: Console, result: Any, rules: pd.DataFrame | None, *, lang: str) -> None:
    """Stage distribution, and the rule table with the thresholds used."""
    total = max(len(result.customers), 1)
    console.print(_table(
        column_label("lifecycle_stage", lang),
        [column_label(c, lang) for c in ("lifecycle_stage", "customers", "customer_share", "revenue")],
        [(label(s["stage"], lang), f"{s['customers']:,}", _pct(s["customers"] / total), _money(s["revenue"]))
         for s in result.summary["lifecycle"]],
    ))
    if rules is not None:
        console.print(_table(column_label("rules", lang), [str(c) for c in rules.columns],
                             ([_vocab(v, lang) if i == 0 else _text(v) for i, v in enumerate(row)]
                              for row in rules.itertuples(index=False)), numeric_from=len(rules.columns)))


def render_churn(console: Console, result: Any, saving: pd.DataFrame, *, lang: str, top: int,
                 groups: pd.DataFrame | None) -> None:
    """Churn bands, then the customers worth saving by value at risk."""
    console.print(_table(
        column_label("churn_band", lang), [column_label(c, lang) for c in ("churn_band", "customers", "value_at_risk")],
        [(label(b["band"], lang), f"{b['customers']:,}", _money(b["value_at_risk"])) for b in result.summary["churn"]],
    ))
    console.print(_frame_table(f"{column_label('at_risk', lang)} ({min(top, len(saving))} / {len(saving):,})",
                               saving.head(top), {
        CUSTOMER_ID: _text, "tier": lambda v: _vocab(v, lang), "lifecycle_stage": lambda v: _vocab(v, lang),
        "last_purchase": _date, "usual_gap_days": lambda v: _num(v, 0), "days_overdue": lambda v: _num(v, 0),
        "churn_risk": _pct, "value_at_risk": _money, "salesperson": _text,
    }, lang))
    if groups is not None:
        render_groups(console, groups, lang=lang)


def render_compare(console: Console, comparison: Any, *, lang: str) -> None:
    """Tier and stage migration matrices, and who fell or rose."""
    for name, matrix in (("tier_migration", comparison.tier_migration), ("stage_migration", comparison.stage_migration)):
        headers = [column_label(name, lang), *[_vocab(c, lang) for c in matrix.columns]]
        rows = ([_vocab(index, lang), *[f"{int(v):,}" for v in row]] for index, row in zip(matrix.index, matrix.to_numpy()))
        console.print(_table(column_label(name, lang), headers, rows))
    console.print(f"{column_label('fell', lang)}: {len(comparison.fell):,}   {column_label('rose', lang)}: {len(comparison.rose):,}")
