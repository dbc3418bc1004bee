"""What the contact is told while waiting for a person: when reps are away, when they will answer; in the queue,
their place and the expected wait, refreshed (policy `queue_updates`). Only inside the WhatsApp window (outside it
only templates may go out); never after a rep has accepted."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import READ_QUEUE_POSITION, ReadQueuePositionInput
from contracts.signals import TaskRouterEvent
from rules import business_hours, queue_position
from rules import window as window_rules
from rules.texts import for_language
from workflows.conversation import lifecycle, metrics
from workflows.conversation.context import Conversation
from workflows.conversation.effects import STATUS_READBACK_RETRY, activity_input, call, error_text
from workflows.conversation.whatsapp_sends import send_whatsapp
from workflows.state import SessionState


def after_hours_due(c: Conversation, sess: SessionState) -> bool:
    hp = sess.handoff
    return hp is not None and hp.reps_away_until is not None and not hp.after_hours_told


async def tell_after_hours(c: Conversation, sess: SessionState) -> None:
    """Once per handoff asked for outside business hours: when a person will answer, in the contact's language,
    and that the business will follow up if the window closes first."""
    hp = sess.handoff
    assert hp is not None and hp.reps_away_until is not None
    hp.after_hours_told = True
    now = workflow.now()
    if not window_rules.is_open(c.s.window_expires_at, now):
        return  # only a template could reach the contact now; the rep sees the handoff's timestamp
    hours = c.policy.business_hours
    zone = lifecycle.hours_for(c, sess).timezone
    text = for_language(hours.texts, hp.language).format(
        opening=business_hours.describe_opening(hp.reps_away_until, zone, hp.language)
    )
    if c.s.window_expires_at is not None and c.s.window_expires_at < hp.reps_away_until:
        text = f"{text} {for_language(hours.window_texts, hp.language)}"
    await send_whatsapp(c, "after-hours message", f"after-hours:{sess.session_id}:{hp.number}", body=text)


def next_queue_update(c: Conversation, sess: SessionState) -> datetime | None:
    """When the contact is next told their place in the queue (None: not now, or never again)."""
    if c.s.state != "queued" or sess.queued_since is None or sess.transfers:
        return None
    return queue_position.next_update_at(
        queued_since=sess.queued_since,
        sent=sess.queue_updates_sent,
        last_sent_at=sess.queue_update_last_at,
        settings=c.policy.queue_updates,
    )


def queue_update_due(c: Conversation, sess: SessionState) -> bool:
    due_at = next_queue_update(c, sess)
    now = workflow.now()
    return (
        due_at is not None
        and due_at <= now
        and window_rules.is_open(c.s.window_expires_at, now)
        and business_hours.is_open(now, lifecycle.hours_for(c, sess))
    )


async def tell_queue_position(c: Conversation, sess: SessionState) -> None:
    """Read where the task waits and tell the contact. A task already offered to a rep (not pending) is not in
    the queue any more: nothing is sent; a failed read is simply tried at the next update."""
    sess.queue_update_last_at = workflow.now()
    sess.queue_updates_sent += 1
    try:
        await _read_and_tell(c, sess)
    finally:
        # The spacing counts from when the contact was told: a slow read or send must not bring the next one closer.
        sess.queue_update_last_at = workflow.now()


async def _read_and_tell(c: Conversation, sess: SessionState) -> None:
    task_sid = sess.human_task_sid or sess.task_sid
    assert task_sid is not None and sess.queue_sid is not None
    try:
        where = await call(
            c,
            READ_QUEUE_POSITION,
            activity_input(c, ReadQueuePositionInput, sess, task_sid=task_sid),
            "read the contact's place in the queue",
            retry=STATUS_READBACK_RETRY,
        )
    except ActivityError as err:
        c.s.last_error = f"reading the queue position failed: {error_text(err)[0]}"
        return
    if where.position is None or _left_the_queue_meanwhile(c, task_sid):
        return
    language = sess.handoff.language if sess.handoff else sess.language
    wait = queue_position.expected_wait(where.position, where.avg_acceptance_seconds, where.available_workers)
    text = queue_position.update_text(where.position, wait, language, c.policy.queue_updates)
    sent = await send_whatsapp(
        c, "queue position", f"queue-position:{sess.session_id}:{sess.queue_updates_sent}", body=text
    )
    if sent is not None:
        metrics.queue_position_sent(c)


def _left_the_queue_meanwhile(c: Conversation, task_sid: str) -> bool:
    """A rep was offered the task (or it ended) while its position was read: the event waits in the inbox, and
    the position just read is already wrong."""
    return queue_position.left_the_queue(
        item.payload.event_type
        for item in c.s.inbox
        if isinstance(item.payload, TaskRouterEvent) and item.payload.task_sid == task_sid
    )


def arm(c: Conversation) -> None:
    """The queue-update timer: the next update's time, while one is to come. One that is due but cannot go now
    waits for the business hours' opening; one held up by another step is woken by that step's own signal or
    timer (never a timer at now: that would spin)."""
    sess = c.s.session
    due_at = next_queue_update(c, sess) if sess is not None else None
    now = workflow.now()
    if sess is not None and due_at is not None and due_at <= now:
        opening = business_hours.next_opening(now, lifecycle.hours_for(c, sess))
        open_window = window_rules.is_open(c.s.window_expires_at, now)
        due_at = opening if open_window and opening is not None and opening > now else None
    c.timers.set("queue_update", due_at)
