"""atomic_write: all or nothing, never over an input, clear errors for bad targets."""

from __future__ import annotations

import os

import pytest

from crmkit.errors import OutputError
from crmkit.output.atomic import atomic_write


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
        assert temporary.exists() and temporary.name.startswith(".out.xlsx.")


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
