"""The architecture, enforced: one ingest layer, pure scorers, one output layer, a thin CLI."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crmkit"
SCORERS = ["features", "segment", "lifecycle", "churn", "compare", "rollup", "value", "backtest", "pipeline",
           "settings", "simulate", "models", "privacy", "parsing"]
READERS = {"read_csv", "read_excel", "read_parquet", "read_table", "read_json", "load_workbook", "open"}


def _modules(name: str) -> list[Path]:
    path = PACKAGE / name
    return sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


@pytest.mark.parametrize("path", [p for name in SCORERS for p in _modules(name)], ids=lambda p: p.name)
def test_scorers_do_no_io_and_never_import_the_cli_or_output(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not {m for m in _imports(tree) if m.startswith(("crmkit.cli", "crmkit.output", "crmkit.ingest"))}
    assert not (_calls(tree) & (READERS | {"print", "to_csv", "to_excel", "to_parquet"}))


@pytest.mark.parametrize("path", sorted((PACKAGE / "output").glob("*.py")), ids=lambda p: p.name)
def test_output_layer_never_reads_input_files(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not (_calls(tree) & (READERS - {"open"}))
    assert "crmkit.ingest" not in _imports(tree)


def test_cli_has_no_pandas_logic():
    tree = ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8"))
    assert not {m for m in _imports(tree) if m.split(".")[0] in {"pandas", "numpy"}}
