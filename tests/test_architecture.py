"""The shape of the code: no import cycle between Flash's modules (imports inside functions
included), so that each layer can be read, tested and changed on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "flash"


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flash"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("flash"))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_in_flash() -> None:
    modules = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}
    graph = {name: {d for d in deps if d in modules and d != name}
             for name, deps in modules.items()}
    assert len(graph) > 40
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")}


def test_no_module_keeps_state_in_globals_nor_mutates_frozen_objects() -> None:
    """No `global` statement (module-level state the next build would inherit) and no
    `object.__setattr__` (the model is immutable once built)."""
    found = []
    for path, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                found.append(f"{path.name}:{node.lineno} global")
            if (isinstance(node, ast.Attribute) and node.attr == "__setattr__"
                    and isinstance(node.value, ast.Name) and node.value.id == "object"):
                found.append(f"{path.name}:{node.lineno} object.__setattr__")
    assert found == []


def test_model_objects_are_immutable_and_keyed_by_value() -> None:
    import dataclasses
    import datetime as dt

    from flash.model import IssueHead

    head = IssueHead(1, dt.date(2021, 3, 1), "Flash", "", None, None, Path("a"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        head.title = "autre"  # type: ignore[misc]
    twin = IssueHead(1, dt.date(2021, 3, 1), "Flash", "", None, None, Path("a"))
    assert twin is not head and twin.fingerprint == head.fingerprint
    assert dataclasses.replace(head, title="Autre").fingerprint != head.fingerprint


def test_build_reads_as_its_stages_and_knows_no_store() -> None:
    """build() fits on a screen, and build.py has no flag for `flash serve`: the store it is
    given (flash.store) decides what is kept and where files go."""
    tree = _trees()[PACKAGE / "build.py"]
    build = next(node for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name == "build")
    assert build.end_lineno is not None and build.end_lineno - build.lineno < 65
    source = (PACKAGE / "build.py").read_text(encoding="utf-8")
    assert "MemoryStore" not in source and "in_memory" not in source and "serve" not in [
        name.id for name in ast.walk(tree) if isinstance(name, ast.Name)]


def test_the_command_starts_without_the_heavy_libraries() -> None:
    """A build with nothing to do is over in a tenth of a second: starting `flash` loads none
    of the libraries only some commands need (SQLAlchemy took 130 ms, WeasyPrint more)."""
    import subprocess
    import sys

    heavy = ["sqlalchemy", "weasyprint", "jinja2", "markdown_it", "PIL", "starlette", "yaml"]
    probe = ("import sys, flash.cli, flash.build; "
             f"print([name for name in {heavy!r} if name in sys.modules])")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, cwd=REPO)
    assert found.stdout.strip() == "[]"
