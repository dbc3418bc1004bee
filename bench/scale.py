"""Figure 6 — scale: the service worker's RSS and CPU with N open conversations (each waiting on its 24 h window
timer, all in the worker's cache), and what an evicted conversation costs to bring back (replay).

The worker runs with the SDK's default cache (max_cached_workflows = 1000; worker.py does not set it). The
memory per cached conversation measured here decides the cache size a 1 GiB worker can afford.
Replay: one conversation is grown to `--history-turns` turns; its history is replayed with the SDK Replayer
(time per event → time at the largest history before continue-as-new), and the real thing is timed too: the
worker is restarted (cache empty) and that conversation's next turn is compared with its warm turns.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time

from rich.console import Console
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher, open_sessions, reservations_accepted, sessions_opened
from bench.stack import Stack, read_proc_stats
from bench.stats import Row, fmt_ms, percentile, verdict
from cli.sandbox_setup import SANDBOX_ORG
from contracts.ids import workflow_id
from payload_encryption.converter import build_data_converter
from worker import workflow_runner

GIB = 1024**3
SDK_DEFAULT_CACHE = 1000
# The dev server's default `limit.historyCount.suggestContinueAsNew`: the largest history a run reaches.
SUGGEST_CAN_EVENTS = 4 * 1024
# ... and its `limit.historySize.suggestContinueAsNew`, whichever comes first.
SUGGEST_CAN_BYTES = 4 * 1024 * 1024
PER_CONVERSATION_TARGET = 100 * 1024  # bytes of worker memory per cached conversation, at most
REPLAY_TARGET = 0.5  # seconds to replay the longest history a run reaches
LONG_CONVERSATION = 1000  # messages: how many runs (continue-as-new) such a conversation takes
IDLE_SECONDS = 10.0
# One AI TaskRouter worker holds at most this many sessions (sandbox and Twilio per-channel maximum; connect
# sets 50). More open conversations than this need more AI workers: the figure stays within it.
AI_CAPACITY = 1000


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=990, help="open conversations (default 990: + 6 helpers = the AI capacity)")
    p.add_argument("--concurrency", type=int, default=24, help="conversations opened in parallel")
    p.add_argument("--history-turns", type=int, default=30, help="turns of the long conversation (default 30)")
    return p


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    pid = stack.pid("worker")
    await stack.raise_ai_capacity(AI_CAPACITY)
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        # Warm the worker first (imports, AI models, clients) so the baseline is a working worker.
        accepted = await reservations_accepted(stack)
        warm = [stack.new_contact() for _ in range(5)]
        await open_sessions(contacts, warm, concurrency=5)
        await sessions_opened(stack, accepted + len(warm))
        rss0, cpu0 = read_proc_stats(pid)
        people = [stack.new_contact() for _ in range(args.n)]
        t0 = time.perf_counter()
        lat, errors = await open_sessions(contacts, people, concurrency=args.concurrency)
        await sessions_opened(stack, accepted + len(warm) + args.n - errors, within=600)
        opened_in = time.perf_counter() - t0
        rss1, cpu1 = read_proc_stats(pid)
        await asyncio.sleep(IDLE_SECONDS)
        rss2, cpu2 = read_proc_stats(pid)
        console.print(
            f"  {args.n} conversations opened in {opened_in:.0f} s ({errors} errors); worker RSS "
            f"{rss0 / 2**20:.0f} → {rss2 / 2**20:.0f} MiB; CPU {cpu1 - cpu0:.1f} s opening, "
            f"{cpu2 - cpu1:.2f} s in {IDLE_SECONDS:.0f} s idle"
        )
        # Replay cost of a long conversation.
        long = stack.new_contact()
        await open_sessions(contacts, [long], concurrency=1)
        warm_turns = [await contacts.turn(long) for _ in range(args.history_turns)]
        handle = (await stack.client()).get_workflow_handle(workflow_id(SANDBOX_ORG, stack.business, long))
        history: WorkflowHistory = await handle.fetch_history()
        replayer = Replayer(
            workflows=[_workflow_class()], data_converter=build_data_converter(None), workflow_runner=workflow_runner()
        )
        # The whole history and its first half: the difference is the cost per event, without the fixed cost of
        # a replay (what extrapolating to the longest run needs).
        half = _first_half(history)
        times: list[float] = []
        half_times: list[float] = []
        for _ in range(3):
            for h, out in ((history, times), (half, half_times)):
                t = time.perf_counter()
                await replayer.replay_workflow(h)
                out.append(time.perf_counter() - t)
        replay = statistics.median(times)
        events = len(history.events)
        per_event = max(replay - statistics.median(half_times), 0.0) / (events - len(half.events))
        history_bytes = sum(e.ByteSize() for e in history.events)
        await stack.restart_worker()
        cold = await contacts.turn(long)
        await contacts.close()
    per_conv = max(rss2 - rss0, 0) / args.n
    # RSS moves by tens of MiB on its own (allocator arenas, GC): with few conversations the growth can vanish
    # in it, and a figure of "0 KiB each" would claim an unlimited cache.
    measurable = per_conv > 0
    budget_cache = int((GIB - rss0) / per_conv) if measurable else 0
    # The longest run: until the event count or the size suggests continue-as-new (turns grow both evenly).
    run_events = min(SUGGEST_CAN_EVENTS, SUGGEST_CAN_BYTES / (history_bytes / events))
    at_can = replay + per_event * max(run_events - events, 0)
    turns_per_run = run_events / (events / (args.history_turns + 1))
    runs_long = math.ceil(LONG_CONVERSATION / turns_per_run)
    warm_p50 = statistics.median(warm_turns[-5:])
    projected_10k = rss0 + per_conv * min(10_000, SDK_DEFAULT_CACHE)
    return [
        Row(
            figure="6 scale",
            metric=f"worker RSS with {args.n} open conversations (all cached)",
            value=f"{rss2 / 2**20:.0f} MiB",
            anchor=f"baseline {rss0 / 2**20:.0f} MiB; {per_conv / 1024:.0f} KiB per cached conversation"
            if measurable
            else f"baseline {rss0 / 2**20:.0f} MiB; no growth above the noise: run with a larger --n",
            ratio=f"10,000 open, cache {SDK_DEFAULT_CACHE}: ≈{projected_10k / 2**20:.0f} MiB" if measurable else "",
            target="10,000 open ≤ 1 GiB",
            verdict=verdict(projected_10k <= GIB) if measurable else "not measured",
            raw={
                "n": args.n,
                "rss_baseline": rss0,
                "rss_after_open": rss1,
                "rss_idle": rss2,
                "per_conversation_bytes": per_conv,
                "open_seconds": opened_in,
                "open_errors": errors,
                "first_turn_p50": percentile(lat, 50),
            },
        ),
        Row(
            figure="6 scale",
            metric=f"worker CPU: opening {args.n} / idle {IDLE_SECONDS:.0f} s with them waiting on timers",
            value=f"{cpu1 - cpu0:.1f} s / {cpu2 - cpu1:.2f} s",
            anchor=f"{(cpu1 - cpu0) / args.n * 1000:.0f} ms CPU per conversation opened",
            raw={"cpu_open": cpu1 - cpu0, "cpu_idle": cpu2 - cpu1},
        ),
        Row(
            figure="6 scale",
            metric="cache size a 1 GiB worker affords (everything cached)",
            value=f"{budget_cache:,} conversations" if measurable else "not measured",
            anchor=f"SDK default in use: {SDK_DEFAULT_CACHE}",
            ratio="evicted ones replay on their next message",
            raw={"affordable_cache": budget_cache},
        ),
        Row(
            figure="6 scale",
            metric=f"replay of an evicted conversation ({events} events; the longest run before CAN)",
            value=f"{fmt_ms(replay)} ({fmt_ms(at_can)} at {run_events:,.0f})",
            anchor=f"next turn after worker restart {fmt_ms(cold)} vs warm p50 {fmt_ms(warm_p50)}",
            raw={
                "replay_seconds": replay,
                "events": events,
                "per_event": per_event,
                "cold_turn": cold,
                "warm_turns": warm_turns,
                "history_bytes": history_bytes,
                "run_events": run_events,
            },
            target=f"≤ {fmt_ms(REPLAY_TARGET)} at CAN",
            verdict=verdict(at_can <= REPLAY_TARGET),
        ),
        Row(
            figure="6 scale",
            metric=f"memory per cached conversation ({args.n} open)",
            value=f"{per_conv / 1024:.0f} KiB" if measurable else "not measured",
            anchor=f"a 1 GiB worker holds {budget_cache:,} warm" if measurable else "",
            target=f"≤ {PER_CONVERSATION_TARGET // 1024} KiB",
            verdict=verdict(per_conv <= PER_CONVERSATION_TARGET) if measurable else "not measured",
        ),
        Row(
            figure="6 scale",
            metric=f"runs (continue-as-new) of a {LONG_CONVERSATION:,}-message conversation",
            value=str(runs_long),
            anchor=(
                f"{events / (args.history_turns + 1):.1f} events and {history_bytes / (args.history_turns + 1):,.0f} B"
                f" per message; CAN at {SUGGEST_CAN_EVENTS:,} events or {SUGGEST_CAN_BYTES // 2**20} MiB"
            ),
            target="a handful (≤ 5)",
            verdict=verdict(runs_long <= 5),
        ),
    ]


def _first_half(history: WorkflowHistory) -> WorkflowHistory:
    """The history up to the workflow task completed nearest its middle."""
    completed = [
        i
        for i, e in enumerate(history.events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and i <= len(history.events) // 2
    ]
    return WorkflowHistory(history.workflow_id, history.events[: completed[-1] + 1])


def _workflow_class() -> type:
    from workflows.conversation import ConversationWorkflow

    return ConversationWorkflow


if __name__ == "__main__":
    figure_main("scale", figure, add_args, __doc__)
