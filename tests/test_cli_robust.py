"""The command line in batch scripts and on hostile data: outputs that cannot be written, outputs that would
overwrite each other, control characters in the data, row order, JSON for scripts, option ranges, --help,
start-up time and Ctrl-C.

Most commands run in-process (CliRunner); start-up, signals, a full standard output and file size limits
need a real process and run as ``python -m crmkit``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner, Result

from crmkit.cli import app
from crmkit.datasets.sample import localise_sample, simulate_sales
from crmkit.output import tables

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "CRMKIT_DEBUG": None}
SALES = "Customer ID,Order Date,Amount,Salesperson,Region\n" + "".join(
    f"C{c},2024-0{m}-1{c},{10 * c + m},Rep{(c + m) % 3},R{m % 2}\n" for c in range(1, 8) for m in range(1, 7)
)


def crmkit(*args: object, check: int | None = 0, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args], env={**ENV, **(env or {})})
    if check is not None:
        assert result.exit_code == check, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def python_m(*args: object, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crmkit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        **kwargs,
    )


@pytest.fixture
def sales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """42 lines of 7 customers, two of them on the same day as another line of theirs; run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sales.csv"
    path.write_text(SALES, encoding="utf-8")
    return path


# --- outputs ---------------------------------------------------------------------------------------
def test_a_full_disk_is_exit_2_naming_the_output(sales: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = sales.parent / "customers.csv"
    out.write_text("last month", encoding="utf-8")

    def full(frame, temporary: Path) -> None:
        temporary.write_bytes(b"customer_id,tier\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setitem(tables.WRITERS, ".csv", full)
    result = crmkit("segment", sales, "--no-model", "-q", "--out", out, check=2)
    assert result.stderr.startswith(f"Error: cannot write {out}: the disk is full")
    assert out.read_text(encoding="utf-8") == "last month"
    assert sorted(p.name for p in sales.parent.iterdir()) == ["customers.csv", "sales.csv"]


def test_a_file_size_limit_is_exit_2_and_leaves_nothing_behind(sales: Path) -> None:
    """A real write failure (EFBIG under RLIMIT_FSIZE, which Python does not die of) in a real process."""
    big = sales.parent / "big.csv"
    tables.write_table(localise_sample(simulate_sales(100, seed=3), "en").transactions, big)
    limit = big.stat().st_size // 3

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = python_m("segment", big, "--no-model", "-q", "--out", "out.xlsx", cwd=sales.parent, preexec_fn=small_files)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: cannot write out.xlsx: File too large (nothing was written)")
    assert sorted(p.name for p in sales.parent.iterdir()) == ["big.csv", "sales.csv"]


def test_a_full_standard_output_is_exit_2(sales: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "crmkit", "segment", str(sales), "--no-model", "-q", "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert (done.returncode, done.stderr) == (2, "Error: cannot write to standard output: No space left on device\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.csv", "--rejects", "x.csv"], "--out and --rejects are the same file (x.csv)"),
        (["--out", "x.csv", "--rejects", "./x.csv"], "--out and --rejects are the same file (x.csv)"),
        (["--out", "crmkit.toml"], "refusing to overwrite input file crmkit.toml"),
        (["--out", "my.toml", "--config", "my.toml"], "refusing to overwrite input file my.toml"),
        (["--rejects", "sales.csv"], "refusing to overwrite input file"),
    ],
)
def test_outputs_that_would_overwrite_each_other_or_an_input_are_refused(
    sales: Path, args: list[str], message: str
) -> None:
    for name in ("crmkit.toml", "my.toml"):
        (sales.parent / name).write_text("[output]\nlang = 'en'\n", encoding="utf-8")
    result = crmkit("segment", sales, "--no-model", *args, check=2)
    assert message in result.stderr and result.stdout == ""
    assert not (sales.parent / "x.csv").exists()


def test_value_refuses_model_out_equal_to_out(sales: Path) -> None:
    result = crmkit("value", sales, "--out", "v.json", "--model-out", "v.json", check=2)
    assert "--out and --model-out are the same file (v.json)" in result.stderr


def test_rejects_workbook_with_every_reason(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "Order ID,Customer ID,Order Date,Amount\n"
        "O1,C1,2024-01-05,10\n"
        "O1,C1,2024-01-05,10\n"  # repeated line
        "O2,,2024-01-06,5\n"  # empty id
        "O3,C2,2024-13-45,7\n"  # bad date
        "O4,C2,2024-01-07,abc\n"  # bad amount
        "O5,C3,2024-02-01,8\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.xlsx"
    crmkit("segment", path, "--no-model", "-q", "--rejects", rejects)
    sheet = openpyxl.load_workbook(rejects, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("source_file", "source_row", "reason", "column", "value")
    assert [row[1:5] for row in rows[1:]] == [
        ("3", "repeated order line", "order_id", "O1"),
        ("4", "empty customer_id", "Customer ID", ""),
        ("5", "missing or unparseable order_date", "Order Date", "2024-13-45"),
        ("6", "missing or non-numeric amount", "Amount", "abc"),
    ]


# --- library warnings ------------------------------------------------------------------------------
def test_library_warnings_never_reach_stderr(tmp_path: Path) -> None:
    """Amounts of 1e308 overflow numpy's sums: its RuntimeWarnings show only with --debug."""
    path = tmp_path / "huge.csv"
    path.write_text("Customer ID,Order Date,Amount\nA,2024-01-02,1e308\nA,2024-01-05,1e308\nB,2024-01-03,5\n")
    plain = python_m("segment", path, "--no-model", "-q", "--format", "json")
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    debug = python_m("--debug", "segment", path, "--no-model", "-q", "--format", "json")
    assert "RuntimeWarning: overflow" in debug.stderr


# --- control characters in the data ----------------------------------------------------------------
EVIL = {
    "ansi": "\x1b[31mRED\x1b[0m",
    "osc8": "\x1b]8;;https://example.com\x07click\x1b]8;;\x07",
    "c1": "C1\x9b31m",
    "cr": "over\rwrite",
    "bidi": "\u202eevil",
}


@pytest.mark.parametrize("colour", [False, True])
def test_control_characters_from_the_data_are_shown_escaped(tmp_path: Path, colour: bool) -> None:
    path = tmp_path / "evil.csv"
    lines = [f'"{text}",2024-01-0{i + 1},{10 + i},"{text}"' for i, text in enumerate(EVIL.values())]
    path.write_text("Customer ID,Order Date,Amount,Salesperson\n" + "\n".join(lines) + "\n", encoding="utf-8")
    env = {"NO_COLOR": None, "FORCE_COLOR": "1"} if colour else {}
    outputs = [
        crmkit("segment", path, "--no-model", "--group-by", "salesperson", env=env),
        crmkit("churn", path, "--group-by", "salesperson", env=env),
        crmkit("inspect", path, env=env),
        crmkit("segment", path, "--no-model", "--format", "json", env=env),
    ]
    text = "".join(result.stdout + result.stderr for result in outputs)
    for name, payload in EVIL.items():
        raw = payload.replace("\x1b[0m", "")  # rich itself ends colours with ESC[0m
        assert raw not in text, name
    assert "\\x1b[31mRED\\x1b[0m" in outputs[0].stdout
    assert "\\u202eevil" in outputs[0].stdout
    if not colour:
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text)


def test_error_messages_quoting_data_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    path.write_text("Customer ID,Order Date,Amount\nA,\x1b]8;;x\x07,10\n", encoding="utf-8")
    strict = crmkit("segment", path, "--strict", check=2)
    header = tmp_path / "header.csv"
    header.write_text("Client\x1b[5m,Order Date,Amount\nA,2024-01-01,1\n", encoding="utf-8")
    missing = crmkit("segment", header, check=2)
    named = crmkit("segment", tmp_path / "no\x1b[2Jfile.csv", check=2)
    for result in (strict, missing, named):
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr, result.stderr
        assert "\\x1b" in result.stderr


# --- row order -------------------------------------------------------------------------------------
def test_output_is_identical_whatever_the_row_order(sales: Path, tmp_path: Path) -> None:
    """Customers with several lines on one day: their salesperson and region do not depend on which comes first."""
    header, *lines = SALES.splitlines()
    tied = [*lines, "C1,2024-06-11,1,Rep0,R1", "C2,2024-06-12,2,Rep0,R1"]  # same day as their last line
    outputs = []
    for order in (tied, tied[1::2] + tied[::2]):
        path = tmp_path / "shuffled.csv"
        path.write_text("\n".join([header, *order]) + "\n", encoding="utf-8")
        out = tmp_path / "customers.csv"
        payload = crmkit("segment", path, "--format", "json", "-q", "--out", out, "--group-by", "region").stdout
        outputs.append((payload, out.read_bytes()))
    assert outputs[0] == outputs[1]
    rows = {line.split(",")[0]: line for line in outputs[0][1].decode("utf-8-sig").splitlines()}
    assert ",Rep1,R0," in rows["C1"]  # C1's June lines: Rep1/R0 and Rep0/R1; the greater salesperson wins
    assert ",Rep2,R0," in rows["C2"]  # C2's: Rep2/R0 and Rep0/R1


# --- JSON for scripts ------------------------------------------------------------------------------
def _keys(value: object, path: str = "") -> set[str]:
    """Every key path of a JSON document (list items merged)."""
    if isinstance(value, dict):
        return {f"{path}.{k}" for k in value} | {p for k, v in value.items() for p in _keys(v, f"{path}.{k}")}
    if isinstance(value, list):
        return {p for item in value for p in _keys(item, f"{path}[]")}
    return set()


def test_segment_json_has_the_same_keys_whatever_the_data(tmp_path: Path) -> None:
    """With and without a model (no repeat buyer), drops, prospects or skipped files: the same top-level
    and data keys; a part not computed is null."""
    rich = tmp_path / "rich"
    rich.mkdir()
    (rich / "sales.csv").write_text(SALES + ",2024-01-01,3,Rep1,R1\n", encoding="utf-8")
    (rich / "notes.txt.bak").write_text("x", encoding="utf-8")
    poor = tmp_path / "poor.csv"
    poor.write_text("Customer ID,Order Date,Amount\nA,2024-01-05,10\nB,2024-01-06,20\n", encoding="utf-8")
    with_model = json.loads(crmkit("segment", rich, "--format", "json", "-q").stdout)
    without = json.loads(crmkit("segment", poor, "--format", "json", "-q").stdout)
    assert with_model["model"] is not None and without["model"] is None
    assert with_model["groups"] is None
    assert list(with_model) == list(without)
    assert list(with_model["data"]) == list(without["data"])
    assert with_model["data"]["dropped_by_reason"] == {"empty customer_id": 1}
    assert without["data"]["dropped_by_reason"] == {} and without["data"]["skipped_files"] == []
    assert _keys(without) - {k for k in _keys(with_model)} <= set(), _keys(without) - _keys(with_model)


@pytest.mark.parametrize("command", ["segment", "value", "lifecycle", "churn"])
def test_json_keeps_the_drop_summary_on_stderr_and_in_data(sales: Path, command: str) -> None:
    sales.write_text(SALES + "C9,not a date,1,Rep1,R1\n", encoding="utf-8")
    result = crmkit(command, sales, "--format", "json")
    assert result.stderr == "Dropped 1 of 43 rows: 1 missing or unparseable order_date.\n"
    data = json.loads(result.stdout)["data"]
    assert (data["rows_read"], data["rows_dropped"], data["dropped_by_reason"]) == (
        43,
        1,
        {"missing or unparseable order_date": 1},
    )
    assert crmkit(command, sales, "--format", "json", "-q").stderr == ""


def test_more_than_a_tenth_dropped_is_a_warning(sales: Path) -> None:
    sales.write_text(SALES + "".join(f",2024-01-0{d},5,Rep1,R1\n" for d in range(1, 6)), encoding="utf-8")
    table = crmkit("segment", sales, "--no-model")
    warning = "5 of 47 rows (11%) were dropped, 5 of them for empty customer_id; check the column mapping"
    assert f"Note: {warning}" in table.stderr
    payload = json.loads(crmkit("segment", sales, "--no-model", "--format", "json").stdout)
    assert any(w.startswith(warning) for w in payload["warnings"])
    sales.write_text(SALES + ",2024-01-01,5,Rep1,R1\n", encoding="utf-8")  # 1 of 43: no warning
    assert "were dropped" not in crmkit("segment", sales, "--no-model").stderr


def test_an_as_of_date_after_the_data_is_a_warning(sales: Path) -> None:
    payload = json.loads(crmkit("segment", sales, "--no-model", "--format", "json", "--as-of", "2025-03-01").stdout)
    assert any(
        w.startswith("the as-of date 2025-03-01 is after the last transaction (2024-06-17)")
        for w in payload["warnings"]
    )
    within = json.loads(crmkit("segment", sales, "--no-model", "--format", "json", "--as-of", "2024-06-01").stdout)
    assert not any("as-of" in w for w in within["warnings"])


# --- widths off a terminal ------------------------------------------------------------------------
def test_a_report_into_a_file_keeps_every_column_and_stderr_is_never_wrapped(sales: Path) -> None:
    sales.write_text(SALES + ",2024-01-01,3,Rep1,R1\n", encoding="utf-8")
    piped = crmkit("segment", sales, "--no-model", env={"COLUMNS": None})
    header = next(line for line in piped.stdout.splitlines() if line.startswith("Customer "))
    assert header.split() == ["Customer", "Tier", "Revenue", "Orders", "Stage", "Churn", "Action"]
    assert "Left out" not in piped.stdout
    narrow = crmkit("segment", sales, "--no-model", env={"COLUMNS": "30"})
    assert "Churn" not in next(line for line in narrow.stdout.splitlines() if line.startswith("Customer"))
    assert "Left out to fit the terminal width: Orders, Stage, Churn, Action" in " ".join(narrow.stdout.split())
    for result in (piped, narrow):
        assert "Dropped 1 of 43 rows: 1 empty customer_id.\n" in result.stderr
        assert "  Write every dropped row with --rejects FILE, or stop on bad rows with --strict.\n" in result.stderr


# --- option ranges ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--discount-rate", "10"], "--discount-rate 10 means 1000% a year; did you mean 0.10?"),
        (["--discount-rate", "1"], "did you mean 0.01?"),
        (["--discount-rate", "-0.1"], "--discount-rate must be a number from 0 to 1"),
        (["--discount-rate", "ten"], "--discount-rate must be a number such as 0.10 or 10%"),
        (["--margin", "30"], "--margin 30 means 3000% of revenue; did you mean 0.30?"),
        (["--margin", "nan"], "--margin must be a number from 0 to 1"),
        (["--tiers", "nan,15"], "--tiers 'nan,15' must be two finite numbers"),
        (["--tiers", "5"], "--tiers needs two numbers"),
        (["--tiers", "60,50"], "must be positive and add up to at most 100"),
        (["--horizon", "11y"], "--horizon 11y is longer than crmkit's limit of 10 years"),
        (["--horizon", "0m"], "cannot read the --horizon '0m'"),
        (["--top", "-1"], "Invalid value for '--top': Input should be greater than or equal to 0"),
        (["--as-of", "9999-12-31"], "--as-of 9999-12-31 is out of range"),
    ],
)
def test_out_of_range_options_are_refused(sales: Path, args: list[str], message: str) -> None:
    result = crmkit("segment", sales, "-q", *args, check=2)
    assert message in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize(
    ("setting", "outcome"),
    [
        ('discount_rate = "10%"', 0.10),
        ("discount_rate = 0.1", 0.10),
        ('discount_rate = "0.1"', 0.10),
        ("discount_rate = 10", "[value] discount_rate in crmkit.toml 10 means 1000% a year; did you mean 0.10?"),
        ('discount_rate = "lots"', "[value] discount_rate in crmkit.toml must be a number such as 0.10 or 10%"),
        ('margin = "30%"', 0.30),
        ('horizon = "20y"', "[value] horizon in crmkit.toml 20y is longer than crmkit's limit of 10 years"),
    ],
)
def test_config_rates_are_read_as_percentages_or_refused(sales: Path, setting: str, outcome: float | str) -> None:
    (sales.parent / "crmkit.toml").write_text(f"[value]\n{setting}\n", encoding="utf-8")
    if isinstance(outcome, str):
        assert outcome in crmkit("value", sales, "-q", check=2).stderr
        return
    model = json.loads(crmkit("value", sales, "-q", "--format", "json").stdout)["model"]
    key = "discount_rate" if "discount" in setting else "margin"
    assert model[key] == pytest.approx(outcome)


