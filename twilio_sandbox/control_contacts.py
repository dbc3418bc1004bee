"""`/_sandbox/contacts/{contact}/…`: the simulated WhatsApp user's phone. `{contact}` is a phone number (+E164) or
a business-scoped user ID; every address of one contact names the same contact."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from twilio_sandbox import contacts, typing_indicator
from twilio_sandbox import whatsapp_sim as sim
from twilio_sandbox.addresses import bare, is_bsuid, is_parent_bsuid, is_phone
from twilio_sandbox.control_models import MediaIn
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.state import ApiMessage, ContactIdentity

router = APIRouter(prefix="/_sandbox/contacts")


def _identity(sb: Sandbox, contact: str) -> ContactIdentity:
    address = bare(contact)
    if not (is_phone(address) or is_bsuid(address)):
        raise TwilioError(400, 21211, f"Invalid contact {contact!r}: use +E164 or a business-scoped user ID")
    return contacts.identity(sb.state, address)


class ContactMessageIn(BaseModel):
    model_config = {"extra": "forbid"}

    to: str = Field(pattern=r"^(whatsapp:)?\+[1-9]\d{6,14}$")
    body: str = Field(default="", max_length=4096)
    profile_name: str | None = Field(default=None, max_length=256)
    media: list[MediaIn] = Field(default_factory=list, max_length=10)


@router.post("/{contact}/messages")
async def contact_message(request: Request, contact: str, body: ContactMessageIn) -> dict[str, Any]:
    sb = get_sb(request)
    who = _identity(sb, contact)
    if not body.body and not body.media:
        raise TwilioError(400, 21602, "A contact message needs a body or media")
    media = [sim.MediaSpec(m.content_type, m.size, m.filename) for m in body.media]
    msg, status = await sim.contact_send(sb, who, body.to, body.body, body.profile_name, media)
    return {
        "message_sid": msg.sid,
        "from": msg.from_,
        "webhook_status": status,
        "media_urls": [sim.media_url(sb, msg.sid, me) for me in msg.media],
    }


@router.get("/{contact}/inbox")
async def inbox(request: Request, contact: str) -> dict[str, Any]:
    sb = get_sb(request)
    who = _identity(sb, contact)
    msgs = [sb.state.api_messages[sid] for sid in sb.state.inboxes.get(who.key, [])]
    return {"messages": [sim.inbox_entry(sb, m) for m in msgs]}


class ReadIn(BaseModel):
    model_config = {"extra": "forbid"}

    message_sid: str | None = Field(default=None, pattern=r"^(SM|MM)[0-9a-f]{32}$")


@router.post("/{contact}/read")
async def contact_read(request: Request, contact: str, body: ReadIn) -> dict[str, Any]:
    """The contact opens WhatsApp: delivered messages (or one of them) become `read`, with status callbacks."""
    sb = get_sb(request)
    who = _identity(sb, contact)
    read = []
    for sid in sb.state.inboxes.get(who.key, []):
        msg = sb.state.api_messages[sid]
        if msg.status == "delivered" and body.message_sid in (None, sid):
            await sim.mark_read(sb, msg)
            read.append(sid)
    return {"read": read}


@router.get("/{contact}/typing")
async def contact_typing(request: Request, contact: str) -> dict[str, Any]:
    """What the contact's phone shows: per business number, the typing indicator (shown or how it ended) and the
    contact's messages the business marked read."""
    sb = get_sb(request)
    return typing_indicator.view(sb, _identity(sb, contact).key)


class ReachIn(BaseModel):
    model_config = {"extra": "forbid"}

    unreachable: bool


@router.post("/{contact}/reachability")
async def contact_reachability(request: Request, contact: str, body: ReachIn) -> dict[str, Any]:
    """Simulate a contact who blocked the sender or left WhatsApp: later sends end `undelivered` (63024)."""
    sb = get_sb(request)
    who = _identity(sb, contact)
    if body.unreachable:
        sb.state.unreachable.add(who.key)
    else:
        sb.state.unreachable.discard(who.key)
    return {"contact": who.key, "unreachable": body.unreachable}


