"""The one polling helper of the tests: wait on state, fail loudly with what was awaited when time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
