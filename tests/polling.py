"""The one polling helper of the tests, sync and async: wait on state, and fail loudly with what was awaited when
time runs out (never hand back the last value as if it were the awaited one)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


async def eventually(
    what: str, probe: Callable[[], Awaitable[T | None]], within: float = 45.0, interval: float = 0.1
) -> T:
    """The probe's first truthy value; an AssertionError naming `what` (and the last value seen) on timeout."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f} s (last seen: {value!r})")
        await asyncio.sleep(interval)
