"""Figure 3 — turn throughput and latency: contact message (sandbox) → AI reply in the contact's inbox, rules
backend, N conversations; against the naive floor (a minimal workflow answering a signal with one activity,
its own worker process, same server, same run).

Phases, each for both the service and the floor: open the N conversations (first message; for the service this
also opens the Flex session and is reported apart: a few conversations one at a time, then all the others at
once), then messages paced at `--rate` (default 20/s), then the sustained maximum (every conversation sends again
as soon as its reply arrives). The service's first replies are compared with its steady turns: unloaded with the
unloaded turn, all at once with a steady turn of every conversation at once.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time

from aiohttp import web
from rich.console import Console

from bench.cli import figure_main
from bench.conversations import (
    Contacts,
    ReplyWatcher,
    TurnFn,
    open_sessions,
    paced,
    reservations_accepted,
    sessions_opened,
    sustained,
)
from bench.floor_workflow import FLOOR_SIGNAL, FLOOR_TASK_QUEUE, FLOOR_WORKFLOW
from bench.stack import Stack, cpu_per
from bench.stats import Row, fmt_ms, fmt_rate, percentile, verdict
from cli.net import free_port

TARGET = 0.8  # sustained turns/s against the floor's
UNLOADED_TARGET = 1.5  # unloaded turn p50 against the floor's, at most
FIRST_REPLY_TARGET = 1.5  # first reply p50 against a steady turn's p50 under the same load, at most
FIRST_ALONE = 5  # conversations opened one at a time (the unloaded first reply)


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=500, help="conversations (default 500)")
    p.add_argument("--rate", type=float, default=20.0, help="paced messages/s (default 20)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds per phase (default 30)")
    p.add_argument("--in-flight", type=int, default=32, help="conversations awaiting a reply at once, sustained phase")
    return p


class Floor:
    """N floor workflows, a sink the floor activity POSTs to, and a turn function timed like the service's."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.seq: dict[str, int] = {}
        self.port = free_port("127.0.0.1")
        self.runner: web.AppRunner | None = None

    async def _sink(self, request: web.Request) -> web.Response:
        data = await request.json()
        fut = self.waiters.pop(data["workflow_id"], None)
        if fut is not None and not fut.done():
            fut.set_result(time.perf_counter())
        return web.Response(text="ok")

    async def start(self, n: int) -> list[str]:
        app = web.Application()
        app.router.add_post("/reply", self._sink)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        await self.stack.spawn("floor-worker", [sys.executable, "-m", "bench.floor_worker"])
        client = await self.stack.client()
        ids = [f"bench-floor-{self.stack.new_contact()}" for _ in range(n)]
        sink = f"http://127.0.0.1:{self.port}/reply"
        for i in range(0, n, 50):
            await asyncio.gather(
                *(
                    client.start_workflow(FLOOR_WORKFLOW, sink, id=w, task_queue=FLOOR_TASK_QUEUE)
                    for w in ids[i : i + 50]
                )
            )
        return ids

    async def turn(self, workflow_id: str) -> float:
        client = await self.stack.client()
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[workflow_id] = fut
        seq = self.seq.get(workflow_id, 0) + 1
        self.seq[workflow_id] = seq
        t0 = time.perf_counter()
        await client.get_workflow_handle(workflow_id).signal(FLOOR_SIGNAL, seq)
        try:
            return await asyncio.wait_for(fut, 30) - t0
        finally:
            self.waiters.pop(workflow_id, None)

    async def stop(self) -> None:
        await self.stack.stop_proc("floor-worker")
        if self.runner:
            await self.runner.cleanup()


