"""The import graph of the project's packages: no cycle, and the layers point one way.

Layers, bottom up: conf -> features -> store -> models -> synthetic, report -> jobs
(airflow_dags stand apart and call the command line). Every import counts, at module level or
inside a function. store holds the table catalog, the schemas and the Delta store; models are
functions of frames and never read or write the lakehouse themselves (the stages in jobs/ do).

Also here: every table name in the code comes from the catalog (store/catalog.py), never a
string literal of its own.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("conf", "features", "store", "models", "synthetic", "report", "jobs")
LAYER = {name: i for i, name in enumerate(PACKAGES)}
TABLE_NAME = re.compile(r"""["'](bronze|silver|gold|ops)\.[a-z_]+["']""")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = {t for t in _imports(path, module) if t in files}
        edges[module] = {t for t in targets if t != module}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    edges = graph()
    assert len(edges) > 60  # the packages were found (82 modules when written)
    assert _cycles(edges) == []


def test_imports_point_down_the_layers():
    upward = sorted(
        (m, t) for m, targets in graph().items() for t in targets
        if LAYER[t.split(".")[0]] > LAYER[m.split(".")[0]]
    )
    assert upward == []


def test_models_never_touch_the_lakehouse_store():
    edges = graph()
    io = {"store.lakehouse", "store.catalog"} | {m for m in edges if m.startswith("jobs.")}
    reaching = sorted((m, t) for m, targets in edges.items() if m.startswith("models.") for t in targets & io)
    # models may name tables for their records (store.catalog constants) but never read or write
    assert [(m, t) for m, t in reaching if t != "store.catalog"] == []


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {
        id(n.body[0].value) for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_table_names_come_from_the_catalog():
    # A whole string that is a table name, outside the catalog, is a name written twice. (The
    # feature dictionary documents which silver table a column comes from; features read no table.)
    found = []
    for pkg in ("store", "models", "report", "synthetic", "jobs"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path == ROOT / "store" / "catalog.py":
                continue
            found += [(str(path.relative_to(ROOT)), line, value) for line, value in _string_literals(path)
                      if TABLE_NAME.fullmatch(f'"{value}"')]
    assert found == []


def test_the_table_name_check_sees_a_literal(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text('"""Reads gold.village_risk."""\nNAME = "gold.village_risk"\nTEXT = f"see {NAME}"\n')
    assert [v for _, v in _string_literals(bad) if TABLE_NAME.fullmatch(f'"{v}"')] == ["gold.village_risk"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
