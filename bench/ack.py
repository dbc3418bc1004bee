"""Figure 2 — webhook ack latency, open loop: the API's p50/p99 at half the raw floor's capacity vs the raw
client's p99 at the same load; then the largest offered load at which the API's p99 stays under 1 s.

The floor capacity comes from a short closed-loop raw signal-with-start run (figure 1's floor) unless given.
Latency counts from each request's scheduled start (open loop), so queueing is not hidden. Worker stopped.
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console

from bench.cli import figure_main
from bench.drivers import RawDriver, WebhookDriver
from bench.ingest import measure
from bench.load import LoadResult, open_loop
from bench.stack import Stack
from bench.stats import Row, fmt_ms, fmt_rate, median, percentile, verdict

SLACK = 0.010  # API p99 may exceed raw p99 by 10 ms
LADDER = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
LADDER_FLOOR = 0.1  # below this fraction of the floor, stop looking


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--duration", type=float, default=60.0, help="seconds at half the floor (default 60)")
    p.add_argument("--step-duration", type=float, default=8.0, help="seconds per ladder step (default 8)")
    p.add_argument("--floor-n", type=int, default=300, help="raw calls to measure the floor (default 300)")
    return p


async def figure(stack: Stack, args: argparse.Namespace, console: Console, floor: float | None = None) -> list[Row]:
    await stack.stop_proc("worker")
    if floor is None:
        _, raw_rates = await measure(stack, args.floor_n, 16, 1, console)
        floor = median(raw_rates)
    rate = floor / 2
    client = await stack.client()
    api, raw = WebhookDriver(stack), RawDriver(stack, client)

    async def via_api(i: int) -> None:
        await api.send(stack.new_contact(), "Hi! What are your opening hours?")

    async def via_raw(i: int) -> None:
        await raw.send(stack.new_contact(), "Hi! What are your opening hours?")

    try:
        # Warm-up at the same rate (HTTP connections, gRPC channel), not measured.
        await open_loop(via_api, rate, 2.0)
        await open_loop(via_raw, rate, 2.0)
        # Alternating blocks, so a change in the machine's background load hits both sides alike.
        a = r = None
        blocks = 3
        for _ in range(blocks):
            a = _merge(a, await open_loop(via_api, rate, args.duration / blocks))
            r = _merge(r, await open_loop(via_raw, rate, args.duration / blocks))
        assert a is not None and r is not None
        console.print(
            f"  ack at {rate:.1f}/s for {args.duration:.0f} s: API p50 {fmt_ms(percentile(a.latencies, 50))} "
            f"p99 {fmt_ms(percentile(a.latencies, 99))} ({a.errors} errors); raw p99 "
            f"{fmt_ms(percentile(r.latencies, 99))} ({r.errors} errors)"
        )
        best = math.nan
        ladder: dict[str, float] = {}
        steps = list(LADDER)
        while steps:
            k = steps.pop(0)
            offered = floor * k
            step = await open_loop(via_api, offered, args.step_duration)
            p99 = percentile(step.latencies, 99) if not step.errors else math.inf
            ladder[f"{offered:.1f}"] = p99
            console.print(f"  ladder {offered:.1f}/s: p99 {fmt_ms(p99)} errors {step.errors}")
            if p99 < 1.0:
                best = offered
            elif math.isnan(best) and k > LADDER_FLOOR:
                steps = [k / 2]  # not even the first step held: look below it
            else:
                break
    finally:
        await api.close()
    a50, a99, r99 = percentile(a.latencies, 50), percentile(a.latencies, 99), percentile(r.latencies, 99)
    ok = a99 <= r99 + SLACK and a.errors == 0
    return [
        Row(
            figure="2 ack latency",
            metric=(
                f"API ack p50 / p99, open loop {rate:.1f}/s (½ floor), {args.duration:.0f} s in 3 alternating blocks"
            ),
            value=f"{fmt_ms(a50)} / {fmt_ms(a99)}",
            anchor=f"raw client p99 {fmt_ms(r99)}",
            ratio=f"{(a99 - r99) * 1000:+.0f} ms",
            target="≤ raw p99 + 10 ms",
            verdict=verdict(ok),
            raw={
                "rate": rate,
                "api_p50": a50,
                "api_p99": a99,
                "raw_p50": percentile(r.latencies, 50),
                "raw_p99": r99,
                "api_errors": a.errors,
                "raw_errors": r.errors,
                "floor": floor,
            },
        ),
        Row(
            figure="2 ack latency",
            metric="largest offered load with API p99 < 1 s (steps × floor)",
            value=fmt_rate(best),
            anchor=f"raw floor {fmt_rate(floor)}",
            ratio=f"{best / floor:.2f}× floor" if not math.isnan(best) else "",
            raw={"ladder_p99": ladder},
        ),
    ]


def _merge(acc: LoadResult | None, new: LoadResult) -> LoadResult:
    if acc is None:
        return new
    return LoadResult(
        done=acc.done + new.done,
        errors=acc.errors + new.errors,
        elapsed=acc.elapsed + new.elapsed,
        latencies=acc.latencies + new.latencies,
        first_error=acc.first_error or new.first_error,
    )


if __name__ == "__main__":
    figure_main("ack", figure, add_args, __doc__)
