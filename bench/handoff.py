"""Figure 4 — handoff latency: the AI's decision → the six attributes written on the AI's task, the handoff
note posted, and the human task created (Flex invite), each as the sandbox recorded it (`/_sandbox/record`, wall
clock). Handoffs run one after another on open sessions.

The decision is the AI's escalation reply landing in Flex, its first visible effect (the turn's activity
completes only after that reply is also sent to WhatsApp).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from typing import Any

from rich.console import Console

from bench.cli import figure_main
from bench.conversations import Contacts, ReplyWatcher, open_sessions
from bench.script import Scripted
from bench.stack import Stack
from bench.stats import Row, fmt_ms, percentile

ESCALATION = "I want to talk to a human agent, please."
AI_AUTHOR = "AI Support Agent"


def add_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--n", type=int, default=20, help="handoffs (default 20)")
    return p


def _wall(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["wall"]).replace("Z", "+00:00"))


async def one_handoff(stack: Stack, contacts: Contacts, contact: str) -> dict[str, float]:
    s = Scripted(stack, contacts, contact)
    try:
        state = await s.state()
        task_sid, conversation_sid = state.get("task_sid"), state.get("conversation_sid")
        entries = (await s.http.get("/_sandbox/record")).json()["entries"]
        seq = entries[-1]["seq"] if entries else 0
        sent = await contacts.send(contact, ESCALATION)
        await s.wait_for("a reservation for a rep", s.reservation)
        await asyncio.sleep(0.3)
        record = (await s.http.get("/_sandbox/record", params={"since": seq})).json()["entries"]
    finally:
        await s.close()
    reply = next(
        (
            e
            for e in record
            if e["kind"] == "conversation.message"
            and e.get("conversation_sid") == conversation_sid
            and e.get("author") == AI_AUTHOR
        ),
        None,
    )
    if reply is None:
        raise RuntimeError(f"no AI decision (the AI's reply in Flex) for {s.workflow_id}")
    decided = _wall(reply)

    def first(pred: Any) -> datetime | None:
        return next((_wall(e) for e in record if pred(e) and _wall(e) >= decided), None)

    attrs = first(
        lambda e: (
            e["kind"] == "rest" and e.get("method") == "POST" and str(e.get("path", "")).endswith(f"/Tasks/{task_sid}")
        )
    )
    note = first(
        lambda e: (
            e["kind"] == "conversation.message"
            and e.get("conversation_sid") == conversation_sid
            and e.get("author") == "system"
        )
    )
    invite = first(lambda e: e["kind"] in ("flex.invite",))
    out = {"decision_after_message": (decided - sent).total_seconds()}
    for k, t in (("attributes", attrs), ("note", note), ("invite", invite)):
        if t is not None:
            out[k] = (t - decided).total_seconds()
    return out


async def figure(stack: Stack, args: argparse.Namespace, console: Console) -> list[Row]:
    async with ReplyWatcher(stack) as watcher:
        contacts = Contacts(stack, watcher)
        people = [stack.new_contact() for _ in range(args.n)]
        await open_sessions(contacts, people, concurrency=min(4, args.n))
        results = []
        for c in people:
            try:
                results.append(await one_handoff(stack, contacts, c))
            except Exception as exc:  # one failed handoff is reported, the others still count
                console.print(f"[yellow]handoff for {c} failed: {exc}[/yellow]")
        await contacts.close()

    def col(k: str) -> list[float]:
        return [r[k] for r in results if k in r]

    for k in ("attributes", "note", "invite"):
        if len(col(k)) < len(results):
            console.print(f"[yellow]{len(results) - len(col(k))} handoffs without a recorded {k}[/yellow]")
    inv = col("invite")
    return [
        Row(
            figure="4 handoff",
            metric=f"AI decision → human task created (invite) p50 / p99, {len(inv)} handoffs",
            value=f"{fmt_ms(percentile(inv, 50))} / {fmt_ms(percentile(inv, 99))}",
            anchor=(
                f"attributes written {fmt_ms(percentile(col('attributes'), 50))} / "
                f"{fmt_ms(percentile(col('attributes'), 99))}; note posted {fmt_ms(percentile(col('note'), 50))} / "
                f"{fmt_ms(percentile(col('note'), 99))}"
            ),
            ratio=f"message → decision p50 {fmt_ms(percentile(col('decision_after_message'), 50))}",
            raw={"handoffs": results},
        )
    ]


if __name__ == "__main__":
    figure_main("handoff", figure, add_args, __doc__)
