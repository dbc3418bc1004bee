"""Durable deadlines that move without cancelling timers.

One `LazyTimer` per kind of deadline: moving the deadline later starts nothing; when its sleep ends and the
deadline has moved, it sleeps again for the remainder. So a 24-hour window extended by every contact message
costs one timer per window, not one per message. Timers are never cancelled: a deadline moved earlier (rare,
e.g. a 63016 closing the window) starts a new generation, and the superseded sleep ends without effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from temporalio import workflow

TimerName = Literal[
    "window", "window_warning", "sla", "queue_update", "opening", "reconcile", "retry", "delivery", "quiet"
]

SUMMARIES: dict[TimerName, str] = {
    "window": "24h WhatsApp window",
    "window_warning": "warn the rep before the window closes",
    "sla": "queue SLA",
    "queue_update": "tell the contact their place in the queue",
    "opening": "business hours open",
    "reconcile": "reconcile with TaskRouter",
    "retry": "retry after failure",
    "delivery": "check delivery statuses",
    # One timer for both quiet periods: the AI-held session's end, then (no session) the idle close.
    "quiet": "quiet period (AI session end / idle close)",
}


class LazyTimer:
    """A deadline watched by at most one running sleep; `on_fire` runs when the deadline is reached."""

    def __init__(self, summary: str, on_fire: Callable[[], None]) -> None:
        self.summary = summary
        self.deadline: datetime | None = None
        self._generation = 0
        self._running = False
        self._target: datetime | None = None
        self._on_fire = on_fire
        self._task: asyncio.Task[None] | None = None  # referenced: an unreferenced task may be collected

    def set(self, deadline: datetime | None) -> None:
        """Watch `deadline` (None: nothing to watch; a running sleep then ends without effect)."""
        self.deadline = deadline
        if deadline is None:
            return
        if self._running and self._target is not None and deadline >= self._target:
            return  # the running sleep ends first and re-arms for the remainder
        self._generation += 1
        self._running = True
        self._task = asyncio.create_task(self._run(self._generation))

    async def _run(self, generation: int) -> None:
        while generation == self._generation and self.deadline is not None:
            left = self.deadline - workflow.now()
            if left <= timedelta(0):
                self.deadline = None
                self._running = False
                self._on_fire()
                return
            self._target = self.deadline
            await workflow.sleep(left, summary=self.summary)
        if generation == self._generation:
            self._running = False


class Timers:
    """The conversation's named deadlines; a fired one is added to `fired` for the main loop to act on."""

    def __init__(self) -> None:
        self.fired: set[TimerName] = set()
        self._timers = {name: LazyTimer(summary, self._firing(name)) for name, summary in SUMMARIES.items()}

    def _firing(self, name: TimerName) -> Callable[[], None]:
        return lambda: self.fired.add(name)

    def set(self, name: TimerName, deadline: datetime | None) -> None:
        self._timers[name].set(deadline)

    def take_fired(self) -> list[TimerName]:
        """The timers that fired since the last call, in a fixed order (deterministic on replay)."""
        fired = sorted(self.fired)
        self.fired.clear()
        return fired
