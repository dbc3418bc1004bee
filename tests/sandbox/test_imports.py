"""`twilio_sandbox` has no import cycle, counting imports inside functions and under TYPE_CHECKING; and the
reader that proves it does see such imports and does find cycles."""

from __future__ import annotations

from pathlib import Path

import twilio_sandbox
from tests.sandbox.import_graph import find_cycle, package_imports

PACKAGE_DIR = Path(twilio_sandbox.__file__).parent


def test_twilio_sandbox_has_no_import_cycle() -> None:
    graph = package_imports("twilio_sandbox", PACKAGE_DIR)
    assert "twilio_sandbox.core" in graph and "twilio_sandbox.engine" in graph["twilio_sandbox.core"]
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle or [])


def test_the_reader_sees_deferred_and_type_only_imports_and_finds_their_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "def thing():\n    from . import a\n    return a\n"
    )
    (pkg / "c.py").write_text("import os\n")
    graph = package_imports("pkg", pkg)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.a", "pkg.c"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]
    graph["pkg.b"].discard("pkg.a")
    assert find_cycle(graph) is None


def test_a_longer_cycle_is_reported_in_order() -> None:
    graph = {"x": {"y"}, "y": {"z"}, "z": {"x", "w"}, "w": set()}
    assert find_cycle(graph) == ["x", "y", "z", "x"]
