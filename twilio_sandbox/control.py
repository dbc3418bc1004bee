"""The sandbox's own controls under `/_sandbox` (JSON): only for what Twilio has no API for — the
contact's phone,
the reps' Flex UI, the clock, the record, faults and reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from twilio_sandbox import conversations_logic as conv_logic
from twilio_sandbox import flex_transfers, typing_indicator
from twilio_sandbox import whatsapp_sim as sim
from twilio_sandbox.addresses import bare
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.engine import loads_attrs
from twilio_sandbox.errors import TwilioError, found, not_found
from twilio_sandbox.faults import FaultConfig
from twilio_sandbox.formats import iso
from twilio_sandbox.rest_mcs import store_media
from twilio_sandbox.state import Worker
from twilio_sandbox.whatsapp_rules import MB, generate_media

router = APIRouter(prefix="/_sandbox")
FLEX_ATTACHMENT_LIMIT = 16 * MB


class MediaIn(BaseModel):
    model_config = {"extra": "forbid"}

    content_type: str = Field(min_length=3, max_length=200)
    size: int = Field(gt=0, le=100 * MB)
    filename: str | None = Field(default=None, max_length=255)


class SenderIn(BaseModel):
    model_config = {"extra": "forbid"}

    number: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    status_callback_url: str | None = Field(default=None, pattern=r"^https?://")


class ContactMessageIn(BaseModel):
    model_config = {"extra": "forbid"}

    to: str = Field(pattern=r"^(whatsapp:)?\+[1-9]\d{6,14}$")
    body: str = Field(default="", max_length=4096)
    profile_name: str | None = Field(default=None, max_length=256)
    media: list[MediaIn] = Field(default_factory=list, max_length=10)


class RepMessageIn(BaseModel):
    model_config = {"extra": "forbid"}

    conversation_sid: str = Field(pattern=r"^CH[0-9a-f]{32}$")
    body: str = Field(default="", max_length=32768)
    media: list[MediaIn] = Field(default_factory=list, max_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ActivityIn(BaseModel):
    model_config = {"extra": "forbid"}

    activity: str = Field(min_length=1)


class ClockIn(BaseModel):
    model_config = {"extra": "forbid"}

    seconds: float = Field(ge=0, le=10 * 365 * 86400)


def _contact(number: str) -> str:
    address = bare(number)
    if not address.startswith("+") or not address[1:].isdigit() or not 8 <= len(address) <= 16:
        raise TwilioError(400, 21211, f"Invalid contact number {number!r}: use +E164")
    return address


def _rep(sb: Sandbox, name: str) -> Worker:
    for w in sb.state.workers.values():
        if w.friendly_name == name:
            return w
    raise not_found("Rep", name)


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


@router.post("/contacts/{contact}/messages")
async def contact_message(request: Request, contact: str, body: ContactMessageIn) -> dict[str, Any]:
    sb = get_sb(request)
    number = _contact(contact)
    if not body.body and not body.media:
        raise TwilioError(400, 21602, "A contact message needs a body or media")
    media = [sim.MediaSpec(m.content_type, m.size, m.filename) for m in body.media]
    msg, status = await sim.contact_send(sb, number, body.to, body.body, body.profile_name, media)
    return {
        "message_sid": msg.sid,
        "webhook_status": status,
        "media_urls": [sim.media_url(sb, msg.sid, me) for me in msg.media],
    }


@router.get("/contacts/{contact}/inbox")
async def inbox(request: Request, contact: str) -> dict[str, Any]:
    sb = get_sb(request)
    number = _contact(contact)
    msgs = [sb.state.api_messages[sid] for sid in sb.state.inboxes.get(number, [])]
    return {"messages": [sim.inbox_entry(sb, m) for m in msgs]}


class ReadIn(BaseModel):
    model_config = {"extra": "forbid"}

    message_sid: str | None = Field(default=None, pattern=r"^(SM|MM)[0-9a-f]{32}$")


@router.post("/contacts/{contact}/read")
async def contact_read(request: Request, contact: str, body: ReadIn) -> dict[str, Any]:
    """The contact opens WhatsApp: delivered messages (or one of them) become `read`, with status callbacks."""
    sb = get_sb(request)
    number = _contact(contact)
    read = []
    for sid in sb.state.inboxes.get(number, []):
        msg = sb.state.api_messages[sid]
        if msg.status == "delivered" and body.message_sid in (None, sid):
            await sim.mark_read(sb, msg)
            read.append(sid)
    return {"read": read}


@router.get("/contacts/{contact}/typing")
async def contact_typing(request: Request, contact: str) -> dict[str, Any]:
    """What the contact's phone shows: per business number, the typing indicator (shown or how it ended) and the
    contact's messages the business marked read."""
    sb = get_sb(request)
    return typing_indicator.view(sb, _contact(contact))