async def measure_service(
    stack: Stack, n: int, rate: float, duration: float, console: Console, in_flight: int = 32
) -> dict[str, object]:
    async with ReplyWatcher(stack) as watcher:
        contacts_ = Contacts(stack, watcher)
        contacts = [stack.new_contact() for _ in range(n + FIRST_ALONE)]
        accepted = await reservations_accepted(stack)
        alone, _ = await open_sessions(contacts_, contacts[:FIRST_ALONE], concurrency=1)
        await sessions_opened(stack, accepted + FIRST_ALONE)
        turn: TurnFn = contacts_.turn
        # Unloaded: one conversation, one message at a time (what a single contact sees on a quiet system).
        quiet = [await turn(contacts[0]) for _ in range(8)]
        console.print(f"  service unloaded turn p50 {fmt_ms(percentile(quiet, 50))}")
        t0 = time.perf_counter()
        first, first_err = await open_sessions(contacts_, contacts[FIRST_ALONE:], concurrency=n)
        opened = time.perf_counter() - t0
        console.print(
            f"  service: first reply alone p50 {fmt_ms(percentile(alone, 50))}; {n} conversations opened at once in"
            f" {opened:.1f} s (first reply p50 {fmt_ms(percentile(first, 50))}, {first_err} errors)"
        )
        await sessions_opened(stack, accepted + FIRST_ALONE + n)
        contacts = contacts[FIRST_ALONE:]
        # The same load as the opening burst, on open conversations: every one sends at once.
        burst, burst_err = await open_sessions(contacts_, contacts, concurrency=n, body="How long does shipping take?")
        console.print(f"  service: {n} steady turns at once p50 {fmt_ms(percentile(burst, 50))} ({burst_err} errors)")
        lat, err, skipped = await paced(turn, contacts, rate, duration)
        console.print(
            f"  service paced {rate}/s: p50 {fmt_ms(percentile(lat, 50))} p99 {fmt_ms(percentile(lat, 99))}"
            f" ({len(lat)} turns, {err} errors, {skipped} offers without an idle conversation)"
        )
        cpu0 = stack.cpu_snapshot()
        tput, slat, serr = await sustained(turn, contacts, duration, in_flight)
        cpu = cpu_per(cpu0, stack.cpu_snapshot(), tput * duration)
        console.print(
            f"  service sustained: {tput:.1f} turns/s p50 {fmt_ms(percentile(slat, 50))} ({serr} errors);"
            f" CPU ms per turn by process: {cpu}"
        )
        await contacts_.close()
    return {
        "open_seconds": opened,
        "first_p50": percentile(first, 50),
        "first_p99": percentile(first, 99),
        "first_alone_p50": percentile(alone, 50),
        "burst_p50": percentile(burst, 50),
        "burst_p99": percentile(burst, 99),
        "paced_p50": percentile(lat, 50),
        "paced_p99": percentile(lat, 99),
        "unloaded_p50": percentile(quiet, 50),
        "paced_errors": err,
        "paced_skipped": skipped,
        "sustained": tput,
        "sustained_p50": percentile(slat, 50),
        "sustained_errors": serr,
        "cpu_ms_per_turn": cpu,
    }


async def measure_floor(
    stack: Stack, n: int, rate: float, duration: float, console: Console, in_flight: int = 32
) -> dict[str, object]:
    floor = Floor(stack)
    try:
        ids = await floor.start(n)
        await asyncio.gather(*(floor.turn(w) for w in ids))  # warm-up: every workflow cached, connections open
        quiet = [await floor.turn(ids[0]) for _ in range(8)]
        lat, err, skipped = await paced(floor.turn, ids, rate, duration)
        cpu0 = stack.cpu_snapshot()
        tput, slat, serr = await sustained(floor.turn, ids, duration, in_flight)
        cpu = cpu_per(cpu0, stack.cpu_snapshot(), tput * duration)
        console.print(
            f"  floor paced {rate}/s: p50 {fmt_ms(percentile(lat, 50))} p99 {fmt_ms(percentile(lat, 99))};"
            f" sustained {tput:.1f}/s p50 {fmt_ms(percentile(slat, 50))} ({err + serr} errors);"
            f" CPU ms per turn by process: {cpu}"
        )
    finally:
        await floor.stop()
    return {
        "paced_p50": percentile(lat, 50),
        "paced_p99": percentile(lat, 99),
        "unloaded_p50": percentile(quiet, 50),
        "sustained": tput,
        "sustained_p50": percentile(slat, 50),
        "errors": err + serr,
        "paced_skipped": skipped,
        "cpu_ms_per_turn": cpu,
    }


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    await stack.raise_ai_capacity(1000)  # connect's 50 would leave conversations past the 50th unanswered
    svc = await measure_service(stack, args.n, args.rate, args.duration, console, args.in_flight)
    flo = await measure_floor(stack, args.n, args.rate, args.duration, console, args.in_flight)
    return rows(svc, flo, args)


