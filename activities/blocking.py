"""Helpers for long activities: those made of several steps (`answer_contact`, `hand_off`) are async, their
Twilio steps are the blocking ones of `TwilioActivities`; they and the media copy heartbeat, so a killed
worker's run is retried within the heartbeat timeout, not after the activity's whole limit."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from temporalio import activity

T = TypeVar("T")
# Well inside the heartbeat timeout the workflow sets for these activities (STEPS_HEARTBEAT).
HEARTBEAT_EVERY_SECONDS = 2.0


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
