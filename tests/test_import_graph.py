"""The import graph of the package is acyclic and its one-way doors hold (docs/architecture.md).

Every ``import`` and ``from … import`` of every module of ``loopbound`` — ``loopbound.theory`` and
``loopbound.constructions`` included (the folders theory/ and constructions/) — is read with
:mod:`ast`, at any depth (imports inside functions count: a cycle broken only by importing late is
still a cycle). Edges go from a module to the loopbound modules it names; ``from package import
name`` also names ``package.name`` when that is a module. The graph must have no cycle, and:

- ``loopbound.theory`` imports neither ``loopbound.constructions`` nor the harness;
- ``loopbound.constructions`` does not import the harness (``loopbound.*`` outside theory and
  constructions).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "loopbound": ROOT / "loopbound",
    "loopbound.theory": ROOT / "theory",
    "loopbound.constructions": ROOT / "constructions",
}


def _modules() -> dict[str, Path]:
    """Every module of the package: dotted name → file."""
    modules: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from`` import (relative imports resolved against ``module``)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> str | None:
    """The loopbound module ``name`` refers to: itself, or its nearest enclosing package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """The loopbound modules that ``module`` imports anywhere in its source."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            names = [source] + [f"{source}.{alias.name}" for alias in node.names]
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _room(module: str) -> str:
    for room in ("loopbound.theory", "loopbound.constructions"):
        if module == room or module.startswith(room + "."):
            return room
    return "harness"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return path[path.index(successor) :] + [successor]
            if successor not in state:
                cycle = visit(successor)
                if cycle is not None:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle is not None:
                return cycle
    return None


def test_the_graph_covers_every_room() -> None:
    rooms = {_room(module) for module in MODULES}
    assert rooms == {"loopbound.theory", "loopbound.constructions", "harness"}
    assert "loopbound.sweep.cells" in MODULES and "loopbound.theory.bounds" in MODULES


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [("loopbound.theory", {"loopbound.constructions", "harness"}), ("loopbound.constructions", {"harness"})],
)
def test_the_one_way_doors_hold(room: str, forbidden: set[str]) -> None:
    broken = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _room(module) == room
        for target in targets
        if _room(target) in forbidden
    )
    assert not broken, "; ".join(broken)


def test_the_checker_finds_cycles_and_function_level_imports(tmp_path: Path) -> None:
    """The checker itself: a planted cycle is found, an acyclic graph passes, and an import inside
    a function body is an edge."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    source = "def f():\n    from loopbound.sweep.store import Store\n    import loopbound.atomic\n"
    tree = ast.parse(source)
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {_known(name) for name in names} == {"loopbound.sweep.store", "loopbound.atomic"}
