"""engine/ is true without a web server, and its packages depend on each other one way only.

The second half parses every import under engine/ — function-local and relative ones included —,
maps each to an edge between engine packages (``engine/workflow/…`` is ``workflow``, ``engine/db.py``
is ``db``) and compares the edges with ``engine_dependencies.txt`` kept beside this test.
"""
from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
ALLOWED_FILE = Path(__file__).with_name("engine_dependencies.txt")
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "flask_smorest", "flask_migrate", "web")
# engine/models.py imports every model so that Alembic sees them all: it sits on top of the graph.
AGGREGATOR = "models"

Edge = tuple[str, str]


def _module_name(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, root: Path | None = None) -> list[tuple[str, list[str]]]:
    """(module, names imported from it) for every import anywhere in ``path``; relative imports are
    resolved against ``root`` (the top package directory) when it is given, else left out."""
    package: list[str] = []
    if root is not None:
        package = _module_name(path, root)
        if path.name != "__init__.py":
            package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if root is None:
                    continue
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
    return found


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the modules ``path`` imports by absolute name, anywhere in the file."""
    return {module for module, _ in _imports(path)}


def node_of(dotted: str, root: Path) -> str | None:
    """The graph node of a module under ``root``: its first sub-package or top-level module; None outside."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return None
    if len(parts) == 1:
        return root.name
    first = root / parts[1]
    if first.is_dir() or first.with_suffix(".py").is_file():
        return parts[1]
    return root.name  # a name defined in the package's __init__.py


def engine_edges(root: Path = ENGINE) -> dict[Edge, list[str]]:
    """Every edge between nodes of ``root``, with the places (file:line is enough) that make it."""
    edges: dict[Edge, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        source = node_of(".".join(_module_name(path, root)), root)
        for module, names in _imports(path, root):
            # ``from engine import db`` imports the module engine.db, not a name of engine/__init__.py
            targets = {node_of(f"{module}.{name}", root) for name in names} if module == root.name else set()
            for target in targets or {node_of(module, root)}:
                if target is not None and source is not None and target != source:
                    edges.setdefault((source, target), []).append(str(path.relative_to(root.parent)))
    return edges


def allowed_edges(text: str | None = None) -> set[Edge]:
    """The ``a -> b`` lines of the allowed list (``#`` starts a comment)."""
    text = ALLOWED_FILE.read_text(encoding="utf-8") if text is None else text
    edges = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            source, target = (part.strip() for part in line.split("->"))
            edges.add((source, target))
    return edges


def cycle_in(edges: set[Edge]) -> list[str]:
    """One cycle of the graph as a list of nodes, or [] when it is acyclic."""
    graph: dict[str, list[str]] = {}
    for source, target in sorted(edges):
        graph.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_engine_never_imports_flask_or_web() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 20  # the walk really covers the package
    offenders = {
        f"{path.relative_to(ENGINE.parent)}: {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    }
    assert offenders == set()


def test_the_check_would_notice(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom flask import request\n\ndef f():\n    import web.api\n", encoding="utf-8")
    assert imported_modules(sample) == {"os", "flask", "web.api"}


def test_engine_packages_depend_only_along_the_allowed_edges() -> None:
    edges = engine_edges()
    assert len(edges) > 20  # the walk really sees the imports
    unexpected = {f"{a} -> {b}  ({', '.join(sorted(set(where)))})" for (a, b), where in edges.items()
                  if (a, b) not in allowed_edges() and a != AGGREGATOR}
    assert unexpected == set(), f"new dependencies between engine packages; see {ALLOWED_FILE.name}"


def test_the_allowed_list_names_only_edges_that_exist() -> None:
    """A removed dependency comes off the list too, so the list stays a true picture of the graph."""
    stale = allowed_edges() - set(engine_edges())
    assert stale == set()


def test_the_allowed_graph_has_no_cycle() -> None:
    assert cycle_in(allowed_edges()) == []


def test_the_graph_check_notices_function_local_and_relative_imports(tmp_path: Path) -> None:
    root = tmp_path / "engine"
    (root / "low").mkdir(parents=True)
    (root / "high").mkdir()
    for package in ("", "low", "high"):
        (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / "db.py").write_text("", encoding="utf-8")
    (root / "high" / "a.py").write_text("from engine.low import b\n", encoding="utf-8")
    (root / "low" / "b.py").write_text(
        "from engine import db\n\ndef f():\n    from engine.high.a import x\n    from ..high import a\n",
        encoding="utf-8")
    (root / "low" / "c.py").write_text("from . import b\n", encoding="utf-8")
    edges = engine_edges(root)
    assert set(edges) == {("high", "low"), ("low", "db"), ("low", "high")}
    assert len(edges[("low", "high")]) == 2  # the function-local and the relative import
    assert cycle_in(set(edges)) in (["high", "low", "high"], ["low", "high", "low"])
    assert cycle_in({("high", "low"), ("low", "db")}) == []
    assert allowed_edges("high -> low  # why\n\n# note\nlow -> db\n") == {("high", "low"), ("low", "db")}
