"""The house rules that keep the code base in shape: layering, cycles, SQL, maps, size, lint.

* Dependencies run one way, ``webmap → geodata → stations``: ``stations/`` imports neither
  ``geodata``, ``webmap``, Flask nor geopandas; ``geodata/`` never imports ``webmap`` or Flask.
* No import cycles among the modules of ``stations/``, ``geodata/`` and ``webmap/`` (see
  :func:`_import_graph` for what counts as an import).
* SQL lives with the store: SQLAlchemy and the table definitions are imported only in
  ``stations/``; ``geodata/`` and ``webmap/`` call store and repository methods.
* Maps live with the face: Folium and branca are imported only in ``webmap/``.
* A station's status changes only through :mod:`stations.lifecycle` (audited).
* Functions stay small: McCabe complexity at most 15 (ruff ``C90``, set in pyproject.toml),
  at most 80 lines.

The allow-lists below name today's exceptions, each with its reason. They must shrink to empty:
a listed entry that no longer offends fails :func:`test_allow_lists_hold_only_current_offenders`,
so whoever fixes one deletes its line; nothing may be added without the same review as code.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stations", "geodata", "webmap")
LINTED = (*PACKAGES, "tests", "bench")

FORBIDDEN = {
    "stations": ("geodata", "webmap", "flask", "folium", "geopandas"),
    "geodata": ("webmap", "flask"),
}

# -- allow-lists: today's exceptions, to shrink to empty ---------------------------------------
#: Import edges (importer → imported) left out of the cycle check, each closing a known cycle.
#: Empty: the last cycle (``webmap.cli`` ↔ its command modules, through the function-local
#: registration import) was broken by moving the group to ``webmap/cli/base.py``.
CYCLE_EDGES_ALLOWED: dict[tuple[str, str], str] = {}

#: Files outside ``stations/`` still allowed to import SQLAlchemy or ``stations.schema``.
SQL_ALLOWED: dict[str, str] = {}

#: ``path::function`` longer than :data:`MAX_FUNCTION_LINES` (``def`` line to last line,
#: docstring included), each with why it is long today.
LENGTH_ALLOWED: dict[str, str] = {}

MAX_COMPLEXITY = 15
MAX_FUNCTION_LINES = 80


# -- helpers -------------------------------------------------------------------------------
def _sources(*roots: str):
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "static" not in path.relative_to(ROOT).parts:
                yield path


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path) -> set[str]:
    tree = _tree(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _imported_modules(path: Path) -> set[str]:
    """Every dotted module name an import statement of ``path`` names (any depth)."""
    names: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _ruff() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test extra (pip install -e '.[test]')"
    return ruff


def _functions(path: Path) -> dict[int, tuple[str, ast.AST]]:
    """``{def line: (qualified name, node)}``; nested functions as ``outer.inner``."""
    found: dict[int, tuple[str, ast.AST]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found[child.lineno] = (name, child)
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(_tree(path), "")
    return found


# -- the import graph ----------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_graph(*, local: bool) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over ``stations``, ``geodata`` and ``webmap``.

    What counts as an import of module M:

    * ``import a.b.c`` and ``from a.b.c import x`` name ``a.b.c`` (or its nearest enclosing
      module of ours); ``from a.b import c`` names the submodule ``a.b.c`` when it is one,
      else the package ``a.b`` (a name its ``__init__`` defines or re-exports). Relative
      imports are resolved the same way.
    * The implicit import of enclosing packages is not counted: every ``from a.b import x``
      runs ``a/__init__.py`` first, and counting that would make each package that re-exports
      a submodule (``stations/__init__`` → ``stations.store``) a cycle with it. A package that
      re-exports is still checked, through its own explicit imports.
    * Imports under ``if TYPE_CHECKING:`` never run and are not counted.
    * With ``local=True``, imports inside functions count too. They run later than module
      imports, so such a cycle does not fail at start-up, but it is a dependency all the same:
      the house style imports blueprints at the top of the factory precisely so a cycle shows
      at once, and a function-local import is no licence to depend both ways.
    """
    modules = {_module_name(p): p for p in _sources(*PACKAGES)}

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges: set[str] = set()

        def visit(node: ast.AST, in_function: bool, *, package=package, edges=edges) -> None:
            for child in ast.iter_child_nodes(node):
                if _is_type_checking(child):
                    for other in child.orelse:
                        visit(ast.Module(body=[other], type_ignores=[]), in_function)
                    continue
                nested = in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if not nested or local:
                    if isinstance(child, ast.Import):
                        edges.update(filter(None, (ours(a.name) for a in child.names)))
                    elif isinstance(child, ast.ImportFrom):
                        base = child.module or ""
                        if child.level:
                            parts = package.split(".")
                            parts = parts[:len(parts) - (child.level - 1)]
                            base = ".".join(parts + ([child.module] if child.module else []))
                        for alias in child.names:
                            sub = f"{base}.{alias.name}"
                            target = sub if sub in modules else ours(base)
                            if target:
                                edges.add(target)
                visit(child, nested)

        visit(_tree(path), False)
        edges.discard(module)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path ``a → b → … → a``) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_shortest_cycle(graph, component) for component in components]


def _shortest_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest way from the component's first module back to itself, for the message."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"not a cycle: {component}")  # pragma: no cover


