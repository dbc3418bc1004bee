"""Figure 5 — Temporal Cloud actions per AI turn, per handoff, per relayed rep reply, timers per window,
counted from the history of a scripted conversation (see bench/history.py for what counts).

Also prints every step's breakdown and the timeline of one steady AI turn: its round trips to the server.
"""

from __future__ import annotations

import argparse
import statistics

from rich.console import Console
from rich.table import Table

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher
from bench.history import count, timeline
from bench.script import play
from bench.stack import Stack
from bench.stats import Row, verdict

TARGETS = {"AI turn": 3, "handoff": 8, "rep reply relayed": 2}
TURN_REST_TARGET = 3  # Twilio REST calls per steady AI turn
TURN_BYTES_TARGET = 4096  # history bytes per steady AI turn
WINDOW_TIMER_TARGET = 2


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    """The scripted conversation, step by step."""
    return await _measure(stack, args, console)


async def _measure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        script = await play(stack, contacts, args.turns, args.rep_replies)
        events = await script.events()
        await contacts.close()
        await script.close()
    segments = [count(events, name, first, last) for name, first, last in script.steps]
    rest = dict(zip([id(s) for s in segments], script.rest_calls, strict=False))
    table = Table(title=f"Actions per step ({script.workflow_id})")
    for col in (
        "step",
        "actions",
        "breakdown",
        "activities",
        "timers",
        "signals",
        "WFTs",
        "events",
        "Twilio REST",
    ):
        table.add_column(col, overflow="fold")
    for seg in segments:
        table.add_row(
            seg.name,
            str(seg.total),
            seg.breakdown(),
            ", ".join(seg.activities),
            ", ".join(seg.timers),
            ", ".join(seg.signals),
            str(seg.workflow_tasks),
            str(seg.events),
            f"{len(rest.get(id(seg), []))}: " + ", ".join(rest.get(id(seg), [])),
        )
    Console(width=max(console.width, 200), file=console.file).print(table)
    steady = [s for s in segments if s.name == "AI turn"]
    if steady:
        one = steady[len(steady) // 2]
        console.print(f"[bold]Timeline of one steady AI turn (events {one.first_event}–{one.last_event}):[/bold]")
        for ms, label in timeline(events, one.first_event, one.last_event):
            console.print(f"  +{ms:7.0f} ms  {label}")
    if steady:
        one = steady[len(steady) // 2]
        calls = rest.get(id(one), [])
        rows_rt = Row(
            figure="5 cost",
            metric="round trips of one steady AI turn",
            value=f"{one.workflow_tasks} workflow tasks, {len(one.activities)} activities, {len(one.signals)} signals",
            anchor=f"{len(calls)} Twilio REST calls: {', '.join(calls)}",
            ratio=f"{one.events} history events",
            raw={"rest_calls": calls},
        )
        rest_per_turn = statistics.median(len(rest.get(id(s), [])) for s in steady)
        bytes_per_turn = statistics.median(s.bytes for s in steady)
        turn_rows = [
            Row(
                figure="5 cost",
                metric=f"Twilio REST calls per steady AI turn (median of {len(steady)})",
                value=f"{rest_per_turn:g}",
                target=f"≤ {TURN_REST_TARGET}",
                verdict=verdict(rest_per_turn <= TURN_REST_TARGET),
            ),
            Row(
                figure="5 cost",
                metric=f"history bytes per steady AI turn (median of {len(steady)})",
                value=f"{bytes_per_turn:,.0f} B",
                anchor=f"{one.events} events; whole conversation {sum(e.ByteSize() for e in events):,} B",
                target=f"≤ {TURN_BYTES_TARGET:,} B",
                verdict=verdict(bytes_per_turn <= TURN_BYTES_TARGET),
            ),
        ]
    all_timers = [t for s in segments for t in s.timers]
    window_timers = [t for t in all_timers if "window" in t.lower()]
    rows: list[Row] = [rows_rt, *turn_rows] if steady else []
    for name, target in TARGETS.items():
        segs = [s for s in segments if s.name == name]
        if not segs:
            continue
        value = statistics.median(s.total for s in segs)
        rows.append(
            Row(
                figure="5 cost",
                metric=f"actions per {name} (median of {len(segs)})",
                value=f"{value:g}",
                anchor=segs[len(segs) // 2].breakdown(),
                target=f"≤ {target}",
                verdict=verdict(value <= target),
                raw={"segments": [s.model_dump() for s in segs]},
            )
        )
    handoff = [s for s in segments if s.name == "handoff"]
    if handoff and steady:
        turn = statistics.median(s.total for s in steady)
        rows.append(
            Row(
                figure="5 cost",
                metric="actions per handoff beyond the AI turn that decided it",
                value=f"{handoff[0].total - turn:g}",
                anchor="handoff step minus a steady AI turn (its message, AI, reply, statuses)",
                target="≤ 8",
                verdict=verdict(handoff[0].total - turn <= 8),
            )
        )
    rows.append(
        Row(
            figure="5 cost",
            metric="window timers started per 24 h window (whole conversation, 1 window)",
            value=str(len(window_timers)),
            anchor=f"all timers: {', '.join(all_timers) or 'none'}",
            target=f"≤ {WINDOW_TIMER_TARGET}",
            verdict=verdict(len(window_timers) <= WINDOW_TIMER_TARGET),
        )
    )
    others = [s for s in segments if s.name not in TARGETS]
    for s in others:
        rows.append(Row(figure="5 cost", metric=f"actions: {s.name}", value=str(s.total), anchor=s.breakdown()))
    rows.append(
        Row(
            figure="5 cost",
            metric="whole scripted conversation",
            value=str(sum(s.total for s in segments)),
            anchor=f"{len(events)} events; queries by the driver: {script.queries} (service: none)",
            raw={"steps": [s.model_dump() for s in segments]},
        )
    )
    return rows


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--turns", type=int, default=5, help="AI turns before the handoff (default 5)")
    p.add_argument("--rep-replies", type=int, default=3, help="rep replies relayed (default 3)")
    return p


if __name__ == "__main__":
    figure_main(
        "cost",
        figure,
        add_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)),
    )
