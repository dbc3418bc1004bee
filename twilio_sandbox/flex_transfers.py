"""A rep's messaging transfer as Flex performs it (cold, to another rep or to a queue, on the same channel).

Documented (Flex docs on messaging transfers, Invites and "park an interaction"): the conversation and its history
stay; a new task is created on the same interaction channel by an Invite, which carries no attributes over by
itself, so the original task's attributes go into it; closing the transferring agent's participant completes its
task "but the channel, Conversation in this case, remains active"; "if the receiving agent isn't available, or if
they reject the task, Flex sends the message to the next available agent"; a transfer to a queue goes "directly to
the queue". The interaction channel has a `…/Transfers` resource (UX…, spec only).

Assumed (what the native feature does is not documented): the order (invite first, so the contact is never
without a task, then close the participant: TaskRouter events `task.created`, `task-queue.entered`,
`reservation.created` of the new task before `reservation.completed`, `task.completed` of the old one); the
attributes added to the new task, taken from Twilio Professional Services' conversation-transfer template [obs]:
`transferTargetType` (`worker`|`queue`), `transferTargetSid`, `transferQueueName` (queue transfers) and
`ignoreWorkerContactUri` (the transferring rep's contact URI: a queue transfer is not offered back to them); that
the transfer record's `to` holds the target's SID and turns `completed` when the new task is accepted, `failed`
when it is canceled.
"""

from __future__ import annotations

from typing import Any

from twilio_sandbox import flex_logic
from twilio_sandbox.core import Sandbox
from twilio_sandbox.engine import loads_attrs
from twilio_sandbox.errors import TwilioError, not_found
from twilio_sandbox.state import InteractionParticipant, Task, TaskQueue, Transfer, Worker

TYPES = ("cold", "warm", "external")
STATUSES = ("active", "failed", "completed")


def new_record(sb: Sandbox, interaction_sid: str, channel_sid: str, **fields: Any) -> Transfer:
    now = sb.now()
    transfer = Transfer(
        sid=sb.sids.new("UX"),
        interaction_sid=interaction_sid,
        channel_sid=channel_sid,
        execution_sid=sb.sids.new("QW"),
        type=fields.pop("type", "cold"),
        status=fields.pop("status", "active"),
        from_=fields.pop("from_", None),
        to=fields.pop("to", None),
        note_sid=fields.pop("note_sid", None),
        summary_sid=fields.pop("summary_sid", None),
        date_created=now,
        date_updated=now,
        **fields,
    )
    sb.state.transfers[transfer.sid] = transfer
    return transfer


def set_status(sb: Sandbox, transfer: Transfer, status: str) -> None:
    if transfer.status == status:
        return
    transfer.status, transfer.date_updated = status, sb.now()
    sb.recorder.add(
        "flex.transfer.status", transfer_sid=transfer.sid, status=status, new_task_sid=transfer.new_task_sid
    )


def current(sb: Sandbox, transfer: Transfer) -> Transfer:
    """The record with its status brought up to date: `failed` once the new task was canceled."""
    task = sb.state.tasks.get(transfer.new_task_sid or "")
    if transfer.status == "active" and task is not None and task.assignment_status == "canceled":
        set_status(sb, transfer, "failed")
    return transfer


def on_reservation_accepted(sb: Sandbox, task: Task, _res: object) -> None:
    for transfer in sb.state.transfers.values():
        if transfer.new_task_sid == task.sid and transfer.status == "active":
            set_status(sb, transfer, "completed")


def _agent_participant(sb: Sandbox, task: Task) -> InteractionParticipant:
    channel_sid = str(loads_attrs(task.attributes).get("flexInteractionChannelSid", ""))
    for p in sb.state.interaction_participants.where("channel_sid", channel_sid):
        if p.type == "agent" and (p.routing_properties or {}).get("task_sid") == task.sid and p.status != "closed":
            return p
    raise TwilioError(400, 20001, f"Task {task.sid} has no open agent participant on an interaction channel")


