"""Figure 1 — ingest ratio: signed WhatsApp webhooks/s through the API ÷ raw signal-with-start/s (SDK).

Both sides start a new conversation per message (the costly case: signal-with-start creating the workflow),
closed loop with the same concurrency, alternating order over repeats; the service worker is stopped so
both measure ingest only (workflow processing would otherwise compete for the same 2 cores unevenly).
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console

from bench.cli import figure_main
from bench.drivers import RawDriver, WebhookDriver
from bench.load import LoadResult, closed_loop
from bench.stack import Stack, cpu_per
from bench.stats import Row, fmt_rate, median, verdict

TARGET = 0.85


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=500, help="messages per measurement (default 500)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    return p


async def measure(
    stack: Stack,
    n: int,
    concurrency: int,
    repeats: int,
    console: Console,
    cpu_out: dict[str, list[dict[str, float]]] | None = None,
) -> tuple[list[float], list[float]]:
    """Median-able lists of (api rates, raw rates), one per repeat."""
    client = await stack.client()
    api, raw = WebhookDriver(stack), RawDriver(stack, client)
    api_rates: list[float] = []
    raw_rates: list[float] = []
    cpu_by_side: dict[str, list[dict[str, float]]] = cpu_out if cpu_out is not None else {}

    async def via_api(i: int) -> None:
        await api.send(stack.new_contact(), "Hi! What are your opening hours?")

    async def via_raw(i: int) -> None:
        await raw.send(stack.new_contact(), "Hi! What are your opening hours?")

    try:
        await closed_loop(via_api, min(50, n), concurrency)  # warm both paths (connections, JIT caches)
        await closed_loop(via_raw, min(50, n), concurrency)
        for r in range(repeats):
            order = [("api", via_api), ("raw", via_raw)]
            if r % 2:
                order.reverse()
            for label, op in order:
                cpu0 = stack.cpu_snapshot()
                res: LoadResult = await closed_loop(op, n, concurrency)
                cpu = cpu_per(cpu0, stack.cpu_snapshot(), res.done)
                if res.errors:
                    console.print(f"[yellow]{label}: {res.errors} errors, first: {res.first_error}[/yellow]")
                (api_rates if label == "api" else raw_rates).append(res.rate)
                cpu_by_side.setdefault(label, []).append(cpu)
                console.print(
                    f"  ingest {label} repeat {r + 1}: {res.rate:.1f}/s ({res.done} in {res.elapsed:.1f} s);"
                    f" CPU ms per message: {cpu}"
                )
    finally:
        await api.close()
    return api_rates, raw_rates


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    await stack.stop_proc("worker")
    cpu: dict[str, list[dict[str, float]]] = {}
    api_rates, raw_rates = await measure(stack, args.n, args.concurrency, args.repeats, console, cpu)
    out = rows(api_rates, raw_rates, args)
    api_cpu = median([c.get("api", 0.0) for c in cpu.get("api", [])])
    temporal_api = median([c.get("temporal", 0.0) for c in cpu.get("api", [])])
    temporal_raw = median([c.get("temporal", 0.0) for c in cpu.get("raw", [])])
    out.append(
        Row(
            figure="1 ingest",
            metric="CPU ms per message: API process / dev server (API path)",
            value=f"{api_cpu:.1f} / {temporal_api:.1f}",
            anchor=f"dev server on the raw path {temporal_raw:.1f}",
            raw={"cpu": cpu},
        )
    )
    return out


def rows(api_rates: list[float], raw_rates: list[float], args: argparse.Namespace) -> list[Row]:
    api, raw = median(api_rates), median(raw_rates)
    ratio = api / raw if raw else math.nan
    return [
        Row(
            figure="1 ingest",
            metric=f"webhooks/s via API (n={args.n}, c={args.concurrency}, median of {args.repeats})",
            value=fmt_rate(api),
            anchor=f"raw signal-with-start {fmt_rate(raw)}",
            ratio=f"{ratio:.2f}",
            target=f"≥ {TARGET}",
            verdict=verdict(ratio >= TARGET),
            raw={"api_rates": api_rates, "raw_rates": raw_rates, "ratio": ratio},
        )
    ]


if __name__ == "__main__":
    figure_main("ingest", figure, add_args, __doc__)
