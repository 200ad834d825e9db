"""atomic_write: all or nothing, never over an input, clear errors for bad targets."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys

import pytest

from crmkit.errors import OutputError
from crmkit.output.atomic import atomic_write, same_file


def _write(path, data: bytes, **kwargs) -> None:
    with atomic_write(path, **kwargs) as temporary:
        temporary.write_bytes(data)


def test_new_file_is_written_with_the_usual_permissions(tmp_path):
    target = tmp_path / "out.csv"
    _write(target, b"a,b\n")
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert target.read_bytes() == b"a,b\n"
    assert target.stat().st_mode == reference.stat().st_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "reference"]


def test_existing_file_is_replaced_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    _write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_temporary_file_is_in_the_target_folder(tmp_path):
    with atomic_write(tmp_path / "out.xlsx") as temporary:
        assert temporary.parent == tmp_path
        assert temporary.exists() and temporary.name.startswith(f".out.xlsx.crmkit-{os.getpid()}-")


def test_failure_leaves_the_previous_file_byte_identical_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError, match="disk full"), atomic_write(target) as temporary:
        temporary.write_bytes(b"half writ")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_interrupt_also_cleans_up(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "out.csv") as temporary:
        temporary.write_bytes(b"x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_refuses_to_overwrite_an_input(tmp_path, monkeypatch, how):
    source = tmp_path / "sales.csv"
    source.write_bytes(b"input")
    target = {
        "same": source,
        "relative": "sales.csv",
        "symlink": tmp_path / "link.csv",
        "hardlink": tmp_path / "hard.csv",
    }[how]
    monkeypatch.chdir(tmp_path)
    if how == "symlink":
        target.symlink_to(source)
    if how == "hardlink":
        os.link(source, target)
    with pytest.raises(OutputError, match="refusing to overwrite input file .*sales.csv; choose another --out"):
        _write(target, b"output", inputs=[source])
    assert source.read_bytes() == b"input"


def test_other_paths_next_to_an_input_are_fine(tmp_path):
    source = tmp_path / "sales.csv"
    source.write_bytes(b"input")
    _write(tmp_path / "sales.xlsx", b"out", inputs=[source])
    assert (tmp_path / "sales.xlsx").read_bytes() == b"out"


def test_missing_folder_is_an_output_error_with_the_fix(tmp_path):
    with pytest.raises(OutputError, match="does not exist") as error:
        _write(tmp_path / "no" / "such" / "out.csv", b"x")
    assert "mkdir -p" in str(error.value)


def test_folder_as_target_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        _write(tmp_path, b"x")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.ENOSPC, r"cannot write .*out.csv: the disk is full \(nothing was written; the previous out.csv is"),
        (errno.EIO, r"cannot write .*out.csv: Input/output error \(nothing was written; the previous out.csv is"),
    ],
)
def test_a_write_error_names_the_file_and_leaves_no_temporary(tmp_path, code, message):
    target = tmp_path / "out.csv"
    target.write_bytes(b"precious")
    with pytest.raises(OutputError, match=message) as error, atomic_write(target) as temporary:
        temporary.write_bytes(b"half")
        raise OSError(code, os.strerror(code))
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    if code == errno.ENOSPC:
        assert "free some space" in str(error.value)


def _finished_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_temporaries_of_a_killed_run_are_removed_by_the_next_write(tmp_path):
    dead = tmp_path / f".report.xlsx.crmkit-{_finished_pid()}-0123abcd.tmp"
    alive = tmp_path / f".report.xlsx.crmkit-{os.getppid()}-89abcdef.tmp"  # a run still writing
    unrelated = tmp_path / ".report.xlsx.tmp"
    for path in (dead, alive, unrelated):
        path.write_bytes(b"partial")
    _write(tmp_path / "other.csv", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, unrelated.name, "other.csv"])


def test_a_killed_writer_leaves_a_temporary_that_the_next_run_removes(tmp_path):
    """kill -9 in the middle of a write: the target is untouched, the next write cleans up."""
    target = tmp_path / "out.csv"
    target.write_bytes(b"previous")
    code = (
        "import os, signal, sys\n"
        "from crmkit.output.atomic import atomic_write\n"
        f"with atomic_write({str(target)!r}) as temporary:\n"
        "    temporary.write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"previous"
    assert len(list(tmp_path.glob(".out.csv.crmkit-*.tmp"))) == 1
    _write(target, b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"] and target.read_bytes() == b"new"


def test_a_symbolic_link_loop_as_target_is_compared_without_error(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    source = tmp_path / "sales.csv"
    source.write_bytes(b"input")
    assert not same_file(loop, source)
    assert same_file(loop, tmp_path / "." / "loop.csv")


@pytest.mark.parametrize("target", ["/dev/null", "fifo"])
def test_a_device_or_fifo_as_target_is_refused_and_left_alone(tmp_path, target):
    if target == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    before = os.lstat(target)
    with pytest.raises(OutputError, match="it is not a regular file"):
        _write(target, b"x")
    assert os.lstat(target) == before


def test_through_a_symbolic_link_the_file_is_replaced_and_the_link_kept(tmp_path):
    """As for ``--out /dev/stdout`` with stdout redirected to a file: the link must never become a file."""
    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "out.csv"
    real.write_bytes(b"old")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    _write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.csv", "out.csv", "reports"]