class ReachIn(BaseModel):
    model_config = {"extra": "forbid"}

    unreachable: bool


@router.post("/contacts/{contact}/reachability")
async def contact_reachability(request: Request, contact: str, body: ReachIn) -> dict[str, Any]:
    """Simulate a contact who blocked the sender or left WhatsApp: later sends end `undelivered` (63024)."""
    sb = get_sb(request)
    number = _contact(contact)
    if body.unreachable:
        sb.state.unreachable.add(number)
    else:
        sb.state.unreachable.discard(number)
    return {"contact": number, "unreachable": body.unreachable}


@router.get("/reps/{name}/reservations")
async def rep_reservations(request: Request, name: str, status: str | None = None) -> dict[str, Any]:
    sb = get_sb(request)
    sb.tick()
    w = _rep(sb, name)
    out = []
    for r in sb.state.reservations.where("worker_sid", w.sid):
        if status and r.status != status:
            continue
        task = sb.state.tasks[r.task_sid]
        attrs = loads_attrs(task.attributes)
        out.append(
            {
                "reservation_sid": r.sid,
                "task_sid": task.sid,
                "status": r.status,
                "task_attributes": attrs,
                "conversation_sid": attrs.get("conversationSid"),
                "task_status": task.assignment_status,
                "date_created": iso(r.date_created),
            }
        )
    return {"reservations": out}


def _rep_reservation(sb: Sandbox, name: str, sid: str) -> Any:
    w = _rep(sb, name)
    r = sb.state.reservations.get(sid)
    if r is None or r.worker_sid != w.sid:
        raise not_found("Reservation", sid)
    return r


