"""Figure 5 — Temporal Cloud actions per AI turn, per handoff, per relayed rep reply, timers per window,
counted from the history of a scripted conversation (see bench/history.py for what counts).

Also prints every step's breakdown and the timeline of one steady AI turn: its round trips to the server, and
what each of the features the contact and the rep see on top of the exchange adds to a conversation: the queue
updates, the typing indicator, the window warning (from the scripted conversation, with the org's defaults), a
transfer and the rating (CSAT, from a second conversation that has both).
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from rich.console import Console
from rich.table import Table
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher
from bench.history import Segment, count, timeline
from bench.script import Scripted, play
from bench.stack import Stack
from bench.stats import Row, verdict
from cli.sandbox_setup import RATING_BUTTONS
from contracts.policy import Csat
from contracts.signals import UPDATE_APPLY_POLICY, CommandOutcome, PolicyUpdate

TARGETS = {"AI turn": 3, "handoff": 8, "rep reply relayed": 2}
TURN_REST_TARGET = 3  # Twilio REST calls per steady AI turn
TURN_BYTES_TARGET = 4096  # history bytes per steady AI turn
WINDOW_TIMER_TARGET = 2


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--turns", type=int, default=5, help="AI turns before the handoff (default 5)")
    p.add_argument("--rep-replies", type=int, default=3, help="rep replies relayed (default 3)")
    return p


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    """The scripted conversation, step by step."""
    return await _measure(stack, args, console)


async def _measure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        script = await play(stack, contacts, args.turns, args.rep_replies)
        events = await script.events()
        featured = await _transfer_and_rating(stack, contacts)
        featured_events = await featured.events()
        await contacts.close()
        await script.close()
        await featured.close()
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
    rows += _feature_rows(
        events,
        script,
        segments,
        featured_events,
        [count(featured_events, name, first, last) for name, first, last in featured.steps],
    )
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


# What each feature's own steps are called in the history (their activities' and timers' summaries).
QUEUE_UPDATE = ("read the contact's place in the queue", "send queue position", "their place in the queue")
WINDOW_WARNING = ("warn the rep before the window closes",)
UPDATE = "You are number"
THANKS = "Thank you for your rating!"


def _summaries(events: list[HistoryEvent], first: int, last: int) -> list[str]:
    """The summary of each activity scheduled and each timer started in [first, last] (one per action)."""
    kinds = (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_TIMER_STARTED)
    out = []
    for ev in events:
        if first <= ev.event_id <= last and ev.event_type in kinds and ev.user_metadata.HasField("summary"):
            out.append(str(json.loads(ev.user_metadata.summary.data)))
    return out


def _of(events: list[HistoryEvent], segments: list[Segment], names: tuple[str, ...]) -> tuple[int, list[str]]:
    found = [x for seg in segments for x in _summaries(events, seg.first_event, seg.last_event)]
    mine = [x for x in found if any(n in x for n in names)]
    return len(mine), mine


async def _transfer_and_rating(stack: Stack, contacts: Contacts) -> Scripted:
    """A second conversation: AI turn; handoff while every rep is busy (the contact hears their place); a rep
    accepts and transfers it to another rep, who accepts and ends the task; the contact rates it. CSAT is turned
    on for this conversation alone (the org's `apply_policy` update), so the other figures are untouched."""
    s = Scripted(stack, contacts, stack.new_contact())
    entries = (await s.http.get("/_sandbox/record")).json()["entries"]
    s.record_seq = entries[-1]["seq"] if entries else 0
    await contacts.turn(s.contact)
    await s.settle("session open + AI turn")
    buttons = stack.seed.templates[RATING_BUTTONS]  # Great (csat_5) / OK (csat_3) / Poor (csat_1)
    policy = stack.org.policy().model_copy(
        update={"csat": Csat(enabled=True, quick_reply_content_sid=buttons, template_content_sid=None)}
    )
    await (await s.handle()).execute_update(
        UPDATE_APPLY_POLICY, PolicyUpdate(request_id="bench-csat-on", policy=policy), result_type=CommandOutcome
    )
    await s.settle("(setup: CSAT on for this conversation)")
    try:
        await _reps(s, "Offline")
        await contacts.send(s.contact, "I want to talk to a human agent, please.")
        await s.wait_for("the first queue update", lambda: _inbox(s, lambda m: str(m["body"]).startswith(UPDATE)))
        await s.settle("handoff while every rep is busy")
    finally:
        await _reps(s, "Available")
    rep, res = await s.wait_for("a reservation for a rep", s.reservation)
    await s.http.post(f"/_sandbox/reps/{rep}/reservations/{res['reservation_sid']}/accept")
    await s.settle("rep accepts")
    other = next(r.name for r in stack.seed.reps if r.name != rep)
    await s.http.post(f"/_sandbox/reps/{rep}/transfers", json={"task_sid": res["task_sid"], "to_worker": other})
    _, moved = await s.wait_for("the transferred task's reservation", s.reservation)
    await s.settle("transfer to another rep")
    await s.http.post(f"/_sandbox/reps/{other}/reservations/{moved['reservation_sid']}/accept")
    await s.settle("the other rep accepts")
    await s.http.post(f"/_sandbox/reps/{other}/tasks/{moved['task_sid']}/complete")
    await s.wait_for("the rating question", lambda: _inbox(s, lambda m: m.get("content_sid") == buttons))
    await s.settle("rep completes the task: rating asked")
    tapped = await s.http.post(f"/_sandbox/contacts/{s.contact}/tap", json={"button": 1})
    tapped.raise_for_status()
    await s.wait_for("the thank-you", lambda: _inbox(s, lambda m: m.get("body") == THANKS))
    await s.settle("contact rates")
    return s


async def _inbox(s: Scripted, match: Any) -> bool:
    messages = (await s.http.get(f"/_sandbox/contacts/{s.contact}/inbox")).json()["messages"]
    return any(match(m) for m in messages)


async def _reps(s: Scripted, activity: str) -> None:
    for rep in s.stack.seed.reps:
        await s.http.post(f"/_sandbox/reps/{rep.name}/activity", json={"activity": activity})


def _feature_rows(
    events: list[HistoryEvent],
    script: Scripted,
    segments: list[Segment],
    featured_events: list[HistoryEvent],
    featured: list[Segment],
) -> list[Row]:
    """What each feature adds to one conversation, in actions."""

    def named(segs: list[Segment], name: str) -> list[Segment]:
        return [s for s in segs if s.name == name]

    def feature(metric: str, value: str, anchor: str) -> Row:
        return Row(figure="5 cost", metric=f"feature: {metric}", value=value, anchor=anchor)

    rows = []
    free, free_names = _of(events, named(segments, "handoff"), QUEUE_UPDATE)
    busy, busy_names = _of(featured_events, named(featured, "handoff while every rep is busy"), QUEUE_UPDATE)
    rows.append(
        feature(
            "queue updates, actions per handoff",
            f"+{free} (a rep free at once) / +{busy} (every rep busy)",
            f"free: {', '.join(free_names)}; busy: {', '.join(busy_names)}; each later update +3, at most 3",
        )
    )
    steady = named(segments, "AI turn")
    calls = script.rest_calls[segments.index(steady[len(steady) // 2])] if steady else []
    typing = [c for c in calls if "Indicators/Typing" in c]
    rows.append(
        feature(
            "typing indicator, actions per AI turn",
            "+0",
            f"a step of the turn's own activity: {', '.join(typing) or 'no typing call seen'}",
        )
    )
    warned, _ = _of(events, named(segments, "rep accepts"), WINDOW_WARNING)
    rows.append(
        feature(
            "window warning, actions per rep's window",
            f"+{warned} now, +2 when it fires",
            "its timer when a rep takes the conversation; a notice post at T-60 min and one at the close",
        )
    )
    moved = named(featured, "transfer to another rep") + named(featured, "the other rep accepts")
    rows.append(
        feature(
            "transfer to another rep, actions",
            f"+{sum(s.total for s in moved)}",
            "; ".join(f"{s.name}: {s.breakdown()}" for s in moved),
        )
    )
    plain_end = sum(s.total for s in named(segments, "rep completes the task"))
    asked = sum(s.total for s in named(featured, "rep completes the task: rating asked"))
    answered = named(featured, "contact rates")
    rows.append(
        feature(
            "CSAT (question and answer), actions",
            f"+{asked - plain_end + sum(s.total for s in answered)}",
            f"question +{asked - plain_end} (the task's end: {plain_end} without it); answer: "
            + "; ".join(s.breakdown() for s in answered),
        )
    )
    return rows


if __name__ == "__main__":
    figure_main("cost", figure, add_args, __doc__)
