"""Back-edges that must not come back: the worker does not import the CLI, and nothing outside a package imports
its private names (a `_name` is free to change without telling anyone)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "build", "dist"}


def python_files() -> Iterator[Path]:
    for path in ROOT.rglob("*.py"):
        if not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


def imports_of(path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, imported name or None) for every import in the file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


def test_the_worker_does_not_import_the_cli() -> None:
    found = [m for m, _ in imports_of(ROOT / "worker.py") if m == "cli" or m.startswith("cli.")]
    assert not found, f"worker.py imports {found}"


def own_packages() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/__init__.py")} | {p.stem for p in ROOT.glob("*.py")}


def test_no_private_name_is_imported_from_another_package() -> None:
    ours = own_packages() - {"tests"}
    offenders = []
    for path in python_files():
        package = path.relative_to(ROOT).parts[0]
        for module, name in imports_of(path):
            top = module.split(".")[0]
            if name and name.startswith("_") and not name.startswith("__") and top in ours and top != package:
                offenders.append(f"{path.relative_to(ROOT)}: from {module} import {name}")
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from cli.stack import _hidden\n")
    assert ("cli.stack", "_hidden") in list(imports_of(sample))
