"""Flex's orchestration on top of TaskRouter and Conversations, shared by the Flex REST routes and the reps'
simulated Flex UI: tasks from `Routing`, invites, an accepted reservation joining the agent, a closed
participant ending its task."""

from __future__ import annotations

from typing import Any

from twilio_sandbox import conversations_logic as conv_logic
from twilio_sandbox.core import Sandbox
from twilio_sandbox.engine import loads_attrs
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.forms import parse_json_object
from twilio_sandbox.state import Conversation, InteractionChannel, InteractionParticipant, Invite, Reservation, Task

# Flex's own linkage keys on an interaction's tasks: always the real interaction's, whatever Routing says.
LINKAGE_KEYS = ("conversationSid", "flexInteractionSid", "flexInteractionChannelSid", "flexChannelInviteSid")


def routing_properties(sb: Sandbox, task: Task) -> dict[str, Any]:
    """A task as Flex shows it in `routing.properties` (epoch-second dates, attributes as an object)."""
    return {
        "sid": task.sid,
        "workspace_sid": sb.state.workspace.sid,
        "account_sid": sb.state.account_sid,
        "workflow_sid": task.workflow_sid,
        "queue_sid": task.task_queue_sid,
        "task_channel_unique_name": task.task_channel,
        "attributes": loads_attrs(task.attributes),
        "assignment_status": task.assignment_status,
        "priority": task.priority,
        "timeout": task.timeout,
        "age": sb.engine.age(task),
        "reason": task.reason,
        "date_created": int(task.date_created.timestamp()),
        "date_updated": int(task.date_updated.timestamp()),
        "task_queue_entered_date": int(task.task_queue_entered_date.timestamp())
        if task.task_queue_entered_date
        else None,
        "routing_target": task.routing_target,
    }


def routing_task(
    sb: Sandbox, routing: dict[str, Any], base_attrs: dict[str, Any], excluded_workers: set[str] | None = None
) -> Task:
    """The task a `Routing` object asks for: "All attributes in the Routing object … are added as is to the task";
    `queue_sid` + `worker_sid` (agent-initiated) target one worker in that queue. `excluded_workers` are never
    offered the task."""
    props = routing.get("properties")
    if not isinstance(props, dict):
        raise TwilioError(400, 20001, "Routing.properties must be an object")
    ws = props.get("workspace_sid")
    if ws != sb.state.workspace.sid:
        raise TwilioError(400, 20001, f"Routing.properties.workspace_sid {ws!r} is not a workspace of this account")
    attrs = props.get("attributes", {})
    if isinstance(attrs, str):
        attrs = parse_json_object("Routing.properties.attributes", attrs)
    if not isinstance(attrs, dict):
        raise TwilioError(400, 20001, "Routing.properties.attributes must be an object")
    merged = {**base_attrs, **attrs}
    for key in LINKAGE_KEYS:
        if key in base_attrs:
            merged[key] = base_attrs[key]
    channel = props.get("task_channel_unique_name") or props.get("task_channel_sid") or "default"
    try:
        priority = int(props.get("priority", 0))
        timeout = int(props.get("timeout", 86400))
    except (TypeError, ValueError) as exc:
        raise TwilioError(400, 20001, "Routing.properties priority/timeout must be integers") from exc
    worker_sid = props.get("worker_sid")
    if worker_sid is not None and worker_sid not in sb.state.workers:
        raise TwilioError(400, 20001, f"Routing.properties.worker_sid {worker_sid!r} is not a worker of this workspace")
    if worker_sid is not None and props.get("queue_sid") is None:
        raise TwilioError(400, 20001, "Routing.properties.worker_sid needs a queue_sid")
    return sb.engine.create_task(
        attributes=merged,
        workflow_sid=props.get("workflow_sid"),
        task_channel=str(channel),
        priority=priority,
        timeout=timeout,
        task_queue_sid=props.get("queue_sid"),
        routing_target=worker_sid,
        excluded_workers=excluded_workers,
    )


