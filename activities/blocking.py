"""Helpers for long activities: those made of several steps (`answer_contact`, `hand_off`) are async, their
Twilio steps are the blocking ones of `TwilioActivities`; they and the media copy heartbeat, so a killed
worker's run is retried within the heartbeat timeout, not after the activity's whole limit."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from twilio_rest.client import MAX_IN_PLACE_WAIT  # the same cap as the client's per-request repeats

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - a step's input
# Well inside the heartbeat timeout the workflow sets for these activities (STEPS_HEARTBEAT).
HEARTBEAT_EVERY_SECONDS = 2.0
# A retryable failure of one step inside a multi-step activity is repeated there, a few times and briefly, instead
# of failing the activity (whose retry would redo every step before it). Each step is idempotent: it looks for its
# own earlier effect first. A longer Retry-After goes to the activity's retry policy.
STEP_ATTEMPTS = 3
STEP_BACKOFF_SECONDS = 0.5


async def repeat_in_place(
    step: Callable[[I], Awaitable[T]],
    inp: I,
    *,
    backoff: float = STEP_BACKOFF_SECONDS,
    again: Callable[[I], I] | None = None,
) -> T:
    """Run an idempotent step; on a retryable ApplicationError wait and run it again (`again` adapts the input of
    a repeat, e.g. a send that must look for its own earlier send). Final refusals and the last failure raise."""
    for attempt in range(1, STEP_ATTEMPTS + 1):
        try:
            return await step(inp)
        except ApplicationError as exc:
            asked = exc.next_retry_delay.total_seconds() if exc.next_retry_delay is not None else None
            wait = asked if asked is not None else backoff * 2 ** (attempt - 1)
            if exc.non_retryable or attempt == STEP_ATTEMPTS or wait > MAX_IN_PLACE_WAIT:
                raise
        await asyncio.sleep(wait)
        if again is not None:
            inp = again(inp)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def in_thread(executor: Executor | None, fn: Callable[[Any], T], arg: Any) -> T:
    """Run a blocking step on the worker's activity threads, with the activity context: a step reads
    activity.info() to tell a retry from a first run."""
    ctx = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(ctx.run, fn, arg))


async def _beat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)


@asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the block runs (inside an activity; outside one, e.g. a unit test, nothing)."""
    beat = asyncio.create_task(_beat()) if activity.in_activity() else None
    try:
        yield
    finally:
        if beat is not None:
            beat.cancel()


@contextmanager
def heartbeating_thread() -> Iterator[None]:
    """For a blocking activity whose work is a few long calls (a media download and upload): heartbeat from a
    helper thread while the block runs (outside an activity, nothing)."""
    if not activity.in_activity():
        yield
        return
    stop = threading.Event()
    ctx = contextvars.copy_context()  # the activity context, for this helper thread alone

    def beat() -> None:
        while not stop.is_set():
            ctx.run(activity.heartbeat)
            stop.wait(HEARTBEAT_EVERY_SECONDS)

    helper = threading.Thread(target=beat, name="activity-heartbeat", daemon=True)
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join(timeout=1)
