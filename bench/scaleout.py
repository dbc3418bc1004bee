"""Figure 7 — scale-out: turn throughput with one service worker process, then two, then three on the same server.

Each configuration gets fresh conversations (a conversation's workflow tasks stick to the worker that has it
cached, so reusing the first set would keep the second worker idle): open them, then every conversation sends
again as soon as its reply arrives, for `--duration` s. Sessions opened/s is reported as well.

Two cases. CPU-bound: the rules backend, where every process of the stack competes for this machine's 2 cores,
so a second worker can only add contention. Slot-bound: the AI is a model that takes `--ai-delay` s to answer
(bench/llm_stub.py, through the service's real `openai` backend) and each worker runs `--slots` activities at
once; a turn holds its slot while the model thinks, as it would in production, so each worker adds slots.
"""

from __future__ import annotations

import argparse
import math
import time

from rich.console import Console

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher, open_sessions, reservations_accepted, sessions_opened, sustained
from bench.llm_stub import LlmStub
from bench.stack import Stack
from bench.stats import Row, fmt_ms, fmt_rate, percentile


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=64, help="conversations per configuration (default 64)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of closed loop (default 20)")
    p.add_argument("--ai-delay", type=float, default=1.0, help="slot-bound: the model's answer time (default 1 s)")
    p.add_argument("--slots", type=int, default=4, help="slot-bound: activity slots per worker (default 4)")
    p.add_argument("--slot-n", type=int, default=32, help="slot-bound: conversations per configuration (default 32)")
    return p


async def one_config(stack: Stack, contacts: Contacts, n: int, duration: float) -> dict[str, float]:
    people = [stack.new_contact() for _ in range(n)]
    accepted = await reservations_accepted(stack)
    t0 = time.perf_counter()
    _, errors = await open_sessions(contacts, people, concurrency=min(n, 16))
    await sessions_opened(stack, accepted + n - errors)
    opened = n / (time.perf_counter() - t0)
    tput, lat, serr = await sustained(contacts.turn, people, duration, in_flight=len(people))
    return {
        "turns_per_s": tput,
        "p50": percentile(lat, 50),
        "sessions_per_s": opened,
        "errors": errors + serr,
    }


WORKERS = (1, 2, 3)


async def by_workers(stack: Stack, n: int, duration: float, console: Console) -> list[dict[str, float]]:
    """One configuration per entry of WORKERS, adding a worker process between them."""
    await stack.raise_ai_capacity(1000)
    out: list[dict[str, float]] = []
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        for workers in WORKERS:
            if out:
                await stack.spawn_worker(f"worker-{workers}")
            got = await one_config(stack, contacts, n, duration)
            console.print(f"  {workers} worker(s): {got}")
            out.append(got)
        await contacts.close()
    return out


def _rows(kind: str, configs: list[dict[str, float]], anchor_extra: str, raw: dict[str, object]) -> list[Row]:
    one = configs[0]
    rows = []
    for workers, got in zip(WORKERS[1:], configs[1:], strict=True):
        ratio = got["turns_per_s"] / one["turns_per_s"] if one["turns_per_s"] else math.nan
        rows.append(
            Row(
                figure="7 scale-out",
                metric=f"{kind}: turns/s with {workers} worker processes",
                value=f"{fmt_rate(got['turns_per_s'])} (p50 {fmt_ms(got['p50'])})",
                anchor=f"1 worker {fmt_rate(one['turns_per_s'])} (p50 {fmt_ms(one['p50'])}){anchor_extra}",
                ratio=f"{ratio:.2f}×",
                target="> 1 (scales out)",
                verdict="pass" if ratio > 1.05 else "short",
                raw={**raw, "configs": configs, "workers": list(WORKERS)},
            )
        )
    return rows


async def slot_bound(args: argparse.Namespace, console: Console) -> list[Row]:
    """Its own stack: the org on the `openai` backend against the stand-in model, `--slots` per worker."""
    async with (
        LlmStub(args.ai_delay) as llm,
        Stack(
            console,
            label="scaleout-llm",
            org_settings={"ai_backend": "openai"},
            service_env={
                "WAFH_OPENAI_BASE_URL": llm.base_url,
                "WAFH_OPENAI_API_KEY": "bench-stand-in",
                "WAFH_ACTIVITY_THREADS": str(args.slots),
            },
        ) as stack,
    ):
        configs = await by_workers(stack, args.slot_n, args.duration, console)
        if not llm.calls:
            raise RuntimeError("the stand-in model was never asked: the org is not on the openai backend")
    ceiling = args.slots / args.ai_delay
    return _rows(
        f"slot-bound (model answers in {args.ai_delay:g} s, {args.slots} slots per worker,"
        f" {args.slot_n} conversations)",
        configs,
        f"; ceiling {fmt_rate(ceiling)} per worker",
        {"slots": args.slots, "ai_delay": args.ai_delay},
    )


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    configs = await by_workers(stack, args.n, args.duration, console)
    one = configs[0]
    return [
        *_rows(f"CPU-bound ({args.n} conversations, {args.duration:.0f} s)", configs, "", {}),
        Row(
            figure="7 scale-out",
            metric=f"sessions opened/s with {', '.join(str(w) for w in WORKERS[1:])} workers",
            value=", ".join(fmt_rate(c["sessions_per_s"]) for c in configs[1:]),
            anchor=f"1 worker {fmt_rate(one['sessions_per_s'])}",
        ),
    ]


async def both(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    return [*await figure(stack, args, console), *await slot_bound(args, console)]


if __name__ == "__main__":
    figure_main("scaleout", both, add_args, __doc__)
