"""WhatsApp's typing indicator as the contact's phone shows it.

Documented (docs: whatsapp/api/typing-indicators-resource): the call names an inbound message; "Twilio
automatically marks the referenced message as read … and displays the typing indicator"; it "will disappear when
your response is delivered or after 25 seconds, whichever happens first". Not documented, so chosen here: a call
for a message that is not an inbound WhatsApp message of this account is refused (400/20001 for a SID of another
kind, 404/20404 for an unknown one; Twilio's codes are unknown); a call outside the 24-hour window is accepted and
recorded with `window_open: false`; a second call in the same chat restarts the 25 s (and names the newer
message)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from twilio_sandbox import contacts, whatsapp_rules
from twilio_sandbox.addresses import bare
from twilio_sandbox.core import Sandbox
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.formats import iso_ms
from twilio_sandbox.state import ApiMessage, TypingIndicator

SHOWN_FOR = timedelta(seconds=25)
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")


def inbound_message(sb: Sandbox, message_id: str) -> ApiMessage:
    if not MESSAGE_SID.match(message_id):
        raise TwilioError(400, 20001, f"messageId {message_id!r} is not a Message SID (SM…) or Media SID (MM…)")
    msg = sb.state.api_messages.get(message_id)
    if msg is None:
        raise TwilioError(404, 20404, f"The requested resource Message {message_id} was not found")
    if msg.direction != "inbound" or not msg.from_.startswith("whatsapp:"):
        raise TwilioError(400, 20001, f"messageId {message_id} is not an inbound WhatsApp message")
    return msg


def show(sb: Sandbox, message_id: str, api: str) -> TypingIndicator:
    """The business starts (or keeps) typing in reply to inbound message `message_id`, which becomes read."""
    msg = inbound_message(sb, message_id)
    sender, contact = bare(msg.to), contacts.key_of(sb.state, bare(msg.from_))
    now = sb.now()
    previous = sb.state.typing.get((sender, contact))
    indicator = TypingIndicator(sender, contact, msg.sid, api, now, now + SHOWN_FOR)
    sb.state.typing[(sender, contact)] = indicator
    window_open = whatsapp_rules.window_open(sb.state.last_inbound.get((sender, contact)), now)
    sb.recorder.add(
        "whatsapp.typing",
        message_sid=msg.sid,
        contact=contact,
        sender=sender,
        api=api,
        shown_until=iso_ms(indicator.until),
        window_open=window_open,
        replaces=previous.message_sid if previous is not None and previous.ended_at is None else None,
    )
    if msg.sid not in sb.state.read_inbound:
        sb.state.read_inbound[msg.sid] = now
        sb.recorder.add("whatsapp.inbound_read", message_sid=msg.sid, contact=contact, sender=sender, by="typing")
    return indicator


def _end(sb: Sandbox, indicator: TypingIndicator, at: datetime, reason: str, reply_sid: str | None = None) -> None:
    indicator.ended_at, indicator.ended_by, indicator.reply_sid = at, reason, reply_sid
    sb.recorder.add(
        "whatsapp.typing.ended",
        message_sid=indicator.message_sid,
        contact=indicator.contact,
        sender=indicator.sender,
        reason=reason,
        reply_sid=reply_sid,
        at=iso_ms(at),
    )


def on_delivered(sb: Sandbox, msg: ApiMessage) -> None:
    """An outbound message reached the contact: the chat's indicator (if still shown) disappears."""
    indicator = sb.state.typing.get((bare(msg.from_), contacts.key_of(sb.state, bare(msg.to))))
    if indicator is None or indicator.ended_at is not None:
        return
    now = sb.now()
    if now >= indicator.until:
        _end(sb, indicator, indicator.until, "timeout")
    else:
        _end(sb, indicator, now, "reply", msg.sid)


def expire(sb: Sandbox) -> None:
    """End the indicators whose 25 s are over (run on every tick of the sandbox clock)."""
    now = sb.now()
    for indicator in sb.state.typing.values():
        if indicator.ended_at is None and now >= indicator.until:
            _end(sb, indicator, indicator.until, "timeout")


def view(sb: Sandbox, contact: str) -> dict[str, Any]:
    """What the contact's phone shows now, per business number: for `GET /_sandbox/contacts/{c}/typing`."""
    expire(sb)
    chats = []
    for (sender, who), ind in sb.state.typing.items():
        if who != contact:
            continue
        chats.append(
            {
                "sender": sender,
                "typing": ind.ended_at is None,
                "message_sid": ind.message_sid,
                "api": ind.api,
                "shown_since": iso_ms(ind.started_at),
                "shown_until": iso_ms(ind.ended_at or ind.until),
                "ended_by": ind.ended_by,
                "reply_sid": ind.reply_sid,
            }
        )
    read = [
        sid
        for sid in sb.state.read_inbound
        if contacts.key_of(sb.state, bare(sb.state.api_messages[sid].from_)) == contact
    ]
    return {"contact": contact, "chats": chats, "read_inbound": read}