@router.post("/reps/{name}/reservations/{sid}/accept")
async def rep_accept(request: Request, name: str, sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    r = _rep_reservation(sb, name, sid)
    sb.engine.update_reservation(r, "accepted")
    task = sb.state.tasks[r.task_sid]
    return {
        "reservation_sid": r.sid,
        "status": r.status,
        "task_sid": task.sid,
        "conversation_sid": loads_attrs(task.attributes).get("conversationSid"),
    }


@router.post("/reps/{name}/reservations/{sid}/reject")
async def rep_reject(request: Request, name: str, sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    r = _rep_reservation(sb, name, sid)
    sb.engine.update_reservation(r, "rejected")
    return {"reservation_sid": r.sid, "status": r.status, "task_sid": r.task_sid}


@router.post("/reps/{name}/activity")
async def rep_activity(request: Request, name: str, body: ActivityIn) -> dict[str, Any]:
    sb = get_sb(request)
    w = _rep(sb, name)
    act = next((a for a in sb.state.activities.values() if body.activity in (a.sid, a.friendly_name)), None)
    if act is None:
        raise TwilioError(400, 20001, f"Unknown activity {body.activity}")
    sb.engine.set_activity(w, act.sid)
    return {"worker_sid": w.sid, "activity": act.friendly_name, "available": act.available}


@router.post("/reps/{name}/messages")
async def rep_message(request: Request, name: str, body: RepMessageIn) -> dict[str, Any]:
    sb = get_sb(request)
    w = _rep(sb, name)
    identity = sb.engine.worker_identity(w)
    conv = sb.state.conversations.get(body.conversation_sid)
    if conv is None:
        raise not_found("Conversation", body.conversation_sid)
    if conv_logic.find_participant(sb, conv, identity) is None:
        raise TwilioError(403, 50400, f"Rep {name} is not a participant of {conv.sid}: accept a reservation first")
    media_sids = []
    for m in body.media:
        if m.size > FLEX_ATTACHMENT_LIMIT:
            raise TwilioError(400, 50520, f"Flex attachments are limited to {FLEX_ATTACHMENT_LIMIT} bytes")
        media = store_media(
            sb,
            generate_media(m.content_type, m.size, f"{conv.sid}:{conv.next_index}"),
            m.content_type,
            m.filename,
            conv.chat_service_sid,
            author=identity,
        )
        media_sids.append(media.sid)
    import json

    msg = conv_logic.add_message(
        sb,
        conv,
        author=identity,
        body=body.body or None,
        attributes=json.dumps(body.attributes),
        media_sids=media_sids,
        source="SDK",
        fire_service=True,
        fire_scoped=True,
        client_identity=identity,
    )
    return {"message_sid": msg.sid, "index": msg.index, "media_sids": media_sids}


@router.post("/reps/{name}/tasks/{task_sid}/complete")
async def rep_complete(request: Request, name: str, task_sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    w = _rep(sb, name)
    task = found(sb.state.tasks, task_sid, "Task")
    res = sb.engine.active_reservation(task)
    if res is None or res.worker_sid != w.sid or res.status not in ("accepted", "wrapping"):
        raise TwilioError(400, 20001, f"Task {task_sid} is not assigned to {name}")
    if task.assignment_status == "assigned":
        sb.engine.wrapup(task, res)
    sb.engine.complete(task, res, "Task completed by agent")
    for p in sb.state.interaction_participants.values():
        if (p.routing_properties or {}).get("task_sid") == task.sid:
            p.status = "closed"
    sb.engine.assign()
    return {
        "task_sid": task.sid,
        "assignment_status": task.assignment_status,
        "reservation_status": res.status,
    }


class TransferIn(BaseModel):
    model_config = {"extra": "forbid"}

    task_sid: str | None = Field(default=None, pattern=r"^WT[0-9a-f]{32}$")
    conversation_sid: str | None = Field(default=None, pattern=r"^CH[0-9a-f]{32}$")
    to_queue: str | None = Field(default=None, min_length=1, description="WQ… SID or queue friendly name")
    to_worker: str | None = Field(default=None, min_length=1, description="WK… SID or rep name")
    note: str | None = Field(default=None, max_length=4096)


@router.post("/reps/{name}/transfers")
async def rep_transfer(request: Request, name: str, body: TransferIn) -> dict[str, Any]:
    """The rep transfers a conversation in the Flex UI: a transfer record, an invite creating the new task, and the
    rep's participant closed (their task completed; the conversation stays active)."""
    sb = get_sb(request)
    rep = _rep(sb, name)
    if (body.task_sid is None) == (body.conversation_sid is None):
        raise TwilioError(400, 20001, "Name the transfer's task_sid or conversation_sid (one of them)")
    if (body.to_queue is None) == (body.to_worker is None):
        raise TwilioError(400, 20001, "Transfer to_queue or to_worker (one of them)")
    queue = None
    if body.to_queue is not None:
        queue = next((q for q in sb.state.queues.values() if body.to_queue in (q.sid, q.friendly_name)), None)
        if queue is None:
            raise not_found("TaskQueue", body.to_queue)
    worker = None
    if body.to_worker is not None:
        worker = next((w for w in sb.state.workers.values() if body.to_worker in (w.sid, w.friendly_name)), None)
        if worker is None:
            raise not_found("Worker", body.to_worker)
    task = flex_transfers.find_task(sb, rep, task_sid=body.task_sid, conversation_sid=body.conversation_sid)
    record = flex_transfers.transfer(sb, rep, task, to_queue=queue, to_worker=worker, note=body.note)
    return {
        "transfer_sid": record.sid,
        "status": record.status,
        "from_task_sid": record.from_task_sid,
        "from_participant_sid": record.from_,
        "new_task_sid": record.new_task_sid,
        "to_type": "queue" if queue is not None else "worker",
        "to_sid": record.to,
        "interaction_sid": record.interaction_sid,
        "channel_sid": record.channel_sid,
        "conversation_sid": loads_attrs(task.attributes).get("conversationSid"),
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