def rows(svc: dict[str, object], flo: dict[str, object], args: argparse.Namespace) -> list[Row]:
    def f(d: dict[str, object], k: str) -> float:
        v = d.get(k)
        return float(v) if isinstance(v, (int, float)) else math.nan

    ratio = f(svc, "sustained") / f(flo, "sustained") if f(flo, "sustained") else math.nan
    unloaded = f(svc, "unloaded_p50") / f(flo, "unloaded_p50")
    first_alone = f(svc, "first_alone_p50") / f(svc, "unloaded_p50")
    first_burst = f(svc, "first_p50") / f(svc, "burst_p50")
    cpu_s, cpu_f = svc.get("cpu_ms_per_turn"), flo.get("cpu_ms_per_turn")
    server = (
        (float(cpu_s.get("temporal", math.nan)), float(cpu_f.get("temporal", math.nan)))
        if isinstance(cpu_s, dict) and isinstance(cpu_f, dict)
        else (math.nan, math.nan)
    )
    return [
        Row(
            figure="3 turns",
            metric=(
                f"sustained turns/s, {args.n} open conversations, {args.in_flight} in flight, {args.duration:.0f} s"
            ),
            value=fmt_rate(f(svc, "sustained")),
            anchor=f"naive floor {fmt_rate(f(flo, 'sustained'))}",
            ratio=f"{ratio:.2f}",
            target=f"≥ {TARGET:g}",
            verdict=verdict(ratio >= TARGET),
            raw={"service": svc, "floor": flo},
        ),
        Row(
            figure="3 turns",
            metric=f"turn p50 / p99 at {args.rate:g} msg/s offered",
            value=f"{fmt_ms(f(svc, 'paced_p50'))} / {fmt_ms(f(svc, 'paced_p99'))}",
            anchor=f"floor {fmt_ms(f(flo, 'paced_p50'))} / {fmt_ms(f(flo, 'paced_p99'))}",
            ratio=f"{f(svc, 'paced_p50') / f(flo, 'paced_p50'):.1f}× p50",
        ),
        Row(
            figure="3 turns",
            metric="turn p50 unloaded (one conversation, one message at a time)",
            value=fmt_ms(f(svc, "unloaded_p50")),
            anchor=f"floor {fmt_ms(f(flo, 'unloaded_p50'))}",
            ratio=f"{unloaded:.2f}×",
            target=f"≤ {UNLOADED_TARGET:g}×",
            verdict=verdict(unloaded <= UNLOADED_TARGET),
        ),
        Row(
            figure="3 turns",
            metric="CPU ms per turn, by process (sustained phase)",
            value=_cpu_text(svc.get("cpu_ms_per_turn")),
            anchor=f"floor: {_cpu_text(flo.get('cpu_ms_per_turn'))}",
            ratio=f"dev server {server[0] / server[1]:.2f}× the floor's",
        ),
        Row(
            figure="3 turns",
            metric=f"first reply p50 unloaded ({FIRST_ALONE} conversations opened one at a time)",
            value=fmt_ms(f(svc, "first_alone_p50")),
            anchor=f"steady turn unloaded {fmt_ms(f(svc, 'unloaded_p50'))}",
            ratio=f"{first_alone:.2f}×",
            target=f"≤ {FIRST_REPLY_TARGET:g}×",
            verdict=verdict(first_alone <= FIRST_REPLY_TARGET),
        ),
        Row(
            figure="3 turns",
            metric=f"first reply p50 / p99, {args.n} conversations opening at once",
            value=f"{fmt_ms(f(svc, 'first_p50'))} / {fmt_ms(f(svc, 'first_p99'))}",
            anchor=(
                f"{args.n} steady turns at once {fmt_ms(f(svc, 'burst_p50'))} / {fmt_ms(f(svc, 'burst_p99'))};"
                f" all opened in {f(svc, 'open_seconds'):.1f} s"
            ),
            ratio=f"{first_burst:.2f}× p50",
            target=f"≤ {FIRST_REPLY_TARGET:g}×",
            verdict=verdict(first_burst <= FIRST_REPLY_TARGET),
        ),
    ]


def _cpu_text(cpu: object) -> str:
    if not isinstance(cpu, dict):
        return "n/a"
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v >= 0.5)


if __name__ == "__main__":
    figure_main("turns", figure, add_args, __doc__)
