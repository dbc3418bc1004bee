"""Closed- and open-loop load: the timing core shared by the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

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


async def closed_loop(op: Op, n: int, concurrency: int) -> LoadResult:
    """`n` operations by `concurrency` callers back to back; rate = completed / wall time."""
    next_i = 0
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None

    async def caller() -> None:
        nonlocal next_i, errors, first_error
        while next_i < n:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                await op(i)
            except Exception as exc:  # counted, the run goes on; the first one is shown
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                continue
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return LoadResult(
        done=len(latencies),
        errors=errors,
        elapsed=time.perf_counter() - start,
        latencies=latencies,
        first_error=first_error,
    )


async def open_loop(op: Op, rate: float, duration: float, op_timeout: float = 10.0) -> LoadResult:
    """Start operations on a fixed schedule (`rate`/s) whatever the answers do; latency counts from the
    scheduled start, so a stalled server cannot hide its queueing (no coordinated omission)."""
    total = max(1, int(rate * duration))
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors, first_error
        try:
            await asyncio.wait_for(op(i), op_timeout)
        except Exception as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
            return
        latencies.append(time.perf_counter() - scheduled)

    tasks = []
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    return LoadResult(
        done=len(latencies),
        errors=errors,
        elapsed=time.perf_counter() - start,
        latencies=latencies,
        first_error=first_error,
    )
