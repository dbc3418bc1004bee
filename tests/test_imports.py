"""The dependency rules between the service's packages (docs/DESIGN.md §1), read from the source's imports."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "contracts",
    "rules",
    "workflows",
    "activities",
    "api",
    "config",
    "cli",
    "twilio_rest",
    "twilio_sandbox",
    "payload_encryption",
    "loadgen",
    "bench",
    "observability",
)
# What each package may import of ours (beyond itself); a package not listed here may import anything but a cycle.
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "rules": {"contracts"},
    "workflows": {"contracts", "rules"},
    "activities": {"contracts", "rules", "config", "twilio_rest"},
    "twilio_sandbox": {"twilio_rest"},
    "observability": {"contracts"},
}
WORKFLOW_SANDBOX_FORBIDDEN = ("twilio", "fastapi", "httpx", "requests", "pydantic_settings")


def _imports(path: Path) -> list[tuple[str, str]]:
    """(imported module, imported name or "") for every import in a file (relative ones resolved)."""
    return _imports_of(path.read_text(), ".".join(path.relative_to(ROOT).with_suffix("").parts))


def _imports_of(source: str, module: str) -> list[tuple[str, str]]:
    tree = ast.parse(source)
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            found += [(base, alias.name) for alias in node.names]
    return found


def _package_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if ".venv" not in p.parts)


def _edges() -> dict[str, dict[str, list[str]]]:
    """package → imported package → the files that import it."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for package in PACKAGES:
        for path in _package_files(package):
            for imported, _ in _imports(path):
                target = imported.split(".")[0]
                if target in PACKAGES and target != package:
                    edges[package][target].append(str(path.relative_to(ROOT)))
    return edges


def test_each_package_imports_only_what_it_may() -> None:
    edges = _edges()
    wrong = {
        f"{package} → {target}": files
        for package, allowed in ALLOWED.items()
        for target, files in edges[package].items()
        if target not in allowed
    }
    assert not wrong, wrong


def test_no_two_packages_import_each_other() -> None:
    edges = _edges()
    cycles = sorted(f"{a} ⇄ {b}" for a in edges for b in edges[a] if a < b and a in edges.get(b, {}))
    assert not cycles, cycles


def test_no_module_imports_a_private_name_of_another_package() -> None:
    offenders: list[str] = []
    for package in (*PACKAGES, "worker"):
        files = [ROOT / "worker.py"] if package == "worker" else _package_files(package)
        for path in files:
            for imported, name in _imports(path):
                target = imported.split(".")[0]
                private = name.startswith("_") or any(part.startswith("_") for part in imported.split(".")[1:])
                if target in PACKAGES and target != package and private and name != "__future__":
                    offenders.append(f"{path.relative_to(ROOT)}: {imported}.{name}")
    assert not offenders, offenders


def test_the_worker_entry_point_imports_no_cli() -> None:
    assert not [m for m, _ in _imports(ROOT / "worker.py") if m.split(".")[0] == "cli"]


def test_workflow_code_imports_no_io_library() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {imported}"
        for package in ("workflows", "rules", "contracts")
        for path in _package_files(package)
        for imported, _ in _imports(path)
        if imported.split(".")[0] in WORKFLOW_SANDBOX_FORBIDDEN
    ]
    assert not offenders, offenders


def test_the_reader_sees_relative_imports_private_names_and_imports_inside_functions() -> None:
    source = (
        "from . import sibling\n"
        "from ..rules import window\n"
        "import twilio.rest\n"
        "def f():\n"
        "    from activities.twilio_activities import _wa\n"
    )
    assert _imports_of(source, "workflows.conversation.session") == [
        ("workflows.conversation", "sibling"),
        ("workflows.rules", "window"),
        ("twilio.rest", ""),
        ("activities.twilio_activities", "_wa"),
    ]