def test_a_percentage_on_the_command_line_equals_the_share(sales: Path) -> None:
    share = crmkit("value", sales, "-q", "--format", "json", "--discount-rate", "0.08", "--margin", "0.3").stdout
    percent = crmkit("value", sales, "-q", "--format", "json", "--discount-rate", "8%", "--margin", "30%").stdout
    assert share == percent


@pytest.mark.parametrize("cuts", ["cuts = 5", 'cuts = "a,b"', "cuts = [5, 15, 20]"])
def test_config_tier_cuts_of_the_wrong_shape_are_refused(sales: Path, cuts: str) -> None:
    (sales.parent / "crmkit.toml").write_text(f"[tiers]\n{cuts}\n", encoding="utf-8")
    assert "[tiers] cuts in crmkit.toml" in crmkit("segment", sales, "--no-model", check=2).stderr


def test_sample_never_overwrites_unless_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("sales.xlsx").write_bytes(b"my real export")
    refused = crmkit("sample", "--customers", 5, check=2)
    assert "sales.xlsx already exists; crmkit sample does not replace files unless asked" in refused.stderr
    assert "--force" in refused.stderr and Path("sales.xlsx").read_bytes() == b"my real export"
    Path("master.csv").write_text("keep", encoding="utf-8")
    crmkit("sample", "--customers", 5, "--out", "new.csv", "--customers-out", "master.csv", check=2)
    assert not Path("new.csv").exists()
    crmkit("sample", "--customers", 5, "--force")
    assert Path("sales.xlsx").read_bytes()[:2] == b"PK"
    assert "same file" in crmkit("sample", "--out", "a.csv", "--customers-out", "./a.csv", check=2).stderr
    assert "at least 1" in crmkit("sample", "--customers", 0, "--out", "b.csv", check=2).stderr


