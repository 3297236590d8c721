"""Structure of the annual model package: its modules import one another without cycles,
and the heuristics sit on top of the solver, never under it."""

import ast
from pathlib import Path

import pytest

import siting.model

MODEL_DIR = Path(siting.model.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(MODEL_DIR.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every siting module ``path`` imports, anywhere in the file (top level, inside functions
    and under ``if TYPE_CHECKING``): ``from a.b import c`` counts as ``a.b.c`` when that is a
    module, else ``a.b``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def import_graph(files: list[Path]) -> dict[str, set[str]]:
    known = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, known) - {_module_name(f)} for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_import_graph_reads_type_checking_and_function_level_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from siting.model.warmstart import Start\n"
                   "def f():\n    from siting.model import dive\n    import siting.model.solve\n")
    known = {"siting.model", "siting.model.warmstart", "siting.model.dive", "siting.model.solve"}
    assert _imports(src, known) == {"siting.model.warmstart", "siting.model.dive",
                                    "siting.model.solve"}


def test_annual_model_modules_import_without_cycles():
    files = sorted(MODEL_DIR.glob("*.py"))
    graph = import_graph(files)
    assert {"siting.model.dive", "siting.model.solve", "siting.model.warmstart"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_whole_package_imports_without_cycles():
    """Data -> inputs -> model -> solve -> solution -> report/studies: no module of siting,
    however deep or lazily it imports, reaches back to itself (the hourly model once
    imported the annual optimize module for an error class, which imports it back)."""
    files = sorted(MODEL_DIR.parent.rglob("*.py"))
    graph = import_graph(files)
    assert {"siting.model.hourly.optimize", "siting.report.render", "siting.studies.sweep"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("heuristic", ["siting.model.dive", "siting.model.warmstart"])
def test_solver_layer_does_not_depend_on_heuristics(heuristic):
    graph = import_graph(sorted(MODEL_DIR.glob("*.py")))

    def reach(node, seen=None):
        seen = set() if seen is None else seen
        for nxt in graph[node] - seen:
            seen.add(nxt)
            reach(nxt, seen)
        return seen

    for layer in ("siting.model.solve", "siting.model.formulation", "siting.model.start"):
        assert heuristic not in reach(layer), layer
