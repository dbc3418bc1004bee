"""Which modules of a package import which, read from the source (every import statement: module level, inside
functions and under `if TYPE_CHECKING:` alike, since each is a dependency a reader must follow), and the first
import cycle found in that graph."""

from __future__ import annotations

import ast
from pathlib import Path


def _module_name(package: str, package_dir: Path, path: Path) -> str:
    rel = path.relative_to(package_dir).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([package, *parts])


def _resolve(node: ast.ImportFrom, current: str, is_init: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_init else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def package_imports(package: str, package_dir: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports (`from pkg import mod` counts as importing `mod`)."""
    files = {_module_name(package, package_dir, p): p for p in sorted(package_dir.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(node, name, path.name == "__init__.py")
                targets = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in files]
                targets = targets or [source]
            for target in targets:
                while target and target not in files:  # `import pkg.mod.Thing` style: the longest module prefix
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as `[a, b, …, a]`, or None when the graph has none."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None
