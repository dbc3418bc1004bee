"""Process faults during a run: the worker SIGKILLed at random moments and also right inside the handoff
activities (triggered by their Twilio calls showing up in the sandbox record), the API restarted, the Temporal
dev server restarted on its database file. One violent action at a time; every one is counted."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field

from loadgen.record import Entry
from loadgen.stack import Stack

# Twilio calls made only by the handoff activities, as "METHOD path" regexes: merge_handoff_attributes (task
# update with If-Match), hand_to_humans (invite lookup/creation, closing the AI's interaction participant).
HANDOFF_CALLS = [
    r"^POST /taskrouter/v1/Workspaces/WS\w+/Tasks/WT\w+$",
    r"^(GET|POST) /flex-api/v1/Interactions/KD\w+/Channels/UO\w+/Invites$",
    r"^POST /flex-api/v1/Interactions/KD\w+/Channels/UO\w+/Participants/UT\w+$",
]


class ChaosConfig(BaseModel):
    # A SIGKILLed worker strands its running activities until their start-to-close timeout (30 s) and its
    # workflow tasks until theirs (10 s): killing more often than this starves the run instead of testing it.
    worker_kill_every: tuple[float, float] | None = (40.0, 80.0)  # seconds between random SIGKILLs
    worker_down: tuple[float, float] = (0.5, 3.0)  # how long the worker stays dead
    handoff_kill_rate: float = 0.5  # share of handoff-activity Twilio calls that get the worker killed…
    handoff_kill_cooldown: float = 45.0  # …at most once per this many seconds
    kill_on: list[str] = Field(default_factory=lambda: list(HANDOFF_CALLS))
    api_restart_every: float | None = 100.0
    temporal_restart_every: float | None = 170.0

    def spaced(self, factor: float) -> ChaosConfig:
        """The same faults `factor` times less often. A longer run keeps more conversations in flight, and each
        worker kill makes every one of them replay its history: the kills per conversation, not per second, are
        what must match the shorter runs."""
        if factor <= 0:
            raise ValueError(f"the spacing factor must be positive, not {factor}")
        every = self.worker_kill_every
        return self.model_copy(
            update={
                "worker_kill_every": (every[0] * factor, every[1] * factor) if every else None,
                "handoff_kill_cooldown": self.handoff_kill_cooldown * factor,
                "api_restart_every": self.api_restart_every * factor if self.api_restart_every else None,
                "temporal_restart_every": (
                    self.temporal_restart_every * factor if self.temporal_restart_every else None
                ),
            }
        )


class Chaos:
    def __init__(self, stack: Stack, config: ChaosConfig, rng: random.Random) -> None:
        self.stack = stack
        self.cfg = config
        self.rng = rng
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        # (seconds into the run, action, seconds until the process was ready again): an outage is then readable.
        self.journal: list[tuple[float, str, float]] = []
        self._t0 = time.monotonic()
        self._lock = asyncio.Lock()
        self._last_targeted = float("-inf")
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def on_entry(self, e: Entry) -> None:
        """Kill the worker while a handoff activity is talking to Twilio."""
        if self._stop.is_set() or e["kind"] != "rest":
            return
        call = f"{e.get('method')} {e.get('path')}"
        if not any(re.search(pattern, call) for pattern in self.cfg.kill_on):
            return
        now = time.monotonic()
        if now - self._last_targeted < self.cfg.handoff_kill_cooldown or self._lock.locked():
            return
        if self.rng.random() >= self.cfg.handoff_kill_rate:
            return
        self._last_targeted = now
        self._tasks.append(asyncio.get_running_loop().create_task(self.kill_worker("worker SIGKILL in handoff")))

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        c = self.cfg
        if c.worker_kill_every:
            self._tasks.append(loop.create_task(self._every(c.worker_kill_every, self._random_kill)))
        if c.api_restart_every:
            self._tasks.append(loop.create_task(self._every((c.api_restart_every,) * 2, self.restart_api)))
        if c.temporal_restart_every:
            self._tasks.append(loop.create_task(self._every((c.temporal_restart_every,) * 2, self.restart_temporal)))

    async def _random_kill(self) -> None:
        await self.kill_worker("worker SIGKILL")

    async def stop(self) -> None:
        self._stop.set()
        async with self._lock:  # let a restart in progress finish: the stack must be whole afterwards
            pass
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ensure_running()

    async def _every(self, spread: tuple[float, float], action: Callable[[], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.rng.uniform(*spread))
            if not self._stop.is_set():
                await action()

    async def kill_worker(self, kind: str) -> None:
        async with self._lock:
            if self._stop.is_set():
                return
            began = time.monotonic()
            self.stack.sigkill("worker")
            self.counts[kind] += 1
            await asyncio.sleep(self.rng.uniform(*self.cfg.worker_down))
            self.stack.spawn("worker")
            await self._ready("worker", kind, began)

    async def restart_api(self) -> None:
        await self._restart("api", "API restart")

    async def restart_temporal(self) -> None:
        await self._restart("temporal", "Temporal dev server restart")

    async def _restart(self, name: str, kind: str) -> None:
        async with self._lock:
            if self._stop.is_set():
                return
            began = time.monotonic()
            self.stack.terminate(name)
            self.counts[kind] += 1
            self.stack.spawn(name)
            await self._ready(name, kind, began)

    async def _ready(self, name: str, kind: str, began: float) -> None:
        try:
            await self.stack.wait_ready(name)
        except Exception as exc:  # recorded and re-raised by ensure_running at the end
            self.errors.append(f"{name}: {exc}")
        self.journal.append((began - self._t0, kind, time.monotonic() - began))

    def downtime(self) -> dict[str, dict[str, float]]:
        """Per kind of action: how many, and the median and longest seconds until the process was ready again."""
        out: dict[str, dict[str, float]] = {}
        for kind in sorted({k for _, k, _ in self.journal}):
            took = sorted(d for _, k, d in self.journal if k == kind)
            out[kind] = {"count": len(took), "median_s": round(took[len(took) // 2], 1), "max_s": round(took[-1], 1)}
        return out

    async def ensure_running(self) -> None:
        for name in ("temporal", "worker", "api"):
            p = self.stack.proc(name)
            if p.proc is None or p.proc.poll() is not None:
                self.stack.spawn(name)
                self.counts[f"{name} found dead and restarted"] += 1
            await self.stack.wait_ready(name)
