"""Which files are read: folders expanded to their exports, crmkit's own results skipped and listed, paths that
are not regular files (a FIFO, /dev/zero, a symbolic link loop) and the same file twice refused.

Every file is written by the test: exports by hand, results by crmkit itself (segment, value, churn,
lifecycle --out and --rejects), so a change to what crmkit writes cannot slip past the folder scan.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from crmkit.cli import app
from crmkit.errors import InputFileError
from crmkit.ingest.files import (
    SKIP_FOLDER,
    SKIP_LOCK,
    SKIP_RESULTS,
    SKIP_SPECIAL,
    SKIP_UNSUPPORTED,
    SKIP_XLS,
    check_regular_file,
    holds_crmkit_results,
    scan_inputs,
)

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "CRMKIT_DEBUG": None}
JANUARY = "Customer ID,Order Date,Amount\nC1,2024-01-05,10\nC2,2024-01-06,20\nC1,2024-01-20,5\n"
FEBRUARY = "Customer ID,Order Date,Amount\nC1,2024-02-05,30\nC3,2024-02-07,40\n,2024-02-08,1\n"


def crmkit(*args: object, check: int | None = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if check is not None:
        assert result.exit_code == check, f"exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


@pytest.fixture
def monthly(tmp_path: Path) -> Path:
    """A folder with two monthly exports, and what such a folder also holds after a month of use."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "2024-01.csv").write_text(JANUARY, encoding="utf-8")
    (folder / "2024-02.csv").write_text(FEBRUARY, encoding="utf-8")
    return folder


def _results_of_last_month(folder: Path) -> list[str]:
    """Every kind of table crmkit writes, written by crmkit into the exports folder; returns their names."""
    first = folder / "2024-01.csv"
    crmkit("segment", first, "--no-model", "-q", "--out", folder / "segments.xlsx", "--rejects", folder / "rej.csv")
    crmkit("segment", first, "--no-model", "-q", "--out", folder / "segments.csv")
    crmkit("segment", first, "--no-model", "-q", "--out", folder / "segments.parquet")
    crmkit("lifecycle", first, "--no-model", "-q", "--out", folder / "stages.csv")
    crmkit("churn", first, "-q", "--out", folder / "churn.parquet", "--rejects", folder / "rejects.parquet")
    crmkit("churn", first, "-q", "--out", folder / "churn.xlsx", "--rejects", folder / "rejects.xlsx")
    return [
        "churn.parquet",
        "churn.xlsx",
        "rej.csv",
        "rejects.parquet",
        "rejects.xlsx",
        "segments.csv",
        "segments.parquet",
        "segments.xlsx",
        "stages.csv",
    ]


