"""Webhooks that arrive while a conversation continues as new (real dev server, the sandbox, the API, signed
webhooks): with continue-as-new forced after a few events, bursts of concurrent contact messages keep landing in
the first activation of a new run. Every one must reach Flex exactly once and be answered or handed off."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tests.e2e.conftest import Stack, stack_with
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

CONTINUE_AS_NEW_AFTER = 6
ROUNDS = 4
BURST = 20
AI_AUTHOR = "AI Support Agent"


short_runs = stack_with({"continue_as_new_after_events": CONTINUE_AS_NEW_AFTER}, name="short_runs")


async def _dealt_with_everything(conv: Conversation) -> dict[str, Any]:
    async def state() -> dict[str, Any]:
        detail = await conv.state()
        return dict(detail.get("state") or {})

    return await eventually(
        "the conversation to deal with every message and wait",
        state,
        lambda s: bool(s.get("idle")) and s.get("signals_received", 0) > 0,
        within=120,
    )


async def test_bursts_around_each_continue_as_new_reach_flex_once_and_are_answered(short_runs: Stack) -> None:
    conv = Conversation(short_runs)
    await conv.says("Hi! What are your opening hours?")
    await conv.wait_delivered(1)
    sent = ["Hi! What are your opening hours?"]
    for round_number in range(ROUNDS):
        bodies = [f"round {round_number} message {i}" for i in range(BURST)]
        answers = await asyncio.gather(
            *(
                conv.post(
                    f"/_sandbox/contacts/{conv.contact}/messages",
                    {"to": short_runs.business, "body": body, "profile_name": "Ana"},
                )
                for body in bodies
            )
        )
        assert [a["webhook_status"] for a in answers] == [200] * BURST  # signed, accepted, signalled
        sent += bodies
        state = await _dealt_with_everything(conv)
    assert state["runs"] >= ROUNDS, state  # the bursts did cross run boundaries
    assert state["skipped"] == [], state["skipped"]

    flex = await conv.flex(state["conversation_sid"])
    contact_posts = [m["body"] for m in flex if m["author"] == f"whatsapp:{conv.contact}"]
    assert Counter(contact_posts) == Counter(sent)  # each exactly once, none lost, none twice
    note = next(
        (i for i, m in enumerate(flex) if m["author"] == "system" and "Handoff from" in (m["body"] or "")), None
    )
    for i, message in enumerate(flex):
        if message["author"] != f"whatsapp:{conv.contact}":
            continue
        answered = any(m["author"] == AI_AUTHOR for m in flex[i + 1 :])
        handed_off = note is not None
        assert answered or handed_off, f"{message['body']!r} was neither answered nor handed off"
    if note is None:
        assert state["state"] == "ai"
    else:
        assert state["state"] in ("handoff_requested", "queued", "with_rep"), state
