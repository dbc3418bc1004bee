"""The one way tests wait: poll a probe until a condition holds on its value, and fail loudly (with the last
value and the last error) when it does not within the limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


class NeverHappened(AssertionError):
    """What a test waited for did not happen in time."""


@overload
async def eventually(
    what: str, probe: Callable[[], Awaitable[T | None]], *, within: float = ..., interval: float = ...
) -> T: ...


@overload
async def eventually(
    what: str,
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within: float = ...,
    interval: float = ...,
) -> T: ...


async def eventually(
    what: str,
    probe: Callable[[], Awaitable[Any]],
    done: Callable[[Any], bool] = bool,
    *,
    within: float = 45.0,
    interval: float = 0.05,
) -> Any:
    """The probe's first value for which `done` holds. Errors of the probe count as "not yet" (the thing may not
    exist yet) and are reported if time runs out."""
    deadline = time.monotonic() + within
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            last = await probe()
            error = None
            if done(last):
                return last
        except Exception as exc:  # the probe's target may not exist yet
            error = exc
        if time.monotonic() > deadline:
            raise NeverHappened(
                f"timed out after {within:g} s waiting for {what}; last value: {last!r}; last error: {error!r}"
            )
        await asyncio.sleep(interval)


def eventually_sync(
    what: str,
    probe: Callable[[], T],
    done: Callable[[T], bool] = bool,
    *,
    within: float = 30.0,
    interval: float = 0.05,
) -> T:
    """`eventually` for synchronous probes."""
    deadline = time.monotonic() + within
    last: T | None = None
    error: BaseException | None = None
    while True:
        try:
            last = probe()
            error = None
            if done(last):
                return last
        except Exception as exc:
            error = exc
        if time.monotonic() > deadline:
            raise NeverHappened(
                f"timed out after {within:g} s waiting for {what}; last value: {last!r}; last error: {error!r}"
            )
        time.sleep(interval)


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    """`eventually_sync` for a condition that needs no value."""
    eventually_sync(what, condition, within=timeout, interval=interval)