def test_a_folder_reads_its_exports_and_lists_everything_else(monthly: Path) -> None:
    results = _results_of_last_month(monthly)
    (monthly / "notes.pdf").write_bytes(b"%PDF-1.4")
    (monthly / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (monthly / "~$2024-02.xlsx").write_bytes(b"lock")
    (monthly / ".DS_Store").write_bytes(b"")
    (monthly / "archive").mkdir()
    os.mkfifo(monthly / "pipe.csv")
    found = scan_inputs([monthly])
    assert [p.name for p in found.files] == ["2024-01.csv", "2024-02.csv"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons == {
        **dict.fromkeys(results, SKIP_RESULTS),
        "notes.pdf": SKIP_UNSUPPORTED,
        "old.xls": SKIP_XLS,
        "~$2024-02.xlsx": SKIP_LOCK,
        "archive": SKIP_FOLDER,
        "pipe.csv": SKIP_SPECIAL,
    }


def test_segment_on_a_folder_names_the_skipped_files_and_reports_them_in_json(monthly: Path) -> None:
    _results_of_last_month(monthly)
    (monthly / "notes.pdf").write_bytes(b"%PDF-1.4")
    table = crmkit("segment", monthly, "--no-model")
    skipped = [line for line in table.stderr.splitlines() if line.startswith("Skipped ")]
    assert skipped == [
        f"Skipped 10 file(s) in folder {monthly}: churn.parquet ({SKIP_RESULTS}), churn.xlsx ({SKIP_RESULTS}), "
        f"notes.pdf ({SKIP_UNSUPPORTED}), rej.csv ({SKIP_RESULTS}), rejects.parquet ({SKIP_RESULTS}), "
        f"rejects.xlsx ({SKIP_RESULTS}), segments.csv ({SKIP_RESULTS}), segments.parquet ({SKIP_RESULTS}), "
        f"segments.xlsx ({SKIP_RESULTS}), stages.csv ({SKIP_RESULTS})."
    ]
    payload = json.loads(crmkit("segment", monthly, "--no-model", "--format", "json", "-q").stdout)
    data = payload["data"]
    assert (data["rows_read"], data["rows_used"], data["customers"]) == (6, 5, 3)
    assert {entry["path"]: entry["reason"] for entry in data["skipped_files"]}[str(monthly / "notes.pdf")] == (
        SKIP_UNSUPPORTED
    )
    assert len(data["skipped_files"]) == 10
    inspected = json.loads(crmkit("inspect", monthly, "--format", "json").stdout)
    assert inspected["skipped_files"] == data["skipped_files"]


def test_a_results_workbook_edited_and_saved_again_is_still_recognised(monthly: Path) -> None:
    """Excel and WPS keep custom document properties; openpyxl stands in for them here."""
    out = monthly / "segments.xlsx"
    crmkit("segment", monthly / "2024-01.csv", "--no-model", "-q", "--out", out)
    book = openpyxl.load_workbook(out)
    book.active["A1"] = "edited"
    book.save(out)
    assert holds_crmkit_results(out)


def test_sample_data_is_read_like_any_export(tmp_path: Path) -> None:
    """`crmkit sample` writes data to analyse, not results: its workbook and CSV are read from a folder."""
    folder = tmp_path / "samples"
    folder.mkdir()
    crmkit("sample", "--customers", 20, "--out", folder / "sales.xlsx", "--customers-out", folder / "customers.csv")
    crmkit("sample", "--customers", 20, "--out", folder / "more.csv", "--seed", 2)
    assert not any(holds_crmkit_results(path) for path in folder.iterdir())
    assert holds_crmkit_results(Path(__file__).parent.parent / "data" / "samples" / "sales.xlsx") is False


@pytest.mark.parametrize(
    "header",
    [
        "Customer ID,Tier,Segment,Order Date,Amount",  # a CRM export with words crmkit also uses
        "customer_id,segment,tier,clv",  # only one column only crmkit computes
        "source_file,reason",  # not a rejects file's first three
    ],
)
def test_an_export_that_merely_resembles_results_is_read(tmp_path: Path, header: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(header + "\n", encoding="utf-8")
    assert not holds_crmkit_results(path)


def test_damaged_files_are_left_to_the_reader(tmp_path: Path) -> None:
    for name, content in (("bad.xlsx", b"PK\x03\x04 not a zip"), ("bad.parquet", b"PAR1"), ("bad.csv", b"\xff\xfe")):
        (tmp_path / name).write_bytes(content)
        assert not holds_crmkit_results(tmp_path / name)


def test_an_empty_folder_says_what_it_holds(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputFileError, match=r"holds no CSV, TSV, XLSX or Parquet files to read: notes.pdf \(not a"):
        scan_inputs([tmp_path])


# --- paths that are not regular files ------------------------------------------------------------
def _special_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    return {
        "fifo": (tmp_path / "fifo.csv", "is not a regular file: it is a named pipe (FIFO)"),
        "loop": (tmp_path / "loop.csv", "is not a regular file: it is a symbolic link loop"),
        "dangling": (tmp_path / "dangling.csv", f"does not exist (a symbolic link to {tmp_path / 'gone.csv'}"),
    }


#: Where each special path goes on the command line.
ROLES = {
    "transactions": lambda path, ok: ["segment", path],
    "customers": lambda path, ok: ["segment", ok, "--customers", path],
    "config": lambda path, ok: ["segment", ok, "--config", path],
}


@contextlib.contextmanager
def _no_hang(seconds: int = 20) -> Iterator[None]:
    """Fail instead of waiting for ever on a FIFO that was opened after all (SIGALRM interrupts open())."""

    def give_up(signum: int, frame: object) -> None:
        raise TimeoutError("crmkit opened the FIFO")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["fifo", "loop", "dangling"])
def test_special_paths_are_refused_before_anything_is_opened(tmp_path: Path, kind: str, role: str) -> None:
    path, message = _special_paths(tmp_path)[kind]
    (tmp_path / "ok.csv").write_text(JANUARY, encoding="utf-8")
    with _no_hang():
        result = crmkit(*ROLES[role](path, tmp_path / "ok.csv"), check=2)
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    if role != "transactions":
        assert f"{role} file {path}" in result.stderr


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


@pytest.mark.parametrize("role", ROLES)
def test_dev_zero_is_refused_before_it_is_read(tmp_path: Path, role: str) -> None:
    """In a process of its own with at most 4 GiB: /dev/zero read after all would fill the memory."""
    (tmp_path / "ok.csv").write_text(JANUARY, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "crmkit", *map(str, ROLES[role]("/dev/zero", tmp_path / "ok.csv"))],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Error: ") and "/dev/zero is not a regular file: it is a device" in done.stderr


def test_check_regular_file_accepts_a_link_to_a_file(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text(JANUARY, encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    check_regular_file(tmp_path / "link.csv")


# --- the same file twice ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["relative", "hardlink", "folder"])
def test_the_same_input_twice_is_refused(monthly: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.chdir(monthly)
    if how == "hardlink":
        os.link("2024-01.csv", "copy.csv")
    second = {"relative": "./2024-01.csv", "hardlink": "copy.csv", "folder": str(monthly)}[how]
    result = crmkit("segment", "2024-01.csv", second, "--no-model", check=2)
    assert "is given twice (also as 2024-01.csv)" in result.stderr
    assert result.stdout == ""


def test_compare_refuses_the_same_file_as_old_and_new(monthly: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(monthly)
    result = crmkit("compare", "2024-01.csv", "./2024-01.csv", "--no-model", check=2)
    assert "OLD and NEW are the same file" in result.stderr and "--as-of A --as-of B" in result.stderr
