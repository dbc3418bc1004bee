"""Flex v1 under `/flex-api`: Interactions, interaction channels, channel participants, invites and transfers — tied
to TaskRouter tasks and Conversations the way Flex's orchestration ties them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from twilio_sandbox import conversations_logic as conv_logic
from twilio_sandbox import flex_logic as flex
from twilio_sandbox import flex_transfers
from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, found, not_found
from twilio_sandbox.formats import iso, page_v1, url
from twilio_sandbox.forms import check_query, parse_json_object, read_form, read_json
from twilio_sandbox.state import (
    Interaction,
    InteractionChannel,
    InteractionParticipant,
    Invite,
    Transfer,
)

router = APIRouter(prefix="/flex-api", dependencies=[Depends(require_auth)])
CHANNEL_TYPES = ("voice", "sms", "email", "web", "whatsapp", "chat", "messenger", "gbm")
PARTICIPANT_TYPES = ("supervisor", "customer", "external", "agent", "unknown")


def _u(path: str) -> str:
    return url("flex-api", path)


# --- views --------------------------------------------------------------------------------------------------
def interaction_json(sb: Sandbox, i: Interaction) -> dict[str, Any]:
    ch = sb.state.interaction_channels[i.channel_sid]
    return {
        "sid": i.sid,
        "channel": {"type": i.channel_type, "sid": ch.sid},
        "routing": i.routing,
        "url": _u(f"/v1/Interactions/{i.sid}"),
        "links": {"channels": _u(f"/v1/Interactions/{i.sid}/Channels")},
        "interaction_context_sid": i.interaction_context_sid,
        "webhook_ttid": i.webhook_ttid,
    }


def channel_json(ch: InteractionChannel) -> dict[str, Any]:
    base = f"/v1/Interactions/{ch.interaction_sid}/Channels/{ch.sid}"
    return {
        "sid": ch.sid,
        "interaction_sid": ch.interaction_sid,
        "type": ch.type,
        "status": ch.status,
        "error_code": ch.error_code,
        "error_message": ch.error_message,
        "url": _u(base),
        "links": {
            "participants": _u(f"{base}/Participants"),
            "invites": _u(f"{base}/Invites"),
            "transfers": _u(f"{base}/Transfers"),
        },
    }


def participant_json(p: InteractionParticipant) -> dict[str, Any]:
    return {
        "sid": p.sid,
        "type": p.type,
        "interaction_sid": p.interaction_sid,
        "channel_sid": p.channel_sid,
        "url": _u(f"/v1/Interactions/{p.interaction_sid}/Channels/{p.channel_sid}/Participants/{p.sid}"),
        "routing_properties": p.routing_properties,
    }


def invite_json(inv: Invite) -> dict[str, Any]:
    return {
        "sid": inv.sid,
        "interaction_sid": inv.interaction_sid,
        "channel_sid": inv.channel_sid,
        "routing": inv.routing,
        "url": _u(f"/v1/Interactions/{inv.interaction_sid}/Channels/{inv.channel_sid}/Invites/{inv.sid}"),
    }


# --- lookups ------------------------------------------------------------------------------------------------
def _interaction(sb: Sandbox, sid: str) -> Interaction:
    i = found(sb.state.interactions, sid, "Interaction")
    return i


def _channel(sb: Sandbox, interaction_sid: str, sid: str) -> InteractionChannel:
    _interaction(sb, interaction_sid)
    ch = sb.state.interaction_channels.get(sid)
    if ch is None or ch.interaction_sid != interaction_sid:
        raise not_found("Channel", sid)
    return ch


# --- interactions -------------------------------------------------------------------------------------------
@router.post("/v1/Interactions")
async def create_interaction(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    form = await read_form(request)
    channel = parse_json_object("Channel", form.get("Channel") or "")
    routing = parse_json_object("Routing", form.get("Routing") or "{}") if form.has("Routing") else {}
    ctype = channel.get("type")
    if ctype not in CHANNEL_TYPES:
        raise TwilioError(400, 20001, f"Channel.type must be one of {', '.join(CHANNEL_TYPES)}")
    props = channel.get("properties") or {}
    if not isinstance(props, dict):
        raise TwilioError(400, 20001, "Channel.properties must be an object")
    media_channel_sid = props.get("media_channel_sid")
    if media_channel_sid is not None and media_channel_sid not in sb.state.conversations:
        raise TwilioError(400, 20001, f"Channel.properties.media_channel_sid {media_channel_sid} not found")
    if not routing:
        raise TwilioError(400, 20001, "Routing is required")
    kd, uo = sb.sids.new("KD"), sb.sids.new("UO")
    ch = InteractionChannel(uo, kd, str(ctype), "setup", media_channel_sid)
    sb.state.interaction_channels[uo] = ch
    conv = sb.state.conversations.get(media_channel_sid or "")
    customer = next(iter(sb.state.participants.where("conversation_sid", conv.sid)), None) if conv else None
    customer_address = (customer.identity or customer.address) if customer else None
    base_attrs: dict[str, Any] = {
        "channelType": ctype,
        "initiatedBy": channel.get("initiated_by", "customer"),
        "direction": "inbound",
        "customerAddress": customer_address,
        "customerName": customer_address,
        "customers": {"phone": customer_address, "name": customer_address},
        "conversations": {
            "initiated_by": channel.get("initiated_by", "customer"),
            "conversation_id": kd,
            "media": [{"type": "ChatTranscript", "sid": media_channel_sid}],
        },
        "conversationSid": media_channel_sid,
        "flexInteractionSid": kd,
        "flexInteractionChannelSid": uo,
    }
    interaction = Interaction(
        kd, uo, str(ctype), {}, form.get("InteractionContextSid"), form.get("WebhookTtid"), media_channel_sid
    )
    sb.state.interactions[kd] = interaction
    if customer is not None:
        cp = InteractionParticipant(
            sb.sids.new("UT"),
            kd,
            uo,
            "customer",
            "joined",
            {"conversation_sid": media_channel_sid, "participant_sid": customer.sid},
            None,
        )
        sb.state.interaction_participants[cp.sid] = cp
    task = flex.routing_task(sb, routing, base_attrs)
    ch.status = "active"
    interaction.routing = {"reservation": None, "properties": flex.routing_properties(sb, task)}
    sb.recorder.add("flex.interaction", interaction_sid=kd, channel_sid=uo, task_sid=task.sid)
    return interaction_json(sb, interaction)


@router.get("/v1/Interactions/{Sid}")
async def fetch_interaction(request: Request, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    i = _interaction(sb, Sid)
    task_sid = (i.routing.get("properties") or {}).get("sid")
    if task_sid in sb.state.tasks:
        i.routing["properties"] = flex.routing_properties(sb, sb.state.tasks[task_sid])
    return interaction_json(sb, i)


@router.post("/v1/Interactions/{Sid}")
async def update_interaction(request: Request, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    i = _interaction(sb, Sid)
    form = await read_form(request)
    if form.has("WebhookTtid"):
        i.webhook_ttid = form.get("WebhookTtid") or None
    return interaction_json(sb, i)


@router.get("/v1/Interactions/{InteractionSid}/Channels")
async def list_channels(request: Request, InteractionSid: str) -> dict[str, Any]:
    check_query(request)
    sb = get_sb(request)
    _interaction(sb, InteractionSid)
    items = [channel_json(c) for c in sb.state.interaction_channels.where("interaction_sid", InteractionSid)]
    return page_v1(request, "flex-api", f"/v1/Interactions/{InteractionSid}/Channels", "channels", items)


@router.get("/v1/Interactions/{InteractionSid}/Channels/{Sid}")
async def fetch_channel(request: Request, InteractionSid: str, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    return channel_json(_channel(sb, InteractionSid, Sid))


@router.post("/v1/Interactions/{InteractionSid}/Channels/{Sid}")
async def update_channel(request: Request, InteractionSid: str, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, Sid)
    form = await read_form(request)
    status = form.get("Status")
    if status not in ("closed", "inactive"):
        raise TwilioError(400, 20001, "Status must be closed or inactive")
    if form.has("Routing"):
        parse_json_object("Routing", form.get("Routing") or "")
    ch.status = status
    for p in sb.state.interaction_participants.where("channel_sid", ch.sid):
        if p.type == "agent" and p.status != "closed":
            task_sid = (p.routing_properties or {}).get("task_sid")
            task = sb.state.tasks.get(str(task_sid))
            if task is not None and task.assignment_status == "assigned":
                sb.engine.wrapup(task, sb.engine.active_reservation(task))
            elif task is not None and task.assignment_status in ("pending", "reserved"):
                sb.engine.update_status(task, "canceled", "Interaction channel closed")
    conv = flex.conversation_of(sb, ch)
    if conv is not None and conv.state != status:
        old, conv.state = conv.state, status
        conv_logic.state_updated(sb, conv, old, fire_service=True, fire_scoped=True, reason="EVENT")
    return channel_json(ch)


# --- channel participants -----------------------------------------------------------------------------------
@router.post("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants")
async def create_participant(request: Request, InteractionSid: str, ChannelSid: str) -> dict[str, Any]:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    form = await read_form(request)
    ptype = form.get("Type") or ""
    if ptype not in PARTICIPANT_TYPES:
        raise TwilioError(400, 20001, f"Type must be one of {', '.join(PARTICIPANT_TYPES)}")
    media = parse_json_object("MediaProperties", form.get("MediaProperties") or "")
    routing = form.json_object("RoutingProperties")
    p = InteractionParticipant(sb.sids.new("UT"), InteractionSid, ch.sid, ptype, "joined", media, routing)
    sb.state.interaction_participants[p.sid] = p
    conv = flex.conversation_of(sb, ch)
    identity = media.get("identity")
    if conv is not None and isinstance(identity, str) and conv_logic.find_participant(sb, conv, identity) is None:
        conv_logic.add_chat_participant(sb, conv, identity)
    return participant_json(p)


@router.get("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants")
async def list_participants(request: Request, InteractionSid: str, ChannelSid: str) -> dict[str, Any]:
    check_query(request)
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    items = [participant_json(p) for p in sb.state.interaction_participants.where("channel_sid", ch.sid)]
    return page_v1(
        request,
        "flex-api",
        f"/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants",
        "participants",
        items,
    )


@router.post("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Participants/{Sid}")
async def update_participant(request: Request, InteractionSid: str, ChannelSid: str, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    p = sb.state.interaction_participants.get(Sid)
    if p is None or p.channel_sid != ch.sid:
        raise not_found("Participant", Sid)
    form = await read_form(request)
    status = form.get("Status")
    if status not in ("closed", "wrapup"):
        raise TwilioError(400, 20001, "Status must be closed or wrapup")
    if p.status == "closed":
        raise TwilioError(400, 20001, f"Participant {Sid} is already closed")
    flex.close_participant(sb, p, status)
    return participant_json(p)


# --- invites ------------------------------------------------------------------------------------------------
@router.post("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Invites")
async def create_invite(request: Request, InteractionSid: str, ChannelSid: str) -> dict[str, Any]:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    form = await read_form(request)
    inv, _ = flex.invite(sb, ch, parse_json_object("Routing", form.get("Routing") or ""))
    return invite_json(inv)


@router.get("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Invites")
async def list_invites(request: Request, InteractionSid: str, ChannelSid: str) -> dict[str, Any]:
    check_query(request)
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    items = [invite_json(i) for i in sb.state.invites.where("channel_sid", ch.sid)]
    return page_v1(
        request,
        "flex-api",
        f"/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Invites",
        "invites",
        items,
    )


# --- transfers ----------------------------------------------------------------------------------------------
# The request bodies are undocumented (`properties: {}`): the fields read are the resource's own (`type`,
# `status`, `from`, `to`, `note_sid`, `summary_sid`); a REST create records a transfer, it moves no task (a rep's
# transfer, with its invite and closed participant, is `POST /_sandbox/reps/{name}/transfers`).
def transfer_json(sb: Sandbox, t: Transfer) -> dict[str, Any]:
    return {
        "sid": t.sid,
        "account_sid": sb.state.account_sid,
        # The Flex instance (GO…) of the account: one per sandbox, derived from the seed.
        "instance_sid": sb.seed.sid("GO", "flex-instance"),
        "interaction_sid": t.interaction_sid,
        "channel_sid": t.channel_sid,
        "execution_sid": t.execution_sid,
        "type": t.type,
        "status": t.status,
        "from": t.from_,
        "to": t.to,
        "note_sid": t.note_sid,
        "summary_sid": t.summary_sid,
        "date_created": iso(t.date_created),
        "date_updated": iso(t.date_updated),
        "url": _u(f"/v1/Interactions/{t.interaction_sid}/Channels/{t.channel_sid}/Transfers/{t.sid}"),
    }


def _transfer_response(sb: Sandbox, t: Transfer, status: int = 200) -> JSONResponse:
    return JSONResponse(transfer_json(sb, flex_transfers.current(sb, t)), status_code=status)


def _transfer_fields(sb: Sandbox, ch: InteractionChannel, body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "type" in body:
        if body["type"] not in flex_transfers.TYPES:
            raise TwilioError(400, 20001, f"type must be one of {', '.join(flex_transfers.TYPES)}")
        fields["type"] = body["type"]
    if "status" in body:
        if body["status"] not in flex_transfers.STATUSES:
            raise TwilioError(400, 20001, f"status must be one of {', '.join(flex_transfers.STATUSES)}")
        fields["status"] = body["status"]
    if "from" in body:
        p = sb.state.interaction_participants.get(str(body["from"]))
        if p is None or p.channel_sid != ch.sid:
            raise TwilioError(400, 20001, f"from {body['from']!r} is not a participant of channel {ch.sid}")
        fields["from_"] = p.sid
    if "to" in body:
        if not isinstance(body["to"], str) or not body["to"]:
            raise TwilioError(400, 20001, "to must be a SID")
        fields["to"] = body["to"]
    for key in ("note_sid", "summary_sid"):
        if key in body:
            if not (isinstance(body[key], str) and re.fullmatch(r"KQ[0-9a-fA-F]{32}", body[key])):
                raise TwilioError(400, 20001, f"{key} must be a KQ… SID")
            fields[key] = body[key]
    return fields


def _transfer(sb: Sandbox, ch: InteractionChannel, sid: str) -> Transfer:
    t = sb.state.transfers.get(sid)
    if t is None or t.channel_sid != ch.sid:
        raise not_found("Transfer", sid)
    return t


@router.post("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Transfers")
async def create_transfer(request: Request, InteractionSid: str, ChannelSid: str) -> JSONResponse:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    fields = _transfer_fields(sb, ch, await read_json(request))
    t = flex_transfers.new_record(sb, InteractionSid, ch.sid, **fields)
    sb.recorder.add("flex.transfer.record", transfer_sid=t.sid, channel_sid=ch.sid, fields=sorted(fields))
    return _transfer_response(sb, t, 201)


@router.get("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Transfers/{Sid}")
async def fetch_transfer(request: Request, InteractionSid: str, ChannelSid: str, Sid: str) -> JSONResponse:
    sb = get_sb(request)
    return _transfer_response(sb, _transfer(sb, _channel(sb, InteractionSid, ChannelSid), Sid))


@router.post("/v1/Interactions/{InteractionSid}/Channels/{ChannelSid}/Transfers/{Sid}")
async def update_transfer(request: Request, InteractionSid: str, ChannelSid: str, Sid: str) -> JSONResponse:
    sb = get_sb(request)
    ch = _channel(sb, InteractionSid, ChannelSid)
    t = _transfer(sb, ch, Sid)
    fields = _transfer_fields(sb, ch, await read_json(request))
    status = fields.pop("status", None)
    for name, value in fields.items():
        setattr(t, name, value)
    t.date_updated = sb.now()
    if status is not None:
        flex_transfers.set_status(sb, t, status)
    return _transfer_response(sb, t)
