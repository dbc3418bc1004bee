"""WhatsApp username users (real dev server, the sandbox, the API): a contact who hides their number is keyed,
answered, handed off and reached by the rep through their business-scoped user id (BSUID); a contact who showed
their number and later hides it, or the other way round, stays one conversation."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cli.sandbox_setup import SANDBOX_ORG
from contracts.ids import workflow_id
from tests.e2e.conftest import Stack
from tests.e2e.steps import rep_accepts
from tests.e2e.test_whole_path import Conversation, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


def _bsuid() -> str:
    return "ES." + "".join(random.choice("0123456789") for _ in range(20))


async def _identity(conv: Conversation, bsuid: str, *, phone_visible: bool) -> None:
    await conv.post(
        f"/_sandbox/contacts/{conv.contact}/identity",
        {"bsuid": bsuid, "username": "ana.garcia", "phone_visible": phone_visible},
    )


async def _outbound_to(conv: Conversation, bsuid: str) -> list[str]:
    """The `To` of every message the service sent this contact, by either address, in order."""
    mine = {f"whatsapp:{conv.contact}", f"whatsapp:{bsuid}"}
    entries = (await conv.get("/_sandbox/record", kind="rest"))["entries"]
    sent = [
        str(e.get("params", {}).get("To"))
        for e in entries
        if e.get("method") == "POST" and str(e.get("path", "")).endswith("/Messages.json")
    ]
    return [to for to in sent if to in mine]


async def test_a_contact_who_hides_their_number_goes_through_ai_handoff_and_rep(stack: Stack) -> None:
    conv = Conversation(stack)
    bsuid = _bsuid()
    await _identity(conv, bsuid, phone_visible=False)
    conv.workflow_id = workflow_id(SANDBOX_ORG, stack.business, bsuid)  # keyed by what the webhook shows

    await conv.says("Hi! What are your opening hours?")
    [answer] = await conv.wait_delivered(1)
    assert "9:00" in answer["body"]
    detail = await conv.wait_state("ai")
    ai_task = await conv.task(detail["state"]["task_sid"])
    attributes = ai_task["attributes"]
    assert attributes["from"] == attributes["customerAddress"] == f"whatsapp:{bsuid}"
    assert attributes["name"] == attributes["customers"]["name"] == "Ana"
    assert "phone" not in attributes["customers"]
    assert conv.contact not in str(attributes)  # the hidden number is nowhere

    await conv.says("I want to talk to a human agent, please.")
    detail = await conv.wait_state("queued")
    rep_name = await rep_accepts(conv, detail["state"]["human_task_sid"])
    before = len(await conv.delivered())
    await conv.post(
        f"/_sandbox/reps/{rep_name}/messages",
        {"conversation_sid": detail["state"]["conversation_sid"], "body": "Hi Ana, I can help."},
    )
    delivered = await conv.wait_delivered(before + 1)
    assert [m["body"] for m in delivered].count("Hi Ana, I can help.") == 1
    assert set(await _outbound_to(conv, bsuid)) >= {f"whatsapp:{bsuid}"}


async def _says_twice_changing_identity(
    conv: Conversation, bsuid: str, *, phone_visible_first: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contact writes, flips whether their number shows, and writes again: the conversation's state once each
    message is answered."""
    await _identity(conv, bsuid, phone_visible=phone_visible_first)
    await conv.says("Hi! What are your opening hours?")
    await conv.wait_delivered(1)
    first = (await conv.wait_state("ai"))["state"]

    await _identity(conv, bsuid, phone_visible=not phone_visible_first)

    async def both_messages() -> dict[str, Any] | None:
        state = (await conv.state()).get("state", {})
        return state if state.get("events_processed", 0) >= 2 and state.get("idle") else None

    await conv.says("And on Sundays?")
    await conv.wait_delivered(2)
    second = await eventually("the second message in the first conversation", both_messages)
    return first, second


async def test_a_contact_who_shows_then_hides_their_number_stays_one_conversation(stack: Stack) -> None:
    conv = Conversation(stack)
    bsuid = _bsuid()
    # The first webhook carries the number and the BSUID, the second only the BSUID.
    first, second = await _says_twice_changing_identity(conv, bsuid, phone_visible_first=True)
    assert second["session_number"] == first["session_number"] == 1
    assert second["conversation_sid"] == first["conversation_sid"]
    hidden = workflow_id(SANDBOX_ORG, stack.business, bsuid)
    assert not [w async for w in stack.client.list_workflows(f"WorkflowId = '{hidden}'")]
    # The number is still known from the first message: replies keep going to it.
    assert set(await _outbound_to(conv, bsuid)) == {f"whatsapp:{conv.contact}"}


async def test_a_contact_first_known_by_bsuid_who_shows_their_number_stays_one_conversation(stack: Stack) -> None:
    conv = Conversation(stack)
    bsuid = _bsuid()
    conv.workflow_id = workflow_id(SANDBOX_ORG, stack.business, bsuid)
    _, state = await _says_twice_changing_identity(conv, bsuid, phone_visible_first=False)
    assert state["session_number"] == 1
    by_number = workflow_id(SANDBOX_ORG, stack.business, conv.contact)
    assert not [w async for w in stack.client.list_workflows(f"WorkflowId = '{by_number}'")]
    # Once the number is known, replies go to it (the documented address); before, to the BSUID.
    assert await _outbound_to(conv, bsuid) == [f"whatsapp:{bsuid}", f"whatsapp:{conv.contact}"]
