"""No import circle among the portal's own modules (issue #14: the queue imported the services, whose
jobs imported the services back inside their bodies).

Every ``import`` counts, at module level or inside a function: an import deferred into a body still
closes a circle, it only hides it until the first call. Imports under ``if TYPE_CHECKING:`` do not
run, so they do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "mappings", "sync")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(name: str, path: Path) -> set[str]:
    """Every module name ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``, and importing
    ``a.b.c`` runs ``a`` and ``a.b`` first)."""
    names: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    skipped: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if _type_checking_only(node):
            skipped.update(id(child) for child in ast.walk(node))
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*package[: len(package) - node.level + 1], node.module or ""]) if node.level else ""
            base = base.strip(".") or (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 2)}


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    modules = modules_of(root, packages)
    return {
        name: {other for other in imported_names(name, path) if other in modules and other != name}
        for name, path in modules.items()
    }


def import_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` as the path that closes it (first module repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for other in sorted(graph[module]):
            if other in on_path:
                return [*path[path.index(other) :], other]
            if other not in done and (circle := visit(other)):
                return circle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (circle := visit(module)):
            return circle
    return None


def test_the_portals_modules_import_each_other_without_a_circle():
    graph = import_graph(ROOT, PACKAGES)
    assert "sync.queue" in graph["sync.runner"] and "sync.inbox" in graph["sync.jobs"]  # the graph is read

    assert import_circle(graph) is None


def test_a_circle_closed_inside_a_function_body_is_found_and_type_checking_imports_are_not(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "services.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from app.queue import enqueue\n"
        "if TYPE_CHECKING:\n"
        "    from app import typed\n"
    )
    (tmp_path / "app" / "queue.py").write_text("def enqueue():\n    from .services import run\n")
    (tmp_path / "app" / "typed.py").write_text("from app import services\n")

    graph = import_graph(tmp_path, ("app",))

    assert graph["app.services"] == {"app", "app.queue"}
    assert import_circle(graph) == ["app.queue", "app.services", "app.queue"]
