"""Steps the end-to-end tests of the waiting contact, the reps' aids, transfers and CSAT share: the sandbox's
record, a rep taking the conversation, reps going offline, and a contact message that reached the service late
(its `received_at` in the past)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from api.contact_routing import ContactRouting
from api.signalling import signal_with_start
from cli.sandbox_setup import SANDBOX_ORG
from contracts.signals import ContactMessage
from tests.e2e.conftest import Stack
from tests.polling import eventually

if TYPE_CHECKING:  # test_whole_path uses these steps too
    from tests.e2e.test_whole_path import Conversation

Entry = dict[str, Any]


async def record(conv: Conversation, kind: str | None = None) -> list[Entry]:
    """The sandbox's record, oldest first (every entry has `seq`, `kind`, `at` (sandbox clock) and `wall`); with
    `kind`, the entries of exactly that kind (the sandbox's filter also takes its sub-kinds)."""
    params = {"kind": kind} if kind else {}
    entries: list[Entry] = (await conv.get("/_sandbox/record", **params))["entries"]
    return [e for e in entries if kind is None or e["kind"] == kind]


def wall(entry: Entry) -> datetime:
    return datetime.fromisoformat(str(entry["wall"]).replace("Z", "+00:00"))


async def sent_to(conv: Conversation) -> list[Entry]:
    """Every message the service created for this contact (`messaging.created`), whatever became of it."""
    return [e for e in await record(conv, "messaging.created") if e.get("to") == conv.contact]


async def says(conv: Conversation, body: str, name: str = "Ana") -> str:
    """The contact writes (through the sandbox and the API); the message's SID."""
    sent = await conv.post(
        f"/_sandbox/contacts/{conv.contact}/messages", {"to": conv.stack.business, "body": body, "profile_name": name}
    )
    assert sent["webhook_status"] == 200, sent
    return str(sent["message_sid"])


async def says_late(conv: Conversation, body: str, received_at: datetime, name: str = "Ana") -> str:
    """The contact writes, and the service learns of it as of `received_at` (in the past): WhatsApp measures the
    24-hour window from when the contact sent it. The sandbox takes the message (its phone sent it, so its own
    window opens) with the sender's webhook off; the workflow is signalled with the ContactMessage the API would
    have sent, through the API's own signal-with-start, stamped `received_at`."""
    stack = conv.stack
    await _sender_webhook(stack, None)
    try:
        sent = await conv.post(
            f"/_sandbox/contacts/{conv.contact}/messages", {"to": stack.business, "body": body, "profile_name": name}
        )
    finally:
        await _sender_webhook(stack, f"{stack.api_url}/webhooks/{SANDBOX_ORG}/whatsapp")
    assert sent["webhook_status"] is None, sent  # the service heard of it only through the signal below
    org = stack.orgs.get(SANDBOX_ORG)
    assert org is not None
    message = ContactMessage(
        message_sid=sent["message_sid"],
        account_sid=org.config.account_sid,
        business_number=stack.business,
        contact_address=conv.contact,
        profile_name=name,
        body=body,
        received_at=received_at,
    )
    await signal_with_start(stack.client, stack.settings, org, message, ContactRouting())
    return str(sent["message_sid"])


async def _sender_webhook(stack: Stack, url: str | None) -> None:
    response = await stack.http.post(
        f"{stack.sandbox_url}/_sandbox/senders", json={"number": stack.business, "webhook_url": url}
    )
    response.raise_for_status()


async def offered(conv: Conversation, task_sid: str) -> tuple[str, Entry]:
    """The rep TaskRouter offered the task to, and the reservation."""

    async def probe() -> tuple[str, Entry] | None:
        for rep in conv.stack.seed.reps:
            pending = (await conv.get(f"/_sandbox/reps/{rep.name}/reservations", status="pending"))["reservations"]
            for r in pending:
                if r["task_sid"] == task_sid:
                    return rep.name, r
        return None

    return await eventually(f"a reservation of {task_sid}", probe)


async def rep_accepts(conv: Conversation, task_sid: str) -> str:
    """The rep offered the task accepts it; the conversation is with them. Returns the rep's name."""
    name, reservation = await offered(conv, task_sid)
    await conv.post(f"/_sandbox/reps/{name}/reservations/{reservation['reservation_sid']}/accept")
    await conv.wait_state("with_rep")
    return name


async def rep_says(conv: Conversation, rep: str, conversation_sid: str, body: str) -> str:
    sent = await conv.post(f"/_sandbox/reps/{rep}/messages", {"conversation_sid": conversation_sid, "body": body})
    return str(sent["message_sid"])


async def to_the_humans(conv: Conversation) -> dict[str, Any]:
    """The contact asks for a person: the AI hands off; the state once the task waits in the humans' queue."""
    await says(conv, "I want to talk to a human agent, please.")
    detail = await conv.wait_state("queued")
    return dict(detail["state"])


async def rep_activity(stack: Stack, rep: str, activity: str) -> None:
    response = await stack.http.post(f"{stack.sandbox_url}/_sandbox/reps/{rep}/activity", json={"activity": activity})
    response.raise_for_status()


@asynccontextmanager
async def reps_away(stack: Stack) -> AsyncIterator[None]:
    """Every rep offline (tasks wait in the queue, pending) until the block ends."""
    for rep in stack.seed.reps:
        await rep_activity(stack, rep.name, "Offline")
    try:
        yield
    finally:
        for rep in stack.seed.reps:
            await rep_activity(stack, rep.name, "Available")


async def flex_notices(conv: Conversation, conversation_sid: str, kind: str) -> list[Entry]:
    """The service's notices of one kind in the Flex conversation (for reps only)."""
    return [
        m
        for m in await conv.flex(conversation_sid)
        if isinstance(m.get("attributes"), dict) and m["attributes"].get("waHandoffNotice") == kind
    ]