class IdentityIn(BaseModel):
    model_config = {"extra": "forbid"}

    bsuid: str | None = Field(default=None, max_length=140)
    parent_bsuid: str | None = Field(default=None, max_length=150)
    username: str | None = Field(default=None, min_length=1, max_length=64)
    phone_visible: bool = True


@router.get("/{contact}/identity")
async def get_identity(request: Request, contact: str) -> dict[str, Any]:
    sb = get_sb(request)
    return contacts.view(_identity(sb, contact))


@router.post("/{contact}/identity")
async def set_identity(request: Request, contact: str, body: IdentityIn) -> dict[str, Any]:
    """The contact adopts a username / presents a business-scoped user ID: later inbound webhooks carry it (and
    `From=whatsapp:<BSUID>` once `phone_visible` is false)."""
    sb = get_sb(request)
    if body.bsuid is not None and not is_bsuid(body.bsuid):
        raise TwilioError(400, 20001, f"bsuid {body.bsuid!r} is not a business-scoped user ID (e.g. US.1349120865)")
    if body.parent_bsuid is not None and not is_parent_bsuid(body.parent_bsuid):
        raise TwilioError(400, 20001, f"parent_bsuid {body.parent_bsuid!r} is not a parent BSUID (e.g. US.ENT.99)")
    who = _identity(sb, contact)
    contacts.set_identity(
        sb.state,
        who,
        bsuid=body.bsuid if body.bsuid is not None else who.bsuid,
        parent_bsuid=body.parent_bsuid,
        username=body.username,
        phone_visible=body.phone_visible,
    )
    sb.recorder.add("contact.identity", contact=who.key, **{k: v for k, v in contacts.view(who).items() if k != "key"})
    return contacts.view(who)


class TapIn(BaseModel):
    model_config = {"extra": "forbid"}

    button: int = Field(ge=1, le=10, description="1-based: button N of the message")
    message_sid: str | None = Field(default=None, pattern=r"^(SM|MM)[0-9a-f]{32}$")
    profile_name: str | None = Field(default=None, max_length=256)


def _interactive(sb: Sandbox, key: str, message_sid: str | None) -> ApiMessage:
    received = [sb.state.api_messages[sid] for sid in sb.state.inboxes.get(key, [])]
    shown = [m for m in received if m.actions and m.status in ("delivered", "read")]
    if message_sid is not None:
        shown = [m for m in shown if m.sid == message_sid]
    if not shown:
        what = f"message {message_sid}" if message_sid else "message with buttons"
        raise TwilioError(404, 20404, f"Contact {key} has no delivered {what}")
    return shown[-1]


@router.post("/{contact}/tap")
async def contact_tap(request: Request, contact: str, body: TapIn) -> dict[str, Any]:
    """The contact taps button N of the last delivered interactive message (or of `message_sid`): an inbound
    message with `ButtonPayload` (the button's id), `ButtonText` and `Body` (its title)."""
    sb = get_sb(request)
    who = _identity(sb, contact)
    msg = _interactive(sb, who.key, body.message_sid)
    if msg.content_type == "twilio/list-picker":
        unknown = "Twilio's inbound fields for them are unknown"
        raise TwilioError(400, 20001, f"List-picker selections are not emulated: {unknown}")
    actions = msg.actions or []
    if body.button > len(actions):
        raise TwilioError(400, 20001, f"Message {msg.sid} has {len(actions)} button(s), not {body.button}")
    action = actions[body.button - 1]
    template = sb.state.templates.get(msg.content_sid or "")
    tap = sim.ButtonTap(
        body.button, action["id"], action["title"], msg, "button" if template and template.approved else "interactive"
    )
    sent, status = await sim.contact_send(sb, who, msg.from_, action["title"], body.profile_name, [], tap)
    return {
        "message_sid": sent.sid,
        "webhook_status": status,
        "replied_to": msg.sid,
        "button": {"index": body.button, "id": action["id"], "title": action["title"]},
    }
