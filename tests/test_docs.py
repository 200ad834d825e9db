"""The README stays true: its set-up commands, its tour output and its command list match the program.

Every ``$ crmkit …`` line inside a ```console block of README.md is run (80
columns, no colour, in a scratch folder that sees data/samples) and its output
must equal the text pasted under it. After a deliberate change to the report,
refresh the README with ``CRMKIT_UPDATE_README=1 pytest tests/test_docs.py``.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmkit.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
ENV = {
    "COLUMNS": "80",
    "LINES": "50",
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "CRMKIT_DEBUG": None,
}


def _examples(text: str) -> list[tuple[str, str]]:
    """(command line, pasted output) for every ``$ crmkit`` line in a console block."""
    found = []
    for block in BLOCK.findall(text):
        parts = re.split(r"^\$ (.*)\n", block, flags=re.M)
        for command, output in zip(parts[1::2], parts[2::2]):
            if command.startswith("crmkit "):
                found.append((command, output))
    return found


def _run(command: str) -> str:
    result = CliRunner().invoke(app, shlex.split(command)[1:], env=ENV)
    assert result.exit_code == 0, f"{command} exited {result.exit_code}:\n{result.output}"
    return "\n".join(line.rstrip() for line in result.output.splitlines()) + "\n"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_exactly_the_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```\n(.*?)\n```", setup, re.S)
    assert commands == [
        "pip install -e . && crmkit segment data/samples/sales.xlsx",
        "pip install -e '.[test]' && pytest",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]'" in ci and "pytest" in ci


def test_every_command_is_in_the_readme_tour():
    toured = {command.split()[1] for command, _ in _examples(README.read_text(encoding="utf-8"))}
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands <= toured


def test_tour_output_matches_the_program(scratch: Path):
    text = README.read_text(encoding="utf-8")
    examples = _examples(text)
    assert examples, "the README tour has no examples"
    if os.environ.get("CRMKIT_UPDATE_README"):
        for command, pasted in examples:
            text = text.replace(f"$ {command}\n{pasted}", f"$ {command}\n{_run(command)}", 1)
        README.write_text(text, encoding="utf-8")
        return
    for command, pasted in examples:
        assert _run(command) == pasted, f"README output of `{command}` is out of date"


def test_python_examples_run_as_shown(scratch: Path):
    """Every ```pycon block of the README runs, in order, as one doctest session in a scratch folder."""
    blocks = re.findall(r"```pycon\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no Python examples"
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_every_output_column_is_in_the_readme_glossary(tmp_path: Path):
    out = tmp_path / "customers.csv"
    result = CliRunner().invoke(
        app,
        [
            "segment",
            str(ROOT / "data/samples/sales.xlsx"),
            "--customers",
            str(ROOT / "data/samples/customers.csv"),
            "--out",
            str(out),
            "-q",
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    columns = out.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    glossary = README.read_text(encoding="utf-8").split("## Columns", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-zA-Z_]+)`", glossary))
    assert [c for c in columns if c not in documented] == []
