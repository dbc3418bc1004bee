"""What a TaskRouter event means for the current session (docs/DESIGN.md §3).

The AI's own task closing at a transfer is not a session end; the rep's task completing, being
canceled or going
to wrap-up is. Events of another session (late or duplicated deliveries) are ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from rules.handoff_attributes import session_id_of

EventAction = Literal[
    "ai_offer",  # reservation.created for the AI worker: accept it
    "ai_accepted",  # the AI's reservation is accepted (possibly seen before its `created`)
    "ai_released",  # the AI's pending reservation went away: wait for a new offer
    "human_offer",  # a rep is being offered the task (informational)
    "human_accepted",  # a rep accepted: with_rep
    "transfer_offer",  # a new task of this session (a rep transferred it) is being offered: follow it
    "transfer_accepted",  # …and accepted (its offer may not have been seen)
    "session_end",  # the rep's task (or the AI's, before any handoff) ended
    "ignore",
]

TASK_END_TYPES = frozenset({"task.completed", "task.canceled", "task.wrapup", "task.deleted"})
RESERVATION_END_TYPES = frozenset({"reservation.wrapup", "reservation.completed"})
AI_RELEASE_TYPES = frozenset(
    {"reservation.timeout", "reservation.rescinded", "reservation.canceled", "reservation.rejected"}
)


REP_TASK_END_STATUSES = frozenset({"canceled", "completed", "wrapping"})


def rep_task_ended(assignment_status: str) -> bool:
    """A rep's task read back in this status has ended the session, as its event would have."""
    return assignment_status in REP_TASK_END_STATUSES


class TaskContext(BaseModel):
    session_id: str | None
    ai_worker_name: str
    ai_worker_sid: str | None = None
    ai_queue_sid: str | None = None
    ai_task_sid: str | None = None
    human_task_sid: str | None = None
    handed_off: bool = False  # hand_to_humans has completed
    handoff_path: Literal["rejected", "transferred"] | None = None


class EventFacts(BaseModel):
    event_type: str
    task_sid: str
    worker_sid: str | None = None
    worker_name: str | None = None
    task_queue_sid: str | None = None
    task_attributes: dict[str, object] = {}


def is_ai_worker(facts: EventFacts, ctx: TaskContext) -> bool:
    if facts.worker_name and facts.worker_name == ctx.ai_worker_name:
        return True
    return bool(ctx.ai_worker_sid and facts.worker_sid == ctx.ai_worker_sid)


def classify(facts: EventFacts, ctx: TaskContext) -> EventAction:
    if ctx.session_id is None:
        return "ignore"
    event_session = session_id_of(facts.task_attributes)
    if event_session is not None and event_session != ctx.session_id:
        return "ignore"
    known_tasks = {t for t in (ctx.ai_task_sid, ctx.human_task_sid) if t}
    if event_session is None and facts.task_sid not in known_tasks:
        return "ignore"
    etype = facts.event_type
    is_ai_task = facts.task_sid == ctx.ai_task_sid
    # Before the handoff the task is the AI's (reject path: the same task is then re-routed to humans).
    rep_task = ctx.human_task_sid if ctx.handed_off else None
    if etype.startswith("reservation."):
        ai = is_ai_worker(facts, ctx) or (
            not ctx.handed_off and ctx.ai_queue_sid is not None and facts.task_queue_sid == ctx.ai_queue_sid
        )
        if ai:
            if ctx.handed_off or not is_ai_task:
                return "ignore"
            if etype == "reservation.created":
                return "ai_offer"
            if etype == "reservation.accepted":
                return "ai_accepted"
            if etype in AI_RELEASE_TYPES:
                return "ai_released"
            return "ignore"
        if not ctx.handed_off:
            return "ignore"
        if rep_task is not None and facts.task_sid != rep_task:
            # Another task of this very session, neither the AI's nor the rep's: Flex made it for a transfer.
            if event_session == ctx.session_id and facts.task_sid != ctx.ai_task_sid:
                if etype == "reservation.created":
                    return "transfer_offer"
                if etype == "reservation.accepted":
                    return "transfer_accepted"
            return "ignore"
        if etype == "reservation.created":
            return "human_offer"
        if etype == "reservation.accepted":
            return "human_accepted"
        if etype in RESERVATION_END_TYPES:
            return "session_end"
        return "ignore"
    if etype in TASK_END_TYPES:
        if ctx.handed_off:
            if rep_task is not None and facts.task_sid == rep_task:
                return "session_end"
            # The AI's task ending at a transfer is expected and ends nothing.
            return "ignore"
        return "session_end" if is_ai_task else "ignore"
    return "ignore"


def rep_task_check_due(
    *,
    with_rep: bool,
    awaiting_rep_task_end: bool,
    conversation_known: bool,
    newest_waiting_message: str | None,
    checked_for: str | None,
) -> bool:
    """A contact message is about to go to the rep: read their task first. Twilio may never deliver its
    `task.completed`, and the periodic read comes hours later: meanwhile the message would go into a
    conversation nobody works. One read per batch of waiting messages (the newest names the batch)."""
    return (
        with_rep
        and awaiting_rep_task_end
        and conversation_known
        and newest_waiting_message is not None
        and checked_for != newest_waiting_message
    )
