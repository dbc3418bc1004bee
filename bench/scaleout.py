"""Figure 7 — scale-out: turn throughput with one service worker process, then with two on the same server.

Each configuration gets fresh conversations (a conversation's workflow tasks stick to the worker that has it
cached, so reusing the first set would keep the second worker idle): open them, then every conversation sends
again as soon as its reply arrives, for `--duration` s. Sessions opened/s is reported as well.
"""

from __future__ import annotations

import argparse
import math
import time

from rich.console import Console

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher, open_sessions, sustained
from bench.stack import Stack
from bench.stats import Row, fmt_ms, fmt_rate, percentile


async def one_config(stack: Stack, contacts: Contacts, n: int, duration: float) -> dict[str, float]:
    people = [stack.new_contact() for _ in range(n)]
    t0 = time.perf_counter()
    _, errors = await open_sessions(contacts, people, concurrency=min(n, 16))
    opened = n / (time.perf_counter() - t0)
    tput, lat, serr = await sustained(contacts.turn, people, duration, in_flight=len(people))
    return {
        "turns_per_s": tput,
        "p50": percentile(lat, 50),
        "sessions_per_s": opened,
        "errors": errors + serr,
    }


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    await stack.raise_ai_capacity(1000)
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        one = await one_config(stack, contacts, args.n, args.duration)
        console.print(f"  1 worker: {one}")
        await stack.spawn_worker("worker-2")
        two = await one_config(stack, contacts, args.n, args.duration)
        console.print(f"  2 workers: {two}")
        await contacts.close()
    ratio = two["turns_per_s"] / one["turns_per_s"] if one["turns_per_s"] else math.nan
    return [
        Row(
            figure="7 scale-out",
            metric=f"turns/s with 2 worker processes ({args.n} conversations, {args.duration:.0f} s)",
            value=f"{fmt_rate(two['turns_per_s'])} (p50 {fmt_ms(two['p50'])})",
            anchor=f"1 worker {fmt_rate(one['turns_per_s'])} (p50 {fmt_ms(one['p50'])})",
            ratio=f"{ratio:.2f}×",
            target="> 1 (scales out)",
            verdict="pass" if ratio > 1.05 else "short",
            raw={"one": one, "two": two},
        ),
        Row(
            figure="7 scale-out",
            metric="sessions opened/s, 2 workers",
            value=fmt_rate(two["sessions_per_s"]),
            anchor=f"1 worker {fmt_rate(one['sessions_per_s'])}",
            ratio=f"{two['sessions_per_s'] / one['sessions_per_s']:.2f}×",
        ),
    ]


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=64, help="conversations per configuration (default 64)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of closed loop (default 20)")
    return p


if __name__ == "__main__":
    figure_main(
        "scaleout",
        figure,
        add_args(
            argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        ),
    )
