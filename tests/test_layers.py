"""The architecture, enforced: one ingest layer, pure scorers, one output layer, a thin CLI.

The package's folders are its layers. Each may import only the layers below it (the table below), so
imports point downward; scorers, models and the pipeline do no I/O; the output layer never reads input
files; the command line does no pandas work of its own.
"""

from __future__ import annotations

import ast
from graphlib import TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crmkit"

#: What each layer may import from crmkit (besides itself). Base modules first, the command line last.
ALLOWED: dict[str, set[str]] = {
    "version": set(),
    "errors": set(),
    "schema": {"errors"},
    "settings": {"errors", "schema"},
    "models": {"errors", "schema"},
    "datasets": {"errors", "schema", "models"},
    "scoring": {"errors", "schema", "settings", "models"},
    "ingest": {"version", "errors", "schema", "settings", "models"},
    "pipeline": {"version", "errors", "schema", "settings", "models", "scoring", "ingest"},
    "output": {"version", "errors", "schema", "settings", "scoring", "pipeline"},
    "api": {"version", "errors", "schema", "settings", "models", "scoring", "ingest", "pipeline"},
    # Engines run the pipeline's steps over partitions: they read through ingest and write through output.
    "engine": {"version", "errors", "schema", "settings", "models", "scoring", "ingest", "pipeline", "output"},
    "cli": {
        "version",
        "errors",
        "schema",
        "settings",
        "models",
        "datasets",
        "scoring",
        "ingest",
        "pipeline",
        "output",
        "engine",
    },
}
#: Layers that compute: no reading or writing of files, no printing.
PURE = ("models", "datasets", "scoring", "pipeline")
READERS = {"read_csv", "read_excel", "read_parquet", "read_table", "read_json", "load_workbook", "open"}


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        return relative.parts[0]
    return {"__init__.py": "api", "__main__.py": "cli"}.get(relative.name, relative.stem)


def _crmkit_imports(path: Path) -> set[str]:
    """The layers a module imports (``crmkit.X…`` → X; ``from crmkit import X`` → X)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "crmkit":
            parts = node.module.split(".")
            found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("crmkit."))
    return {"version" if name == "__version__" else name for name in found}


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    assert {_layer(p) for p in MODULES} <= set(ALLOWED)


def test_layers_form_a_stack():
    """The allowed imports have no cycle: there is an order in which every layer only looks down."""
    order = list(TopologicalSorter(ALLOWED).static_order())
    assert order.index("errors") < order.index("scoring") < order.index("pipeline") < order.index("cli")
    assert order.index("pipeline") < order.index("engine") < order.index("cli")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downward(path: Path):
    layer = _layer(path)
    assert _crmkit_imports(path) - {layer} <= ALLOWED[layer]


@pytest.mark.parametrize("path", [p for p in MODULES if _layer(p) in PURE], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_computing_layers_do_no_io(path: Path):
    assert not (_calls(path) & (READERS | {"print", "to_csv", "to_excel", "to_parquet"}))


@pytest.mark.parametrize("path", sorted((PACKAGE / "output").glob("*.py")), ids=lambda p: p.name)
def test_output_layer_never_reads_input_files(path: Path):
    assert not (_calls(path) & (READERS - {"open"}))


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_has_no_pandas_logic(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] in {"pandas", "numpy"}}
