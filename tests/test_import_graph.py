"""The import graph of the project's packages: no cycle, and the layers point one way.

Layers, bottom up: conf -> features -> models -> synthetic, report -> jobs (airflow_dags
stand apart and call the command line). Every import counts, at module level or inside a
function. The one upward edge left (three models modules and report.data reach the lakehouse
through jobs.lakehouse) is listed here by module, so no new one can appear; next step: move
the lakehouse I/O below models.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("conf", "features", "models", "synthetic", "report", "jobs")
LAYER = {name: i for i, name in enumerate(PACKAGES)}
# models modules that still import jobs.lakehouse (and only it), to be moved below models
MODELS_ON_THE_LAKEHOUSE = {"models.panel", "models.registry", "models.training", "report.data"}


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
    assert [e for e in upward if not (e[0] in MODELS_ON_THE_LAKEHOUSE and e[1] == "jobs.lakehouse")] == []
    assert {m for m, _ in upward} == MODELS_ON_THE_LAKEHOUSE  # shrink the list as they move
    assert not [e for e in upward if e[0].startswith("features.")]  # features never import jobs or models


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
