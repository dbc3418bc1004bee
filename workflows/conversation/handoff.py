"""The handoff: merge the six attributes (If-Match), post the handoff note, hand the task to the humans.

One `hand_off` activity does the three steps (each idempotent); a failed round is retried whole with backoff,
raises the stuck flag and posts one notice in Flex. A handoff asked for before the task exists waits for the
task; a pending AI reservation is then rejected rather than accepted (the activity decides: reject while
pending, else transfer by an Invite and close the AI's participant). A rep's task is never closed by us.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import HAND_OFF, HandOffInput, HandToHumansInput, MergeHandoffAttributesInput
from contracts.signals import CommandOutcomeName
from contracts.views import HandoffSource
from rules import business_hours, notices
from rules import window as window_rules
from rules.backoff import backoff
from rules.handoff_attributes import build_handoff_attributes
from workflows.conversation import lifecycle, metrics
from workflows.conversation.context import SYSTEM_AUTHOR, Conversation
from workflows.conversation.effects import STEPS_HEARTBEAT, TWILIO_TIMEOUT, activity_input, call, error_text, post_input
from workflows.conversation.flex_posts import notice
from workflows.conversation.whatsapp_sends import send_whatsapp
from workflows.state import HandoffProgress, SessionState

MAX_HANDOFF_ROUNDS = 5
RETRY_FIRST = timedelta(seconds=30)


def request(
    c: Conversation,
    *,
    source: HandoffSource,
    reason: str,
    summary: str,
    sentiment: str = "neutral",
    language: str | None = None,
) -> CommandOutcomeName:
    """Ask for a handoff of the open session; what became of the request."""
    sess = c.s.session
    if sess is None:
        c.skip(f"handoff ({reason}) requested with no open session")
        return "nothing_to_hand_off"
    if sess.handoff is not None:
        hp = sess.handoff
        if not sess.handed_off and hp.attempts >= MAX_HANDOFF_ROUNDS:
            hp.attempts = 0  # an explicit new request revives a handoff that gave up
            hp.retry_at = None
            return "handoff_pending"
        workflow.logger.info("handoff already in progress; request (%s) ignored", reason)
        return "already_requested"
    now = workflow.now()
    c.s.handoff_count += 1
    attrs = build_handoff_attributes(
        reason=reason, summary=summary, sentiment=sentiment, language=language or sess.language, at=now
    )
    hp = HandoffProgress(
        number=c.s.handoff_count,
        source=source,
        reason=attrs["handoffReason"],
        summary=attrs["handoffSummary"],
        sentiment=attrs["handoffSentiment"],
        language=attrs["handoffLanguage"],
        requested_at=now,
        attributes=attrs,
    )
    sess.handoff = hp
    c.s.handoff_requested_at = now
    hours = c.policy.business_hours
    opening = business_hours.next_opening(now, lifecycle.hours_for(c, sess))
    if opening != now:
        hp.reps_away_until = opening  # the contact is told when a person will answer (`waiting`)
        metrics.after_hours_handoff(c)
        if hours.when_closed == "hold" and opening is not None:
            hp.hold_until = opening
            c.timers.set("opening", opening)
            if hours.ai_answers_while_closed:
                return "handoff_pending"  # the AI keeps answering until the opening
    sess.ai_pending_sids.clear()
    metrics.handoff_requested(c, source, reason)
    c.set_state("handoff_requested", f"handoff asked for ({source}): {reason}")
    return "handoff_pending"


def release_held(c: Conversation, sess: SessionState) -> None:
    """Business hours opened: a handoff held for them goes to the humans now (the AI stops answering)."""
    hp = sess.handoff
    if hp is None or hp.hold_until is None or hp.hold_until > workflow.now():
        return
    hp.hold_until = None
    sess.ai_pending_sids.clear()
    c.set_state("handoff_requested", "business hours opened: the held handoff goes to the humans")


def due(c: Conversation, sess: SessionState) -> bool:
    """A handoff round may run now: requested, not yet with the humans, its retry time reached."""
    hp = sess.handoff
    if hp is None or sess.handed_off or sess.task_sid is None or hp.hold_until is not None:
        return False
    return hp.attempts < MAX_HANDOFF_ROUNDS and (hp.retry_at is None or hp.retry_at <= workflow.now())


async def run(c: Conversation, sess: SessionState) -> None:
    """One round of the handoff."""
    hp = sess.handoff
    assert hp is not None and sess.task_sid and sess.interaction_sid and sess.channel_sid
    pol = c.policy
    merge = activity_input(c, MergeHandoffAttributesInput, sess, handoff_attributes=hp.attributes)
    note = post_input(
        c,
        sess.conversation_sid,
        SYSTEM_AUTHOR,
        notices.handoff_note(summary=hp.summary, sentiment=hp.sentiment, reason=hp.reason, language=hp.language),
        f"handoff-note:{sess.session_id}:{hp.number}",
        attributes={"waHandoffNote": True},
    )
    hand = activity_input(c, HandToHumansInput, sess, reservation_sid=sess.ai_reservation_sid)
    try:
        done = await call(
            c,
            HAND_OFF,
            HandOffInput(merge=None if hp.merged else merge, note=None if hp.noted else note, hand=hand),
            "hand off: merge the attributes (If-Match), post the note, hand the task to the humans",
            limit=TWILIO_TIMEOUT * 3,
            heartbeat=STEPS_HEARTBEAT,
        )
    except ActivityError as err:
        detail, _ = error_text(err)
        hp.attempts += 1
        metrics.handoff_round_failed(c, gave_up=hp.attempts >= MAX_HANDOFF_ROUNDS)
        c.s.stuck = True
        c.s.last_error = f"handoff failed: {detail}"
        if hp.attempts < MAX_HANDOFF_ROUNDS:
            hp.retry_at = workflow.now() + backoff(RETRY_FIRST, hp.attempts)
            c.timers.set("retry", hp.retry_at)
        c.tell_handoff_waiters("handoff_retrying", detail)
        if not hp.failed_notice_sent and sess.conversation_sid:
            hp.failed_notice_sent = True
            await notice(
                c, "handoff_failed", notices.handoff_failed(detail), f"handoff-failed:{sess.session_id}:{hp.number}"
            )
        return
    if done.attributes is not None:
        sess.task_attributes = done.attributes
    hp.merged = hp.noted = True
    handed = done.handed
    hp.path = handed.path
    hp.retry_at = None
    sess.handed_off = True
    sess.human_task_sid = handed.human_task_sid or (sess.task_sid if handed.path == "rejected" else None)
    now = workflow.now()
    sess.queued_since = now
    sess.queue_sid = sess.queue_sid or pol.human_queue_sid
    metrics.handed_off(c, hp)
    c.set_state("queued", f"handed to the humans ({handed.path})")
    c.s.stuck = False
    c.timers.set("sla", now + timedelta(seconds=pol.queue_sla_seconds))
    lifecycle.wait_for(c, sess, "human_acceptance")
    c.tell_handoff_waiters("handed_off", f"the task is in the human queue ({handed.path})")


async def queue_sla_passed(c: Conversation) -> None:
    """No rep accepted within the queue SLA: the conversation is flagged stuck, reps get a notice, and the
    contact the org's busy message (once, inside the window)."""
    sess = c.s.session
    if c.s.state != "queued" or sess is None or sess.queued_since is None:
        return
    c.s.stuck = True
    if not sess.sla_notified:
        sess.sla_notified = True
        await notice(
            c,
            "queue_stuck",
            notices.queue_stuck(sess.queued_since, c.policy.queue_sla_seconds),
            f"sla:{sess.session_id}:{c.s.handoff_count}",
        )
    # With queue updates on, the contact already hears where they stand: no static "all busy" on top.
    busy = None if c.policy.queue_updates.enabled else c.policy.busy_message
    if busy and not sess.busy_sent:
        sess.busy_sent = True
        if window_rules.is_open(c.s.window_expires_at, workflow.now()):
            await send_whatsapp(c, "busy message", f"busy:{sess.session_id}:{c.s.handoff_count}", body=busy)
        else:
            await notice(c, "busy_not_sent", notices.busy_not_sent_window_closed(), f"busy:{sess.session_id}:closed")
