"""Fixtures of the fault suite: a whole stack (`run`: Temporal dev server, sandbox, worker, API) per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loadgen.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(Path(tmp_path_factory.mktemp("faults-stack")))
    s.start()
    try:
        yield s
    finally:
        s.stop()