def conversation_of(sb: Sandbox, ch: InteractionChannel) -> Conversation | None:
    return sb.state.conversations.get(ch.media_channel_sid or "")


def invite(
    sb: Sandbox, ch: InteractionChannel, routing: dict[str, Any], declined_by: set[str] | None = None
) -> tuple[Invite, Task]:
    """`POST …/Invites`: a new task on the existing interaction channel (nothing is carried over from earlier
    tasks but Flex's linkage keys)."""
    if ch.status == "closed":
        raise TwilioError(400, 20001, f"Channel {ch.sid} is closed")
    kg = sb.sids.new("KG")
    base_attrs = {
        "conversationSid": ch.media_channel_sid,
        "flexInteractionSid": ch.interaction_sid,
        "flexInteractionChannelSid": ch.sid,
        "flexChannelInviteSid": kg,
    }
    task = routing_task(sb, routing, base_attrs, declined_by)
    inv = Invite(kg, ch.interaction_sid, ch.sid, {"properties": routing_properties(sb, task)})
    sb.state.invites[kg] = inv
    sb.recorder.add("flex.invite", invite_sid=kg, task_sid=task.sid)
    return inv, task


def on_reservation_accepted(sb: Sandbox, task: Task, res: Reservation) -> None:
    """The accepting worker joins the interaction channel (agent participant) and its conversation."""
    attrs = loads_attrs(task.attributes)
    ch = sb.state.interaction_channels.get(str(attrs.get("flexInteractionChannelSid", "")))
    if ch is None:
        return
    worker = sb.state.workers[res.worker_sid]
    already = any(
        p.routing_properties and p.routing_properties.get("task_sid") == task.sid
        for p in sb.state.interaction_participants.where("channel_sid", ch.sid)
    )
    if not already:
        p = InteractionParticipant(
            sb.sids.new("UT"),
            ch.interaction_sid,
            ch.sid,
            "agent",
            "joined",
            {},
            {
                "task_sid": task.sid,
                "worker_sid": worker.sid,
                "reservation_sid": res.sid,
                "workspace_sid": sb.state.workspace.sid,
            },
        )
        sb.state.interaction_participants[p.sid] = p
    conv = conversation_of(sb, ch)
    if conv is not None and conv.state != "closed":
        identity = sb.engine.worker_identity(worker)
        if conv_logic.find_participant(sb, conv, identity) is None:
            mb = conv_logic.add_chat_participant(sb, conv, identity)
            conv_logic.participant_added(sb, conv, mb, fire_service=True, fire_scoped=True, source="SDK")


def close_participant(sb: Sandbox, p: InteractionParticipant, status: str) -> None:
    """`Status=closed`: "the associated task is completed but the channel, Conversation in this case, remains
    active" (the agent leaves the conversation); `wrapup` moves the task to wrapping."""
    p.status = status
    task_sid = (p.routing_properties or {}).get("task_sid")
    task = sb.state.tasks.get(str(task_sid)) if task_sid else None
    if task is None:
        return
    res = sb.engine.active_reservation(task)
    if status == "wrapup" and task.assignment_status == "assigned":
        sb.engine.wrapup(task, res)
    elif status == "closed" and task.assignment_status in ("assigned", "wrapping"):
        sb.engine.complete(task, res, "Participant closed")
        sb.engine.assign()
    elif status == "closed" and task.assignment_status in ("pending", "reserved"):
        sb.engine.update_status(task, "canceled", "Participant closed")
    if status == "closed" and res is not None:
        ch = sb.state.interaction_channels.get(p.channel_sid)
        conv = conversation_of(sb, ch) if ch else None
        if conv is not None:
            identity = sb.engine.worker_identity(sb.state.workers[res.worker_sid])
            mb = conv_logic.find_participant(sb, conv, identity)
            if mb is not None:
                del sb.state.participants[mb.sid]