# --- help, version, start-up -----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["segment", "inspect", "sample", "value", "backtest", "lifecycle", "churn"])
def test_help_shows_brackets_and_flags_as_written(command: str) -> None:
    text = crmkit(command, "--help").stdout
    assert "<bool>" not in text
    assert re.search(r"^\s+--help\s+Show this message and exit\.$", text, re.M)
    if command not in ("sample", "inspect"):
        assert "(default: [output] lang in config, else en)" in " ".join(text.split())
    if command != "sample":
        assert "crmkit.toml with [columns], [tiers]" in " ".join(text.split())


HEAVY = ("pandas", "numpy", "scipy", "pyarrow", "openpyxl", "xlsxwriter", "python_calamine")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["segment", "--help"], ["compare", "--help"]])
def test_version_and_help_import_no_heavy_library(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from crmkit.cli import main\n"
        f"sys.argv = ['crmkit', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_version_answers_at_once() -> None:
    """The median of five starts; a generous bound, as other tests may share the machine."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        done = python_m("--version")
        times.append(time.perf_counter() - start)
        assert done.stdout.startswith("crmkit ")
    assert sorted(times)[2] < 1.0, times


# --- Ctrl-C ----------------------------------------------------------------------------------------
def _interrupted(args: list[str], delay: float, signum: int, cwd: Path) -> subprocess.CompletedProcess | None:
    """Run crmkit, send ``signum`` after ``delay`` seconds; None when it had already finished."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crmkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )
    time.sleep(delay)
    if process.poll() is not None:
        process.communicate()
        return None
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("delay", [0.3, 1.2])
def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(tmp_path: Path, delay: float) -> None:
    args = ["segment", str(SAMPLES / "sales.xlsx"), "-q", "--out", "out.xlsx", "--rejects", "rejects.csv"]
    done = _interrupted(args, delay, signal.SIGINT, tmp_path)
    if done is None:
        pytest.skip(f"the run ended within {delay} s")
    assert (done.returncode, done.stderr) == (130, "Interrupted.\n")
    assert not list(tmp_path.glob(".*.tmp"))


def test_sigterm_is_one_line_and_exit_143_and_leaves_no_file(tmp_path: Path) -> None:
    done = _interrupted(["sample", "--customers", "100000", "--out", "big.csv"], 1.0, signal.SIGTERM, tmp_path)
    assert done is not None and (done.returncode, done.stderr) == (143, "Terminated.\n")
    assert list(tmp_path.iterdir()) == []
