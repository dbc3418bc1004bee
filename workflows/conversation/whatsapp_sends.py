"""Sends to the contact's WhatsApp outside an AI turn (rep replies, attachments, templates, the busy message)."""

from __future__ import annotations

from typing import Unpack

from temporalio.exceptions import ActivityError

from contracts.activities import SEND_WHATSAPP
from rules import notices
from workflows.conversation import delivery, metrics
from workflows.conversation.context import Conversation
from workflows.conversation.effects import Outgoing, call, error_text, send_input
from workflows.conversation.flex_posts import notice


async def send_whatsapp(c: Conversation, what: str, idempotency_id: str, **out: Unpack[Outgoing]) -> str | None:
    """The sent message's SID; None when Twilio refused it (the rep then has a notice saying why)."""
    try:
        res = await call(c, SEND_WHATSAPP, send_input(c, idempotency_id, **out), f"send {what} to WhatsApp")
    except ActivityError as err:
        await send_failed(c, what, idempotency_id, error_text(err)[0])
        return None
    delivery.watch(c, res, what)
    metrics.sent(c, what)
    return res.message_sid


async def send_failed(c: Conversation, what: str, idempotency_id: str, detail: str) -> None:
    c.s.last_error = f"{what} not sent: {detail}"
    await notice(
        c, "send_failed", notices.send_failed(what[:1].upper() + what[1:], detail), f"{idempotency_id}:send-failed"
    )