def transfer(
    sb: Sandbox,
    rep: Worker,
    task: Task,
    *,
    to_queue: TaskQueue | None = None,
    to_worker: Worker | None = None,
    note: str | None = None,
) -> Transfer:
    """Rep `rep` transfers their task `task` to a queue or to another rep, as the Flex UI does."""
    if (to_queue is None) == (to_worker is None):
        raise TwilioError(400, 20001, "A transfer goes to one queue or to one worker")
    res = sb.engine.active_reservation(task)
    if res is None or res.worker_sid != rep.sid or res.status != "accepted":
        raise TwilioError(
            400, 20001, f"Task {task.sid} is not assigned to {rep.friendly_name}: only its holder transfers it"
        )
    if to_worker is not None and to_worker.sid == rep.sid:
        raise TwilioError(400, 20001, f"{rep.friendly_name} cannot transfer a conversation to themself")
    participant = _agent_participant(sb, task)
    channel = sb.state.interaction_channels[participant.channel_sid]
    attrs = {k: v for k, v in loads_attrs(task.attributes).items() if k not in flex_logic.LINKAGE_KEYS}
    contact_uri = loads_attrs(rep.attributes).get("contact_uri")
    if to_queue is not None:
        target_sid = to_queue.sid
        attrs.update(
            transferTargetType="queue", transferTargetSid=to_queue.sid, transferQueueName=to_queue.friendly_name
        )
        if isinstance(contact_uri, str):
            attrs["ignoreWorkerContactUri"] = contact_uri
        routing_queue = to_queue.sid
    else:
        assert to_worker is not None
        target_sid = to_worker.sid
        attrs.update(transferTargetType="worker", transferTargetSid=to_worker.sid)
        routing_queue = task.task_queue_sid or next(iter(sb.state.queues))
    note_sid = sb.sids.new("KQ") if note else None
    record = new_record(
        sb, channel.interaction_sid, channel.sid, from_=participant.sid, to=target_sid, note_sid=note_sid
    )
    routing = {
        "properties": {
            "workspace_sid": sb.state.workspace.sid,
            "queue_sid": routing_queue,
            "worker_sid": to_worker.sid if to_worker is not None else None,
            "task_channel_unique_name": task.task_channel,
            "priority": task.priority,
            "attributes": attrs,
        }
    }
    routing["properties"] = {k: v for k, v in routing["properties"].items() if v is not None}
    invite, new_task = flex_logic.invite(sb, channel, routing, declined_by={rep.sid} if to_queue is not None else None)
    record.new_task_sid, record.from_task_sid = new_task.sid, task.sid
    sb.recorder.add(
        "flex.transfer",
        transfer_sid=record.sid,
        rep=rep.friendly_name,
        from_worker_sid=rep.sid,
        from_task_sid=task.sid,
        from_participant_sid=participant.sid,
        to_type="queue" if to_queue is not None else "worker",
        to_sid=target_sid,
        invite_sid=invite.sid,
        new_task_sid=new_task.sid,
        conversation_sid=channel.media_channel_sid,
        note=note,
    )
    flex_logic.close_participant(sb, participant, "closed")
    return record


def find_task(sb: Sandbox, rep: Worker, *, task_sid: str | None, conversation_sid: str | None) -> Task:
    """The rep's task named directly, or the one they hold on a conversation."""
    if task_sid is not None:
        task = sb.state.tasks.get(task_sid)
        if task is None:
            raise not_found("Task", task_sid)
        return task
    for r in sb.state.reservations.where("worker_sid", rep.sid):
        task = sb.state.tasks[r.task_sid]
        if r.status == "accepted" and loads_attrs(task.attributes).get("conversationSid") == conversation_sid:
            return task
    raise TwilioError(400, 20001, f"{rep.friendly_name} holds no task on conversation {conversation_sid}")
