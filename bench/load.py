"""Closed- and open-loop load: the timing core shared by the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

Op = Callable[[int], Awaitable[None]]


class LoadResult(BaseModel):
    done: int
    errors: int
    elapsed: float
    latencies: list[float] = Field(default_factory=list)
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class _Tally:
    """One run's latencies of the operations that completed, and its failures: counted, the run goes on, the
    first one is shown."""

    start: float = field(default_factory=time.perf_counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def failed(self, exc: Exception) -> None:
        self.errors += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:300]

    def result(self) -> LoadResult:
        return LoadResult(
            done=len(self.latencies),
            errors=self.errors,
            elapsed=time.perf_counter() - self.start,
            latencies=self.latencies,
            first_error=self.first_error,
        )


async def closed_loop(op: Op, n: int, concurrency: int) -> LoadResult:
    """`n` operations by `concurrency` callers back to back; rate = completed / wall time."""
    next_i = 0
    tally = _Tally()

    async def caller() -> None:
        nonlocal next_i
        while next_i < n:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                await op(i)
            except Exception as exc:
                tally.failed(exc)
                continue
            tally.latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return tally.result()


async def open_loop(op: Op, rate: float, duration: float, op_timeout: float = 10.0) -> LoadResult:
    """Start operations on a fixed schedule (`rate`/s) whatever the answers do; latency counts from the
    scheduled start, so a stalled server cannot hide its queueing (no coordinated omission)."""
    total = max(1, int(rate * duration))

    async def one(i: int, scheduled: float) -> None:
        try:
            await asyncio.wait_for(op(i), op_timeout)
        except Exception as exc:
            tally.failed(exc)
            return
        tally.latencies.append(time.perf_counter() - scheduled)

    tasks = []
    tally = _Tally()
    for i in range(total):
        scheduled = tally.start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    return tally.result()
