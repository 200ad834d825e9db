"""End to end through the command line: help, user errors, every command's outputs, and the 80-column report.

Commands run in-process with Typer's CliRunner (plus two ``python -m crmkit``
subprocesses for the entry point). Inputs are small simulated files written to
a temporary folder, or the shipped samples in data/samples.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest
import typer
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner, Result

from crmkit.cli import app
from crmkit.cli.params import VOCABULARIES
from crmkit.datasets.sample import PRODUCTS, localise_sample, simulate_sales
from crmkit.output import labels, terminal
from crmkit.output.tables import write_table
from crmkit.schema import COST_COMPONENTS, VALUE_COMPONENTS

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
COMMANDS = ("segment", "inspect", "sample", "value", "backtest", "lifecycle", "churn", "retention", "compare", "basket")
#: Seven-digit ids with leading zeros, as the simulated exports write them.
ID = re.compile(r"^\d{7}$")
#: An SGR escape that sets a colour (foreground, background, 256-colour or truecolour).
COLOUR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
#: Environment of every run: 80 columns, and none of the outer shell's colour or debug settings.
BASE_ENV = {
    "COLUMNS": "80",
    "LINES": "50",
    "NO_COLOR": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "CRMKIT_DEBUG": None,
}

runner = CliRunner()


# --- running crmkit ----------------------------------------------------------------
def run(*args: object, env: dict[str, str | None] | None = None) -> Result:
    """Invoke crmkit in-process."""
    return runner.invoke(app, [str(a) for a in args], env={**BASE_ENV, **(env or {})})


def describe(result: Result) -> str:
    return (
        f"exit {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n"
        f"--- exception\n{result.exception!r}"
    )


def ok(*args: object, env: dict[str, str | None] | None = None) -> Result:
    """Invoke crmkit and require exit code 0."""
    result = run(*args, env=env)
    assert result.exit_code == 0, describe(result)
    return result


def as_json(*args: object) -> dict:
    """Invoke crmkit with ``--format json`` and parse stdout."""
    return json.loads(ok(*args, "--format", "json").stdout)


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit 2, one ``Error:`` message on stderr containing every fragment, nothing on stdout, no traceback."""
    assert result.exit_code == 2, describe(result)
    assert result.stderr.startswith("Error:"), describe(result)
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} missing\n{describe(result)}"
    assert "Traceback" not in result.stdout + result.stderr, describe(result)
    assert result.stdout == "", describe(result)


