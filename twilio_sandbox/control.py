"""The sandbox's own controls under `/_sandbox` (JSON): only for what Twilio has no API for. Here: the seed, the
senders' webhooks, a conversation as Flex shows it, WhatsApp's template review, the clock, the record, faults and
reset; the contact's phone is `control_contacts.py`, the reps' Flex UI `control_reps.py`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from twilio_sandbox import conversations_logic as conv_logic
from twilio_sandbox.core import get_sb
from twilio_sandbox.engine import loads_attrs
from twilio_sandbox.errors import TwilioError, found
from twilio_sandbox.faults import FaultConfig
from twilio_sandbox.formats import iso
from twilio_sandbox.rest_content import approval_json

router = APIRouter(prefix="/_sandbox")


class SenderIn(BaseModel):
    model_config = {"extra": "forbid"}

    number: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    status_callback_url: str | None = Field(default=None, pattern=r"^https?://")


class ClockIn(BaseModel):
    model_config = {"extra": "forbid"}

    seconds: float = Field(ge=0, le=10 * 365 * 86400)


@router.get("/seed")
async def seed(request: Request) -> dict[str, Any]:
    return get_sb(request).seed_info()


@router.post("/senders")
async def set_sender(request: Request, body: SenderIn) -> dict[str, Any]:
    sb = get_sb(request)
    sender = sb.state.senders.get(body.number)
    if sender is None:
        raise TwilioError(404, 20404, f"{body.number} is not a seeded WhatsApp sender")
    sender.webhook_url = body.webhook_url
    sender.status_callback_url = body.status_callback_url
    return {
        "number": sender.number,
        "webhook_url": sender.webhook_url,
        "status_callback_url": sender.status_callback_url,
    }


@router.get("/conversations/{sid}/messages")
async def conversation_messages(request: Request, sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    conv = found(sb.state.conversations, sid, "Conversation")
    msgs = sorted(sb.state.conv_messages.where("conversation_sid", sid), key=lambda m: m.index)
    return {
        "conversation_sid": sid,
        "state": conv.state,
        "participants": [p.identity or p.address for p in sb.state.participants.where("conversation_sid", sid)],
        "messages": [
            {
                "sid": m.sid,
                "index": m.index,
                "author": m.author,
                "body": m.body,
                "source": m.source,
                "attributes": loads_attrs(m.attributes),
                "media": conv_logic.media_list(sb, m) or [],
                "date_created": iso(m.date_created),
            }
            for m in msgs
        ],
    }


class ApprovalDecisionIn(BaseModel):
    model_config = {"extra": "forbid"}

    status: Literal["approved", "rejected", "paused", "disabled"]
    rejection_reason: str = Field(default="", max_length=1024)


@router.post("/content/{sid}/approval")
async def decide_approval(request: Request, sid: str, body: ApprovalDecisionIn) -> dict[str, Any]:
    """WhatsApp's review answers a submitted content (`POST …/ApprovalRequests/whatsapp` first)."""
    sb = get_sb(request)
    t = found(sb.state.templates, sid, "Content")
    if t.approval is None:
        raise TwilioError(400, 20001, f"Content {sid} was not submitted for WhatsApp approval")
    if body.status == "rejected" and not body.rejection_reason:
        raise TwilioError(400, 20001, "A rejection needs a rejection_reason")
    t.approval.status, t.approval.rejection_reason = body.status, body.rejection_reason
    t.approved = body.status == "approved"
    t.date_updated = sb.now()
    sb.recorder.add("content.approval", content_sid=sid, name=t.approval.name, status=body.status)
    return {"content_sid": sid, **approval_json(t)}


@router.get("/clock")
async def clock(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    return {"now": iso(sb.now()), "offset_seconds": sb.clock.offset.total_seconds()}


@router.post("/clock/advance")
async def clock_advance(request: Request, body: ClockIn) -> dict[str, Any]:
    sb = get_sb(request)
    sb.clock.advance(body.seconds)
    sb.recorder.add("clock.advanced", seconds=body.seconds)
    sb.tick()
    return {"now": iso(sb.now()), "offset_seconds": sb.clock.offset.total_seconds()}


@router.get("/record")
async def record(request: Request, kind: str | None = None, since: int = 0) -> dict[str, Any]:
    sb = get_sb(request)
    entries = [e for e in sb.recorder.after(since) if kind is None or e["kind"].startswith(kind)]
    return {"entries": entries}


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return get_sb(request).faults.config.model_dump()


@router.post("/faults")
async def set_faults(request: Request, body: FaultConfig) -> dict[str, Any]:
    sb = get_sb(request)
    sb.faults.set(body)
    sb.recorder.add("faults.set", config=body.model_dump())
    return body.model_dump()


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    sb.faults.clear()
    sb.recorder.add("faults.cleared")
    return sb.faults.config.model_dump()


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    sb.reset()
    return sb.seed_info()