def _without_allowed_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: {t for t in targets if (m, t) not in CYCLE_EDGES_ALLOWED}
            for m, targets in graph.items()}


# -- the rules -----------------------------------------------------------------------------
@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_run_one_way(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN[package]))
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}, f"{package}/ imports what it must not: {offenders}"


def test_module_level_imports_have_no_cycle():
    cycles = _cycles(_import_graph(local=False))
    assert cycles == [], "import cycles at module level (break them by moving code):\n" + \
        "\n".join(" → ".join(c) for c in cycles)


def test_no_import_cycle_even_through_function_local_imports():
    cycles = _cycles(_without_allowed_edges(_import_graph(local=True)))
    assert cycles == [], (
        "import cycles once function-local imports count (move the shared code to a module "
        "both can import; a local import only hides the cycle):\n"
        + "\n".join(" → ".join(c) for c in cycles))


def test_the_import_graph_sees_what_it_should():
    """The graph finds the edges it claims to (a guard on the guard)."""
    top, full = _import_graph(local=False), _import_graph(local=True)
    assert "stations.store" in top["stations"]  # package re-export
    assert "stations.audit" in top["stations.store"]  # ``from stations import audit``
    assert "webmap.cli.base" in top["webmap.cli.core"]
    assert "stations.store" in full["webmap.cli.base"] - top["webmap.cli.base"]  # local
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


@pytest.mark.parametrize("package", ["geodata", "webmap"])
def test_sql_lives_in_stations(package):
    """No SQLAlchemy (nor the tables of ``stations.schema``) outside ``stations/``."""
    offenders = {}
    for path in _sources(package):
        named = {m for m in _imported_modules(path)
                 if m.split(".")[0] == "sqlalchemy" or m.startswith("stations.schema")}
        if named and _rel(path) not in SQL_ALLOWED:
            offenders[_rel(path)] = sorted(named)
    assert offenders == {}, (
        f"{package}/ builds SQL; add a Store method or a stations/ repository function "
        f"(stations/candidates.py, stations/accounts.py...) and call it: {offenders}")


@pytest.mark.parametrize("package", ["stations", "geodata"])
def test_maps_live_in_webmap(package):
    """Folium and branca only in ``webmap/`` (tests and benchmarks of the maps may use them)."""
    offenders = {_rel(p): sorted(_imports(p) & {"folium", "branca"}) for p in _sources(package)}
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}, f"{package}/ imports map libraries; build maps in webmap/: {offenders}"


def test_a_station_status_is_written_only_by_the_lifecycle():
    """``Store._set_status`` is called from ``stations/lifecycle.py`` alone (which audits)."""
    callers = sorted(
        f"{_rel(path)}:{node.lineno}" for path in _sources(*LINTED)
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute) and node.attr in ("_set_status", "set_status")
        and _rel(path) != "stations/lifecycle.py"
        and not (isinstance(node.value, ast.Name) and node.value.id == "lifecycle"))
    assert callers == [], f"status written around stations.lifecycle: {callers}"


def _long_functions() -> dict[str, int]:
    found = {}
    for path in _sources(*LINTED):
        for name, node in _functions(path).values():
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found[f"{_rel(path)}::{name}"] = length
    return found


def test_functions_are_not_too_complex():
    """McCabe ≤ 15 is part of the lint (ruff ``C90``), so the ruff-clean test enforces it;
    this keeps the rule from being switched off or loosened quietly."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"][
        "lint"]
    assert "C90" in lint["select"] or "C901" in lint["select"], lint["select"]
    assert lint["mccabe"]["max-complexity"] <= MAX_COMPLEXITY
    assert not {"C90", "C901"} & set(lint.get("ignore", ()))
    assert not any({"C90", "C901"} & set(codes) for codes in lint.get(
        "per-file-ignores", {}).values())


def test_functions_are_not_too_long():
    found = _long_functions()
    print("functions over", MAX_FUNCTION_LINES, "lines", json.dumps(found, indent=1))
    new = {k: v for k, v in found.items() if k not in LENGTH_ALLOWED}
    assert new == {}, f"functions over {MAX_FUNCTION_LINES} lines (split them): {new}"


def test_allow_lists_hold_only_current_offenders():
    """A fixed offender leaves its allow-list: delete its line here when this fails."""
    sql_users = {_rel(p) for p in _sources("geodata", "webmap")
                 if any(m.split(".")[0] == "sqlalchemy" or m.startswith("stations.schema")
                        for m in _imported_modules(p))}
    edges = {(m, t) for m, targets in _import_graph(local=True).items() for t in targets}
    stale = {
        "SQL_ALLOWED": sorted(set(SQL_ALLOWED) - sql_users),
        "LENGTH_ALLOWED": sorted(set(LENGTH_ALLOWED) - set(_long_functions())),
        "CYCLE_EDGES_ALLOWED": sorted(map(str, set(CYCLE_EDGES_ALLOWED) - edges)),
    }
    stale = {k: v for k, v in stale.items() if v}
    assert stale == {}, f"fixed, so remove from the allow-list in {__file__}: {stale}"


def test_the_code_is_ruff_clean():
    done = subprocess.run([_ruff(), "check", "--quiet", *LINTED], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