def assert_close(actual: object, expected: object, path: str = "") -> None:
    """Equal JSON, except that numbers need only agree to 1e-9 (relative)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), path
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), path
    else:
        assert actual == expected, path


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command in an empty folder, so no ./crmkit.toml is picked up and relative outputs land there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """200 simulated customers (plus prospects) as English CSV, Chinese XLSX and variants, written once."""
    folder = tmp_path_factory.mktemp("data")
    sample = simulate_sales(200, seed=11)
    en, zh = localise_sample(sample, "en"), localise_sample(sample, "zh")
    tx = en.transactions
    paths = SimpleNamespace(folder=folder, tx=tx, customers_frame=en.customers)
    paths.csv = folder / "sales.csv"
    write_table(tx, paths.csv)
    paths.customers = folder / "customers.csv"
    write_table(en.customers, paths.customers)
    paths.zh = folder / "sales_zh.xlsx"
    write_table(zh.transactions, paths.zh)
    paths.no_cost = folder / "no_cost.csv"
    write_table(tx.drop(columns="Cost"), paths.no_cost)
    paths.shuffled = folder / "shuffled.csv"
    write_table(tx.sample(frac=1.0, random_state=5), paths.shuffled)
    dates = pd.to_datetime(tx["Order Date"])
    paths.midpoint = pd.Timestamp("2024-06-30")
    paths.old = folder / "sales_2024-06.csv"
    write_table(tx.loc[dates <= paths.midpoint], paths.old)
    paths.old_last = dates[dates <= paths.midpoint].max().strftime("%Y-%m-%d")
    paths.last = dates.max().strftime("%Y-%m-%d")
    return paths


@pytest.fixture(scope="module")
def segment_json(data: SimpleNamespace) -> dict:
    return json.loads(ok("segment", data.csv, "--format", "json").stdout)


# --- help -------------------------------------------------------------------------
def test_help_lists_every_command() -> None:
    out = ok("--help").stdout
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_has_help(command: str) -> None:
    out = ok(command, "--help").stdout
    params = typer.main.get_command(app).commands[command].params
    options = [p for p in params if p.param_type_name == "option"]
    assert options
    for option in options:
        assert (option.help or "").strip(), f"crmkit {command} {option.opts[0]} has no help text"
        assert option.opts[0] in out, f"{option.opts[0]} not listed by crmkit {command} --help"


def test_global_options_have_help() -> None:
    for param in typer.main.get_command(app).params:
        if param.param_type_name == "option":
            assert (param.help or "").strip(), param.opts


# --- user errors ------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    assert_user_error(run("segment", tmp_path / "nope.csv"), "nope.csv", "does not exist")


def test_missing_required_column_lists_the_columns_found_and_the_fix(tmp_path: Path) -> None:
    path = write_text(tmp_path / "no_amount.csv", "Customer ID,Order Date,Qty\n001,2024-01-05,3\n")
    assert_user_error(
        run("segment", path),
        "no_amount.csv",
        "amount",
        "columns found",
        "'Customer ID'",
        "'Order Date'",
        "'Qty'",
        "--col amount=",
    )


def test_unparseable_date_with_strict_names_file_row_and_column(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "bad_date.csv",
        "Customer ID,Order Date,Amount\n001,2024-01-05,10\n002,2024-01-06,20\n001,notadate,30\n003,2024-02-01,5\n",
    )
    assert_user_error(run("segment", path, "--strict"), "bad_date.csv", "row 4", "'Order Date'", "notadate")


def test_unparseable_date_without_strict_is_dropped_and_reported(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "bad_date.csv",
        "Customer ID,Order Date,Amount\n001,2024-01-05,10\n002,2024-01-06,20\n001,notadate,30\n003,2024-02-01,5\n",
    )
    notes = " ".join(ok("segment", path, "--no-model").stderr.split())  # lines wrap at 80 columns
    assert "Dropped 1 of 4 rows: 1 missing or unparseable order_date." in notes
    assert "bad_date.csv row 4: Order Date 'notadate'" in notes


def test_unknown_col_key(data: SimpleNamespace) -> None:
    assert_user_error(run("segment", data.csv, "--col", "foo=Bar"), "foo", "customer_id")


def test_col_pointing_at_a_missing_header(data: SimpleNamespace) -> None:
    assert_user_error(run("segment", data.csv, "--col", "amount=Nope"), "sales.csv", "'Nope'", "columns found")


def test_error_text_is_printed_literally_not_as_markup(tmp_path: Path, data: SimpleNamespace) -> None:
    """Square brackets in a file name or message must reach the user (rich markup would swallow them)."""
    assert_user_error(run("segment", tmp_path / "[march] sales.csv"), "[march] sales.csv")
    assert_user_error(run("segment", data.csv, "--col", "foo=Bar"), "--col/[columns]")


@pytest.mark.parametrize("as_of", ["notadate", "2024-13-45"])
def test_bad_as_of(data: SimpleNamespace, as_of: str) -> None:
    assert_user_error(run("segment", data.csv, "--as-of", as_of), "--as-of", as_of)


def test_as_of_before_every_purchase(data: SimpleNamespace) -> None:
    assert_user_error(run("segment", data.csv, "--as-of", "2020-01-01", "--no-model"), "2020-01-01", "--as-of")


@pytest.mark.parametrize(("tiers", "fragment"), [("5", "--tiers"), ("a,b", "a,b"), ("50,60", "50,60")])
def test_bad_tiers(data: SimpleNamespace, tiers: str, fragment: str) -> None:
    assert_user_error(run("segment", data.csv, "--tiers", tiers, "--no-model"), fragment)


def test_unknown_sheet_lists_the_sheets(data: SimpleNamespace) -> None:
    assert_user_error(run("segment", data.zh, "--sheet", "Nope"), "sales_zh.xlsx", "'Nope'", "sheets:")
    assert_user_error(run("segment", data.zh, "--sheet", "Nope"), "pick one with --sheet NAME")


@pytest.mark.parametrize(
    ("content", "options", "hint"),
    [
        ("customer_id;order_date;amount\nA;2024-01-05;1.500\n", [], "say which with --decimal , (1.234,56)"),
        ("customer_id;order_date;amount\nA;2024-01-05;1.234,50\n", ["--decimal", "."], "use --decimal , or leave"),
        ("customer_id,order_date,amount\nA,01/02/2024,5\n", [], "say which with --date-order dmy (5 March)"),
        ("Report,,\nclient,when,paid\nA,2024-01-05,5\n", [], 'name them with --col customer_id="<header>" --col'),
        ("Report,,\nclient,when,paid\nA,2024-01-05,5\n", [], "give its row with --header-row N"),
        ("customer_id,order_date,amount\nA,2024-01-05,x\n", ["--strict"], "drop --strict to skip them (write them"),
    ],
)
def test_library_advice_reads_as_options_on_the_command_line(tmp_path: Path, content, options, hint) -> None:
    """Ingest errors name the library's parameters (decimal=',', date_order='dmy', columns={...}); the command
    line shows its own options instead, in English and, translated from them, in Chinese."""
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    result = run("segment", path, "--no-model", *options)
    assert_user_error(result, hint)
    zh = run("segment", path, "--no-model", "--lang", "zh", *options)
    assert zh.exit_code == 2 and "提示" in zh.stderr
    for library_word in ("decimal=", "date_order=", "header_row=", "columns={", "strict=", ".rejects"):
        assert library_word not in result.stderr + zh.stderr


def test_ambiguous_day_month_dates_need_date_order(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "ambiguous.csv",
        "Customer ID,Order Date,Amount\n001,05/03/2024,10\n002,04/02/2024,20\n001,06/07/2024,30\n",
    )
    assert_user_error(run("segment", path, "--no-model"), "ambiguous.csv", "'Order Date'", "--date-order")
    march = as_json("segment", path, "--no-model", "--date-order", "dmy")
    may = as_json("segment", path, "--no-model", "--date-order", "mdy")
    assert (march["data"]["first_date"], march["data"]["last_date"]) == ("2024-02-04", "2024-07-06")
    assert (may["data"]["first_date"], may["data"]["last_date"]) == ("2024-04-02", "2024-06-07")


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(b"this is not a zip archive")
    assert_user_error(run("segment", path), "corrupt.xlsx")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write_text(tmp_path / "sales.pdf", "Customer ID,Order Date,Amount\n001,2024-01-05,10\n")
    assert_user_error(run("segment", path), "sales.pdf", ".pdf")


def test_out_over_an_input_is_refused_and_the_input_kept(tmp_path: Path, data: SimpleNamespace) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(data.csv.read_bytes())
    before = path.read_bytes()
    assert_user_error(run("segment", path, "--out", path, "--no-model"), "in.csv")
    assert path.read_bytes() == before
    assert_user_error(run("segment", path, "--out", tmp_path / "." / "in.csv", "--no-model"), "in.csv")
    assert path.read_bytes() == before


def test_unknown_out_extension(data: SimpleNamespace, tmp_path: Path) -> None:
    assert_user_error(run("segment", data.csv, "--out", tmp_path / "x.docx", "--no-model"), "x.docx", ".docx")


def test_tier_by_profit_needs_a_cost_column(data: SimpleNamespace) -> None:
    assert_user_error(run("segment", data.no_cost, "--tier-by", "profit", "--no-model"), "--tier-by profit", "cost")


@pytest.mark.parametrize(
    "extra", [[], ["--as-of", "2024-06-30"], ["{csv}", "{csv}"], ["{csv}", "--as-of", "2024-06-30"]]
)
def test_compare_with_wrong_arity(data: SimpleNamespace, extra: list[str]) -> None:
    args = [str(data.csv) if a == "{csv}" else a for a in extra]
    assert_user_error(run("compare", data.csv, *args, "--no-model"), "compare needs OLD NEW")


def _python_m(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crmkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    plain = _python_m("segment", "nope.csv", cwd=tmp_path)
    assert plain.returncode == 2 and plain.stderr.startswith("Error: nope.csv does not exist")
    assert "Traceback" not in plain.stdout + plain.stderr
    debug = _python_m("--debug", "segment", "nope.csv", cwd=tmp_path)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr and "InputFileError" in debug.stderr


def test_python_m_entry_point_runs_a_command(data: SimpleNamespace, tmp_path: Path) -> None:
    done = _python_m("segment", str(data.csv), "--no-model", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["customers"] == 200


# --- segment ----------------------------------------------------------------------
#: Keys of `crmkit segment --format json`: on each line the documented keys first, then those the output also
#: has (to be documented too). Any change here is a change to the JSON contract.
SEGMENT_KEYS = {
    "top": {
        "data",
        "tiers",
        "pareto",
        "segments",
        "lifecycle",
        "churn",
        "model",
        "groups",
        "retention",
        "basket",
        "warnings",
        "tier_by",
        "next_actions",
        "delivered_value",  # documented
    },
    "data": {
        "rows_read",
        "rows_used",
        "rows_dropped",
        "dropped_by_reason",
        "skipped_files",
        "customers",
        "first_date",
        "last_date",
        "as_of",  # documented
        "prospects",
        "rows_after_as_of",
        "time_unit",
    },
    "tiers": {
        "tier",
        "customers",
        "revenue",
        "revenue_share",  # documented
        "customer_share",
        "average_value",
        "profit",
    },
    "pareto": {
        "top20_revenue_share",
        "customers_for_80pct",
        "customers_for_80pct_share",
        "gini",  # documented
        "curve",
    },
    "segments": {"segment", "customers", "revenue"},
    "lifecycle": {"stage", "customers", "revenue"},
    "churn": {"band", "customers", "value_at_risk"},
    "next_actions": {"action", "customers", "revenue"},
}


def test_segment_json_keys(segment_json: dict) -> None:
    assert set(segment_json) == SEGMENT_KEYS["top"]
    assert set(segment_json["data"]) == SEGMENT_KEYS["data"]
    assert set(segment_json["pareto"]) == SEGMENT_KEYS["pareto"]
    assert segment_json["tier_by"] == "profit"  # the sample has a cost column
    assert segment_json["delivered_value"] is None  # no customer master with the components
    for section in ("tiers", "segments", "lifecycle", "churn", "next_actions"):
        assert segment_json[section], section
        for entry in segment_json[section]:
            assert set(entry) == SEGMENT_KEYS[section], section


def test_segment_json_figures(segment_json: dict, data: SimpleNamespace) -> None:
    """Hand-checked: 200 buyers, 5% / 15% rank tiers, every row used, tiers and stages partition the buyers."""
    d = segment_json["data"]
    assert (d["rows_read"], d["rows_used"], d["rows_dropped"]) == (len(data.tx), len(data.tx), 0)
    assert d["customers"] == data.tx["Customer ID"].nunique() == 200
    assert d["as_of"] == d["last_date"] == data.last
    tiers = {t["tier"]: t for t in segment_json["tiers"]}
    assert [t["tier"] for t in segment_json["tiers"]] == ["platinum", "gold", "iron"]
    assert (tiers["platinum"]["customers"], tiers["gold"]["customers"], tiers["iron"]["customers"]) == (10, 30, 160)
    assert sum(t["customers"] for t in segment_json["tiers"]) == d["customers"]
    assert sum(t["revenue_share"] for t in segment_json["tiers"]) == pytest.approx(1.0)
    revenue = data.tx["Amount"].sum()
    assert sum(t["revenue"] for t in segment_json["tiers"]) == pytest.approx(revenue)
    assert sum(s["customers"] for s in segment_json["segments"]) == d["customers"]
    assert sum(s["customers"] for s in segment_json["lifecycle"]) == d["customers"]
    assert sum(b["customers"] for b in segment_json["churn"]) == d["customers"]
    pareto = segment_json["pareto"]
    assert pareto["customers_for_80pct_share"] == pytest.approx(pareto["customers_for_80pct"] / 200)
    assert 0 < pareto["gini"] < 1


def test_segment_rfm_cn8_keeps_canonical_keys(data: SimpleNamespace) -> None:
    payload = as_json("segment", data.csv, "--rfm-scheme", "cn8", "--no-model")
    names = {s["segment"] for s in payload["segments"]}
    assert names <= {
        "important_value",
        "important_development",
        "important_retention",
        "important_winback",
        "general_value",
        "general_development",
        "general_retention",
        "general_winback",
    }
    assert sum(s["customers"] for s in payload["segments"]) == 200
    assert "重要" not in json.dumps(payload, ensure_ascii=False)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_segment_out_machine_formats_are_canonical_english(data: SimpleNamespace, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"customers{suffix}"
    ok("segment", data.csv, "--out", out, "--lang", "zh", "--no-model")
    if suffix == ".csv":
        frame = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig")
    elif suffix == ".parquet":
        frame = pd.read_parquet(out)
    else:
        frame = pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    assert len(frame) == 200
    assert {"customer_id", "tier", "segment", "lifecycle_stage", "churn_band", "total_revenue"} <= set(frame.columns)
    assert set(frame["tier"]) == {"platinum", "gold", "iron"}
    assert frame["customer_id"].astype(str).str.fullmatch(ID.pattern).all()
    assert set(frame["customer_id"]) == set(data.tx["Customer ID"])


def test_segment_out_workbook(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "tiers.xlsx"
    ok("segment", data.csv, "--out", out, "--no-model")
    book = openpyxl.load_workbook(out)
    assert {"Summary", "Customers"} <= set(book.sheetnames)
    sheet = book["Customers"]
    assert sheet.freeze_panes is not None and re.fullmatch(r"[A-Z]+2", sheet.freeze_panes)
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    header = [cell.value for cell in sheet[1]]
    assert header[0].replace("\n", " ") == "Customer ID"  # on two lines when wider than the ids
    ids = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1, values_only=True)]
    assert len(ids) == 200 and all(isinstance(i, str) and ID.match(i) for i in ids)


def test_segment_workbook_in_chinese(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "tiers_zh.xlsx"
    ok("segment", data.zh, "--out", out, "--lang", "zh", "--no-model")
    book = openpyxl.load_workbook(out, read_only=True)
    assert {"摘要", "客户"} <= set(book.sheetnames)
    first = next(book["客户"].iter_rows(max_row=2, values_only=True))
    assert first[0] == "客户编号"


def test_segment_reads_chinese_headers_and_dates(data: SimpleNamespace, segment_json: dict) -> None:
    """The same sales as a Chinese workbook (2024年1月5日 dates) give the same figures as the English CSV, and
    the same rules under the Chinese product names."""
    chinese = as_json("segment", data.zh)
    english_names = {zh: en for en, zh, *_ in PRODUCTS}
    for rule in chinese["basket"]["top_rules"]:
        for side in ("antecedent", "consequent"):
            rule[side] = " + ".join(english_names[name] for name in rule[side].split(" + "))
    assert segment_json["basket"]["rules"] > 0
    assert_close(chinese, segment_json)


def test_segment_shipped_sample_with_master_rejects_and_out(tmp_path: Path) -> None:
    """sales.xlsx: 199 flawed rows dropped, reported on stderr and written with reasons (one of the two empty
    customer ids is on an order whose other lines name the customer: it is taken from them, and said so); the
    master adds 60 prospects (tier prospect, stage acquisition) and the delivered value columns."""
    rejects, out = tmp_path / "rejects.csv", tmp_path / "customers.csv"
    result = ok(
        "segment",
        SAMPLES / "sales.xlsx",
        "--customers",
        SAMPLES / "customers.csv",
        "--rejects",
        rejects,
        "--out",
        out,
        "--no-model",
    )
    assert "Dropped 199 of" in result.stderr
    assert "197 repeated order line" in result.stderr and "1 empty customer_id" in result.stderr
    assert "took it from another line of the same order ('Customer ID' on 1 line(s))" in " ".join(result.stderr.split())
    assert f"All dropped rows written to {rejects}." in " ".join(result.stderr.split())
    dropped = pd.read_csv(rejects, dtype=str, encoding="utf-8-sig")
    assert len(dropped) == 199
    assert dropped["reason"].notna().all()
    assert dropped["reason"].value_counts().to_dict() == {
        "repeated order line": 197,
        "empty customer_id": 1,
        "missing or unparseable order_date": 1,
    }
    assert dropped["source_row"].notna().all()
    assert dropped["customer_id"].dropna().str.fullmatch(ID.pattern).all()

    customers = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig")
    master = pd.read_csv(SAMPLES / "customers.csv", dtype=str, encoding="utf-8-sig")
    prospects = customers.loc[customers["tier"] == "prospect"]
    assert len(prospects) == 60
    assert (prospects["lifecycle_stage"] == "acquisition").all()
    assert set(customers["customer_id"]) == set(master.iloc[:, 0])
    assert customers["customer_id"].str.fullmatch(ID.pattern).all()
    assert {"total_customer_value", "total_customer_cost", "delivered_value", "delivered_value_ratio"} <= set(
        customers.columns
    )
    assert re.search(r"^Prospect\s+60\s", result.stdout, re.M)


def test_delivered_value_is_value_minus_cost(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "customers.csv"
    ok("segment", data.csv, "--customers", data.customers, "--out", out, "--no-model")
    scored = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig").set_index("customer_id")
    master = data.customers_frame.set_index("Customer ID")
    value = master[list(VALUE_COMPONENTS)].sum(axis=1)
    cost = master[list(COST_COMPONENTS)].sum(axis=1)
    assert scored.loc[master.index, "delivered_value"].to_numpy() == pytest.approx((value - cost).to_numpy())
    assert scored.loc[master.index, "delivered_value_ratio"].to_numpy() == pytest.approx((value / cost).to_numpy())
    prospects = scored.loc[scored["tier"] == "prospect"]
    assert len(prospects) == len(master) - 200 > 0
    assert (prospects["lifecycle_stage"] == "acquisition").all()


def test_segment_json_with_master_counts_prospects_apart(data: SimpleNamespace) -> None:
    payload = as_json("segment", data.csv, "--customers", data.customers, "--no-model")
    n_prospects = len(data.customers_frame) - 200
    assert payload["data"]["customers"] == 200 and payload["data"]["prospects"] == n_prospects
    tiers = {t["tier"]: t["customers"] for t in payload["tiers"]}
    assert tiers["prospect"] == n_prospects
    assert tiers["platinum"] + tiers["gold"] + tiers["iron"] == 200
    stages = {s["stage"]: s["customers"] for s in payload["lifecycle"]}
    assert stages["acquisition"] >= n_prospects


def test_tier_by_clv_ranks_by_clv(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "clv.csv"
    ok("segment", data.csv, "--tier-by", "clv", "--out", out)
    frame = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig")
    clv = frame.groupby("tier")["clv"]
    assert clv.size().to_dict() == {"platinum": 10, "gold": 30, "iron": 160}
    assert clv.min()["platinum"] >= clv.max()["gold"] and clv.min()["gold"] >= clv.max()["iron"]
    assert (frame.sort_values("value_rank")["clv"].diff().dropna() <= 1e-9).all()
    by_revenue = tmp_path / "revenue.csv"
    ok("segment", data.csv, "--out", by_revenue)
    columns = list(frame.columns)
    assert columns == list(pd.read_csv(by_revenue, nrows=0, encoding="utf-8-sig").columns)  # one column order
    assert columns.index("tier") == columns.index("segment") + 2 < columns.index("clv")


def test_tier_mode_share(data: SimpleNamespace, tmp_path: Path) -> None:
    """Platinum: the top customers making the first 50% of revenue; gold: the next 30% (checked by hand)."""
    out = tmp_path / "share.csv"
    ok("segment", data.csv, "--tier-mode", "share", "--tiers", "50,30", "--no-model", "--out", out)
    frame = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig").sort_values("value_rank")
    value = frame["total_revenue"].clip(lower=0).to_numpy()
    before = value.cumsum() - value
    expected = [
        "platinum" if v > 0 and b < 0.5 * value.sum() else "gold" if v > 0 and b < 0.8 * value.sum() else "iron"
        for v, b in zip(value, before)
    ]
    assert frame["tier"].tolist() == expected
    assert 0 < expected.count("platinum") < expected.count("gold") < expected.count("iron")


def test_as_of_ignores_and_counts_later_rows(data: SimpleNamespace) -> None:
    payload = as_json("segment", data.csv, "--as-of", "2024-06-30", "--no-model")
    dates = pd.to_datetime(data.tx["Order Date"])
    assert payload["data"]["as_of"] == "2024-06-30"
    assert payload["data"]["rows_after_as_of"] == int((dates > data.midpoint).sum()) > 0
    buyers_by_then = data.tx.loc[dates <= data.midpoint, "Customer ID"].nunique()
    assert payload["data"]["customers"] == buyers_by_then


def test_row_order_does_not_change_any_count_or_label(data: SimpleNamespace, segment_json: dict) -> None:
    assert_close(as_json("segment", data.shuffled), segment_json)


def test_row_order_does_not_change_the_output(data: SimpleNamespace, segment_json: dict) -> None:
    """The same rows in another order must give the same JSON, to the last digit."""
    assert as_json("segment", data.shuffled) == segment_json


def test_group_by_in_json_adds_up(data: SimpleNamespace) -> None:
    payload = as_json("segment", data.csv, "--group-by", "region", "--no-model")
    groups = payload["groups"]
    assert {g["region"] for g in groups} == set(data.tx["Region"])
    assert sum(g["customers"] for g in groups) == 200


# --- inspect, sample --------------------------------------------------------------------
def test_inspect_table_and_json(data: SimpleNamespace) -> None:
    table = " ".join(ok("inspect", data.zh).stdout.split())  # a long temporary path may wrap the title
    assert "客户编号" in table and "customer_id" in table and f"{len(data.tx):,} rows" in table
    record = as_json("inspect", data.zh)
    assert {
        "files",
        "columns",
        "rows_read",
        "rows_used",
        "rows_dropped",
        "drop_counts",
        "first_date",
        "last_date",
        "customers",
        "findings",
        "warnings",
    } <= set(record)
    mapping = record["files"][0]["mapping"]
    assert (mapping["customer_id"], mapping["order_date"]) == ("客户编号", "订单日期")
    assert record["rows_read"] == len(data.tx) and record["customers"] == 200
    assert record["last_date"] == data.last


def test_inspect_finds_the_flaws(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "flaws.csv",
        "Customer ID,Order Date,Amount,Order ID\n001,2024-01-05,10,A1\n"
        "001,2024-01-05,10,A1\n002,2024-01-06,-5,A2\n002,2024-01-07,20,A3\n,2024-01-08,3,A4\n"
        "003,2024-01-09,0,A5\n",
    )
    record = as_json("inspect", path)
    assert (record["rows_read"], record["rows_used"], record["rows_dropped"], record["customers"]) == (6, 4, 2, 3)
    assert record["drop_counts"] == {"repeated order line": 1, "empty customer_id": 1}
    assert {f["kind"]: f["count"] for f in record["findings"]} == {
        "repeated order lines": 1,
        "dropped rows": 1,
        "returns": 1,
        "zero amounts": 1,
    }
    table = ok("inspect", path).stdout
    assert "negative amounts totalling -5.00" in " ".join(table.split())


def test_sample_writes_english_and_chinese_files(tmp_path: Path) -> None:
    result = ok(
        "sample",
        "--customers",
        30,
        "--out",
        tmp_path / "en.csv",
        "--customers-out",
        tmp_path / "master.csv",
        "--seed",
        3,
    )
    assert "30 customers" in result.stderr
    en = pd.read_csv(tmp_path / "en.csv", dtype=str, encoding="utf-8-sig")
    assert {"Customer ID", "Order Date", "Amount"} <= set(en.columns)
    assert en["Customer ID"].str.fullmatch(ID.pattern).all()
    assert (tmp_path / "master.csv").exists()
    ok("sample", "--customers", 30, "--out", tmp_path / "zh.csv", "--lang", "zh", "--seed", 3)
    zh = pd.read_csv(tmp_path / "zh.csv", dtype=str, encoding="utf-8-sig")
    assert {"客户编号", "订单日期"} <= set(zh.columns)
    assert zh["订单日期"].str.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日").all()


def test_sample_same_seed_same_bytes(tmp_path: Path) -> None:
    for name, seed in (("a.csv", 4), ("b.csv", 4), ("c.csv", 5)):
        ok("sample", "--customers", 40, "--out", tmp_path / name, "--seed", seed)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_sample_then_segment_round_trip(tmp_path: Path) -> None:
    ok("sample", "--customers", 50, "--out", tmp_path / "demo.xlsx", "--lang", "zh")
    assert as_json("segment", tmp_path / "demo.xlsx", "--no-model")["data"]["customers"] == 50


# --- value, backtest -------------------------------------------------------------------
MODEL_OUT_KEYS = {"model", "time_unit", "params", "log_likelihood", "n_customers", "converged", "gamma_gamma"}


def test_value_model_out(data: SimpleNamespace, tmp_path: Path) -> None:
    model_out, out = tmp_path / "model.json", tmp_path / "value.csv"
    ok(
        "value",
        data.csv,
        "--time-unit",
        "week",
        "--horizon",
        "52w",
        "--margin",
        "0.3",
        "--model-out",
        model_out,
        "--out",
        out,
    )
    model = json.loads(model_out.read_text(encoding="utf-8"))
    assert set(model) >= MODEL_OUT_KEYS
    assert model["model"] == "mbgnbd" and model["time_unit"] == "week" and model["n_customers"] == 200
    assert set(model["params"]) == {"r", "alpha", "a", "b"}
    assert {"p", "q", "v", "n_customers"} <= set(model["gamma_gamma"])
    assert isinstance(model["converged"], bool) and model["log_likelihood"] < 0
    frame = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig")
    assert {"customer_id", "expected_purchases", "p_alive", "clv"} <= set(frame.columns)
    assert frame["p_alive"].between(0, 1).all() and (frame["clv"] >= 0).all()
    assert frame["customer_id"].str.fullmatch(ID.pattern).all()


def test_value_model_out_records_the_as_of_date(data: SimpleNamespace, tmp_path: Path) -> None:
    """A saved model is only reusable with the date its recency and T were measured to."""
    model_out = tmp_path / "model.json"
    ok("value", data.csv, "--as-of", "2024-06-30", "--model-out", model_out)
    assert json.loads(model_out.read_text(encoding="utf-8")).get("as_of") == "2024-06-30"


def test_value_json(data: SimpleNamespace) -> None:
    report = as_json("value", data.csv, "--customers", data.customers)
    assert {"data", "model", "value_by_tier"} <= set(report)
    assert report["delivered_value_note"] is None
    assert sum(t["customers"] for t in report["value_by_tier"] if t["tier"] != "prospect") == 200
    without_master = as_json("value", data.csv)
    assert "product_value" in without_master["delivered_value_note"]


BACKTEST_MODEL_KEYS = {"model", "params", "log_likelihood", "aggregate", "per_customer", "p_alive_auc", "by_frequency"}


def test_backtest_json(data: SimpleNamespace) -> None:
    report = as_json("backtest", data.csv, "--calibration-end", "2024-06-30")
    assert {"calibration_end", "holdout_end", "models"} <= set(report)
    assert (report["calibration_end"], report["holdout_end"]) == ("2024-06-30", data.last)
    assert [m["model"] for m in report["models"]] == ["bgnbd", "mbgnbd", "pareto"]
    actual = {m["aggregate"]["actual"] for m in report["models"]}
    assert len(actual) == 1
    for model in report["models"]:
        assert set(model) >= BACKTEST_MODEL_KEYS
        assert set(model["aggregate"]) >= {"actual", "predicted"}
        assert set(model["per_customer"]) >= {"mae", "rmse", "correlation"}
        assert model["per_customer"]["rmse"] >= model["per_customer"]["mae"] >= 0
        assert 0 <= model["p_alive_auc"] <= 1
        rows = model["by_frequency"]
        assert rows[-1]["frequency"] == "7+"
        by_frequency_actual = sum(r["customers"] * r["actual"] for r in rows)
        assert by_frequency_actual == pytest.approx(model["aggregate"]["actual"])


def test_backtest_one_model_and_bad_dates(data: SimpleNamespace) -> None:
    report = as_json("backtest", data.csv, "--calibration-end", "2024-06-30", "--model", "pareto")
    assert [m["model"] for m in report["models"]] == ["pareto"]
    assert_user_error(run("backtest", data.csv, "--calibration-end", data.last), "--calibration-end")
    assert_user_error(run("backtest", data.csv, "--calibration-end", "2024-06-30", "--model", "nope"), "nope")


# --- lifecycle, churn ----------------------------------------------------------------------
def test_lifecycle_explain(data: SimpleNamespace) -> None:
    out = ok("lifecycle", data.csv, "--explain").stdout
    for stage in ("Acquisition", "Growth", "Maturity", "Decline", "Termination"):
        assert stage in out
    assert "Rules" in out and "usual gap" in out
    zh = ok("lifecycle", data.csv, "--explain", "--lang", "zh").stdout
    for stage in ("潜在获取期", "成长期", "成熟期", "衰退期", "终止期"):
        assert stage in zh
    payload = as_json("lifecycle", data.csv)
    assert [r["order"] for r in payload["rules"]] == [1, 2, 3, 4, 5]
    assert {r["stage"] for r in payload["rules"]} == {"acquisition", "growth", "maturity", "decline", "termination"}
    assert sum(s["customers"] for s in payload["lifecycle"]) == 200


def test_churn_min_tier_top_and_group_by(data: SimpleNamespace) -> None:
    payload = as_json("churn", data.csv, "--min-tier", "gold", "--top", 5, "--group-by", "salesperson")
    listed = payload["customers"]
    assert 0 < len(listed) <= 5
    assert {c["tier"] for c in listed} <= {"platinum", "gold"}
    risks = [c["value_at_risk"] for c in listed]
    assert risks == sorted(risks, reverse=True) and all(r > 0 for r in risks)
    assert all(ID.match(c["customer_id"]) for c in listed)
    assert {g["salesperson"] for g in payload["groups"]} == set(data.tx["Salesperson"])
    assert sum(g["customers"] for g in payload["groups"]) == 200
    assert sum(b["customers"] for b in payload["churn"]) == 200
    assert {c["churn_risk"] >= 0.3 for c in listed} == {True}  # medium or high risk only
    lost = payload["lost_key_accounts"]
    assert 0 < len(lost) <= 5 and {c["tier"] for c in lost} <= {"platinum", "gold"}
    assert {c["lifecycle_stage"] for c in lost} <= {"decline", "termination"}
    assert [c["total_margin"] for c in lost] == sorted((c["total_margin"] for c in lost), reverse=True)
    assert {c["next_action"] for c in listed + lost} <= {"win_back", "retain", "develop", "maintain", "let_go"}
    table = ok("churn", data.csv, "--min-tier", "gold", "--top", 5, "--group-by", "salesperson").stdout
    assert "Worth saving" in table and "Sales rep" in table and "Lost key accounts" in table


def test_churn_out_lists_everyone_at_risk(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "at_risk.csv"
    payload = as_json("churn", data.csv, "--top", 3, "--out", out)
    frame = pd.read_csv(out, dtype={"customer_id": str}, encoding="utf-8-sig")
    assert len(frame) >= len(payload["customers"]) == 3
    assert frame["customer_id"].head(3).tolist() == [c["customer_id"] for c in payload["customers"]]
    assert_user_error(run("churn", data.csv, "--min-tier", "diamond"), "diamond")


# --- compare -------------------------------------------------------------------------------
def test_compare_two_files_equals_one_file_with_two_dates(data: SimpleNamespace, tmp_path: Path) -> None:
    two_files = as_json("compare", data.old, data.csv, "--no-model")
    one_file = as_json("compare", data.csv, "--as-of", data.old_last, "--as-of", data.last, "--no-model")
    assert set(two_files) == {"data", "tier_migration", "stage_migration", "fell", "rose", "warnings"}
    assert two_files["data"]["old"]["rows_read"] < two_files["data"]["new"]["rows_read"] == len(data.tx)
    assert one_file["data"]["old"]["rows_read"] == one_file["data"]["new"]["rows_read"] == len(data.tx)
    assert one_file["data"]["old"]["as_of"] < one_file["data"]["new"]["as_of"] == two_files["data"]["new"]["as_of"]
    assert {**two_files, "data": None} == {**one_file, "data": None} and two_files["warnings"] == []
    old_buyers = data.tx.loc[pd.to_datetime(data.tx["Order Date"]) <= data.midpoint, "Customer ID"].nunique()
    tiers = two_files["tier_migration"]
    assert sum(sum(row.values()) for row in tiers.values()) == 200
    assert sum(sum(tiers[t].values()) for t in ("platinum", "gold", "iron")) == old_buyers
    assert sum(tiers["absent"].values()) == 200 - old_buyers
    assert sum(sum(row.values()) for row in two_files["stage_migration"].values()) == 200
    assert all(ID.match(i) for i in two_files["fell"] + two_files["rose"])


def test_compare_out_workbook(data: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "migration.xlsx"
    ok("compare", data.csv, "--as-of", "2024-06-30", "--as-of", data.last, "--no-model", "--out", out)
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["Tier migration", "Stage migration", "Fell", "Rose"]
    fell = list(book["Fell"].iter_rows(min_row=2, max_col=1, values_only=True))
    assert fell and all(isinstance(row[0], str) and ID.match(row[0]) for row in fell)


# --- the terminal report at 80 columns ----------------------------------------------------------
def _report_commands(data: SimpleNamespace) -> list[tuple[str, list[object]]]:
    return [
        ("segment", ["segment", data.csv, "--group-by", "salesperson", "--explain"]),
        ("segment-master", ["segment", data.csv, "--customers", data.customers, "--no-model"]),
        ("value", ["value", data.csv]),
        ("churn", ["churn", data.csv, "--min-tier", "gold", "--top", 8, "--group-by", "salesperson"]),
        ("lifecycle", ["lifecycle", data.csv, "--explain", "--no-model"]),
        ("compare", ["compare", data.csv, "--as-of", "2024-06-30", "--as-of", data.last, "--no-model"]),
    ]


def _assert_fits(result: Result, width: int = 80) -> None:
    """The report on stdout fits COLUMNS; stderr, not a terminal, is never wrapped (each note one line)."""
    for line in result.stdout.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} cells: {line!r}\n{describe(result)}"
    for line in result.stderr.splitlines():
        assert line.startswith(("Dropped ", "  ", "Note: ", "Skipped ")), f"a wrapped line: {line!r}"
    assert "…" not in result.stdout, describe(result)  # no cell cut short
    assert "\x1b" not in result.stdout + result.stderr, describe(result)  # not a terminal: no escape codes


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["segment", "segment-master", "value", "churn", "lifecycle", "compare"])
def test_reports_fit_80_columns(data: SimpleNamespace, name: str, lang: str) -> None:
    args = dict(_report_commands(data))[name]
    result = ok(*args, "--lang", lang)
    _assert_fits(result)
    assert result.stdout.count("\n") > 10


@pytest.mark.parametrize("path", ["csv", "zh"])
def test_inspect_fits_80_columns(data: SimpleNamespace, path: str) -> None:
    _assert_fits(ok("inspect", getattr(data, path)))


def test_backtest_fits_80_columns(data: SimpleNamespace) -> None:
    result = ok("backtest", data.csv, "--calibration-end", "2024-06-30")
    _assert_fits(result)
    assert re.search(r"^measure\s+bgnbd\s+mbgnbd\s+pareto$", result.stdout, re.M)
    # BG/NBD's AUC is starred, and the reason follows the table; then how to choose a model.
    assert re.search(r"^AUC of P\(alive\) for buying again\s+\d\.\d{3}\*\s+\d\.\d{3}\s", result.stdout, re.M)
    assert "* bgnbd: every one-time buyer" in result.stdout and "--model" in result.stdout


def test_shipped_samples_fit_80_columns() -> None:
    """Real-size data: wide numbers, long names, the ingest notes on stderr."""
    result = ok("churn", SAMPLES / "sales.xlsx", "--group-by", "salesperson")
    _assert_fits(result)
    assert "Dropped 199 of 19,894 rows" in result.stderr


def test_headers_stay_whole_and_numbers_right_aligned(data: SimpleNamespace) -> None:
    out = ok("value", data.csv, "--top", 5).stdout
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Customer "))
    assert lines[header].split() == ["Customer", "Tier", "Repeats", "P(alive)", "Exp.", "buys", "Per", "buy", "CLV"]
    rows = lines[header + 2 : header + 7]
    assert len({len(row.rstrip()) for row in rows} | {len(lines[header])}) == 1  # CLV ends in one column
    assert all(ID.match(row.split()[0]) for row in rows)


def test_no_color_is_respected_on_a_forced_terminal(data: SimpleNamespace) -> None:
    args = ("value", data.csv, "--top", 2, "--quiet")
    coloured = ok(*args, env={"FORCE_COLOR": "1"}).stdout
    assert COLOUR_CODE.search(coloured)  # the yellow "Note:" — colour is on for a terminal
    plain = ok(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert not COLOUR_CODE.search(plain)
    assert "Note:" in plain


# --- the table layout itself --------------------------------------------------------------------
def _render(width: int, draw) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    draw(console)
    return console.file.getvalue()


def test_print_table_leaves_out_columns_by_drop_order_and_says_so() -> None:
    columns = [
        terminal.Column("Customer"),
        terminal.Column("Revenue", numeric=True),
        terminal.Column("Low priority", drop=2),
        terminal.Column("Some priority", numeric=True, drop=1),
    ]
    rows = [["0000001", "1,234", "something long", "12"], ["0000002", "5", "x", "7"]]
    wide = _render(80, lambda c: terminal.print_table(c, "T", columns, rows))
    assert "Low priority" in wide and "Some priority" in wide and "Left out" not in wide
    narrow = _render(40, lambda c: terminal.print_table(c, "T", columns, rows))
    assert "Some priority" in narrow.splitlines()[2]
    assert "Low priority" not in narrow.splitlines()[2]
    assert "Left out to fit the terminal width: Low priority" in " ".join(narrow.split())
    tiny = _render(20, lambda c: terminal.print_table(c, "T", columns, rows))
    assert "Left out to fit the terminal width: Low priority, Some priority" in " ".join(tiny.split())
    assert all(cell_len(line) <= 20 for line in tiny.splitlines())


def test_print_table_right_aligns_numbers_and_wraps_only_prose() -> None:
    columns = [terminal.Column("Name"), terminal.Column("Amount", numeric=True), terminal.Column("Detail", prose=True)]
    rows = [["a", "1", "word " * 20], ["b", "1,000,000", "short"]]
    out = _render(40, lambda c: terminal.print_table(c, None, columns, rows)).splitlines()
    ends = {line.index("1") + 1 for line in out if line.startswith("a ")} | {
        line.index("1,000,000") + len("1,000,000") for line in out if line.startswith("b ")
    }
    assert len(ends) == 1
    assert all(cell_len(line) <= 40 for line in out)
    assert sum(line.count("word") for line in out) == 20  # wrapped between words, none cut


def test_cells_and_headings_are_shown_literally() -> None:
    """Names, ids and paths from the data may hold square brackets: never read them as rich markup."""
    out = _render(
        80,
        lambda c: terminal.print_table(
            c, "[b]file[/b].csv", [terminal.Column("[red]Name")], [["[bold]Wang[/bold]"], ["[x]"]]
        ),
    )
    assert "[b]file[/b].csv" in out and "[red]Name" in out and "[bold]Wang[/bold]" in out and "[x]" in out
    pairs = _render(80, lambda c: terminal.print_pairs(c, "T", [("[i]item", "[v]")]))
    assert "[i]item" in pairs and "[v]" in pairs


def test_short_labels_fall_back_to_the_usual_labels() -> None:
    assert labels.short_label("p_alive", "en") == "P(alive)"
    assert labels.short_label("p_alive", "zh") == "活跃概率"
    assert labels.short_label("first_purchase", "en") == "First purchase"
    assert labels.short_label("unknown_column", "zh") == "unknown_column"
    assert all(
        cell_len(pair[0]) <= 12 and cell_len(pair[1]) <= 12
        for key, pair in labels.SHORT_LABELS.items()
        if key not in ("left_out", "worth_saving", "lost_key_accounts")
    )


def test_delivered_value_weights_come_from_the_config(tmp_path: Path) -> None:
    config = write_text(tmp_path / "weights.toml", "[delivered_value]\nproduct_value = 2.0\ntime_cost = 0\n")
    plain, weighted = tmp_path / "plain.csv", tmp_path / "weighted.csv"
    common = ("segment", SAMPLES / "sales.xlsx", "--customers", SAMPLES / "customers.csv", "--no-model", "-q")
    ok(*common, "--out", plain)
    ok(*common, "--out", weighted, "--config", config)
    a, b = (
        pd.read_csv(p, dtype={"customer_id": str}, encoding="utf-8-sig").set_index("customer_id")
        for p in (plain, weighted)
    )
    assert np.allclose(b["total_customer_value"] - a["total_customer_value"], a["product_value"], equal_nan=True)
    assert np.allclose(a["total_customer_cost"] - b["total_customer_cost"], a["time_cost"], equal_nan=True)


def test_backtest_report_in_chinese(tmp_path: Path) -> None:
    result = ok("backtest", SAMPLES / "sales_zh.xlsx", "--calibration-end", "2024-06-30", "--lang", "zh", "-q")
    assert "校准期至 2024-06-30" in result.stdout and "存活概率预测复购的 AUC" in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80


def test_segment_without_repeat_buyers_scores_the_rest_and_says_why(tmp_path: Path) -> None:
    path = write_text(tmp_path / "new.csv", "Customer ID,Order Date,Amount\n1,2024-01-05,10\n2,2024-01-06,20\n")
    summary = as_json("segment", path)
    assert summary["model"] is None and sum(t["customers"] for t in summary["tiers"]) == 2
    assert any("value model skipped" in w for w in summary["warnings"])
    assert_user_error(run("value", path), "no customer has a repeat purchase")
    assert_user_error(run("segment", path, "--tier-by", "clv"), "no customer has a repeat purchase")


def test_group_by_accepts_the_header_the_analyst_knows() -> None:
    by_header = as_json("segment", SAMPLES / "sales_zh.xlsx", "--group-by", "区域", "--no-model")["groups"]
    by_name = as_json("segment", SAMPLES / "sales_zh.xlsx", "--group-by", "region", "--no-model")["groups"]
    assert by_header == by_name and len(by_name) == 5


def test_option_choices_are_the_vocabularies_they_name():
    for choices, vocabulary in VOCABULARIES.items():
        assert tuple(member.value for member in choices) == tuple(vocabulary), choices.__name__
