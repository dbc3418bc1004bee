"""`/_sandbox/reps/{name}/…`: the reps' Flex UI: their reservations, activity, messages, completing a task,
transferring a conversation."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from twilio_sandbox import conversations_logic as conv_logic
from twilio_sandbox import flex_transfers
from twilio_sandbox.control_models import MediaIn
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.engine import loads_attrs
from twilio_sandbox.errors import TwilioError, found, not_found
from twilio_sandbox.formats import iso
from twilio_sandbox.rest_mcs import store_media
from twilio_sandbox.state import Reservation, Worker
from twilio_sandbox.whatsapp_rules import MB, generate_media

router = APIRouter(prefix="/_sandbox/reps")
FLEX_ATTACHMENT_LIMIT = 16 * MB


class RepMessageIn(BaseModel):
    model_config = {"extra": "forbid"}

    conversation_sid: str = Field(pattern=r"^CH[0-9a-f]{32}$")
    body: str = Field(default="", max_length=32768)
    media: list[MediaIn] = Field(default_factory=list, max_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ActivityIn(BaseModel):
    model_config = {"extra": "forbid"}

    activity: str = Field(min_length=1)


def _rep(sb: Sandbox, name: str) -> Worker:
    for w in sb.state.workers.values():
        if w.friendly_name == name:
            return w
    raise not_found("Rep", name)


@router.get("/{name}/reservations")
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


def _rep_reservation(sb: Sandbox, name: str, sid: str) -> Reservation:
    w = _rep(sb, name)
    r = sb.state.reservations.get(sid)
    if r is None or r.worker_sid != w.sid:
        raise not_found("Reservation", sid)
    return r


@router.post("/{name}/reservations/{sid}/accept")
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


@router.post("/{name}/reservations/{sid}/reject")
async def rep_reject(request: Request, name: str, sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    r = _rep_reservation(sb, name, sid)
    sb.engine.update_reservation(r, "rejected")
    return {"reservation_sid": r.sid, "status": r.status, "task_sid": r.task_sid}


@router.post("/{name}/activity")
async def rep_activity(request: Request, name: str, body: ActivityIn) -> dict[str, Any]:
    sb = get_sb(request)
    w = _rep(sb, name)
    act = next((a for a in sb.state.activities.values() if body.activity in (a.sid, a.friendly_name)), None)
    if act is None:
        raise TwilioError(400, 20001, f"Unknown activity {body.activity}")
    sb.engine.set_activity(w, act.sid)
    return {"worker_sid": w.sid, "activity": act.friendly_name, "available": act.available}


@router.post("/{name}/messages")
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


@router.post("/{name}/tasks/{task_sid}/complete")
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


@router.post("/{name}/transfers")
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
