"""A session's life: what it waits for from TaskRouter (and when that is read back instead), its end, and the
quiet periods that end an AI-held session or complete an idle conversation's workflow."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from contracts.policy import OpeningHours
from contracts.views import AwaitingKind
from rules import handback, quiet, reconcile
from workflows.conversation import metrics
from workflows.conversation.context import Conversation
from workflows.state import CsatAsked, SessionState

# Opening a Flex session is tried in this many rounds (each an activity with its own retries), then given up
# until the contact writes again.
MAX_OPEN_ROUNDS = 5


def wait_for(c: Conversation, sess: SessionState, kind: AwaitingKind | None) -> None:
    """What the session waits for from TaskRouter; its webhook is read back if it does not come in time."""
    sess.awaiting = kind
    sess.reconcile_attempts = 0
    if kind is None:
        sess.awaiting_since = None
        sess.reconcile_at = None
        c.timers.set("reconcile", None)
        return
    now = workflow.now()
    sess.awaiting_since = now
    sess.reconcile_at = now + reconcile.first_check(kind)
    c.timers.set("reconcile", sess.reconcile_at)


def read_back_later(c: Conversation, sess: SessionState) -> None:
    """The read settled nothing: read again after a longer wait."""
    assert sess.awaiting is not None
    sess.reconcile_at = workflow.now() + reconcile.next_check(sess.awaiting, sess.reconcile_attempts)
    c.timers.set("reconcile", sess.reconcile_at)


def end_session(c: Conversation, why: str) -> None:
    """The session is over (the rep's task ended, or a quiet AI session was released): back to the AI; the next
    contact message opens a new session."""
    sess = c.s.session
    if sess is None:
        return
    workflow.logger.info("session %s ended: %s", sess.number, why)
    c.tell_handoff_waiters("nothing_to_hand_off", f"the session ended first ({why})")
    metrics.session_ended(c, sess)
    now = workflow.now()
    if sess.rep_accepted_at is not None and sess.handoff is not None:
        # The AI's next session builds on what the reps did; the contact is asked to rate it.
        c.s.handback = handback.human_part(c.s.transcript, sess.handoff.requested_at)
        if c.policy.csat.enabled:
            c.s.csat_due = CsatAsked(
                session_number=sess.number, conversation_sid=sess.conversation_sid, asked_at=now, via="quick_reply"
            )
    else:
        c.s.handback = None
    c.s.session = None
    c.s.sessions_ended += 1
    c.set_state("ai", f"session ended: {why}")
    c.s.stuck = False
    c.s.handoff_requested_at = None
    c.timers.set("sla", None)
    c.timers.set("reconcile", None)
    arm_quiet(c)


def opening_gave_up(sess: SessionState) -> bool:
    return sess.open_attempts >= MAX_OPEN_ROUNDS and sess.open_retry_at is None


def ai_held(c: Conversation, sess: SessionState) -> bool:
    return c.s.state == "ai" and sess.handoff is None and not sess.handed_off


def ai_answering(c: Conversation, sess: SessionState) -> bool:
    """The AI answers the contact: it holds the session, or a handoff waits for business hours and the org
    wants the AI to answer meanwhile."""
    hp = sess.handoff
    held = hp is not None and hp.hold_until is not None and c.policy.business_hours.ai_answers_while_closed
    return c.s.state == "ai" and not sess.handed_off and (hp is None or held)


def hours_for(c: Conversation, sess: SessionState) -> OpeningHours:
    """The opening hours that apply to the session's human queue (its own, else the org's)."""
    hours = c.policy.business_hours
    queue = sess.queue_sid or c.policy.human_queue_sid
    return hours.queues.get(queue, hours)


def ai_session_deadline(c: Conversation, sess: SessionState) -> datetime | None:
    if not ai_held(c, sess):
        return None
    return quiet.ai_session_deadline(
        opened_at=sess.opened_at,
        quiet_from=sess.ai_quiet_from,
        ai_session_idle=timedelta(seconds=c.policy.ai_session_idle_seconds),
        window_expires_at=c.s.window_expires_at,
        release_retry_at=sess.release_retry_at,
    )


def ai_session_due(c: Conversation, sess: SessionState) -> bool:
    """The AI-held session ends now (nothing is waiting in the inbox)."""
    deadline = ai_session_deadline(c, sess)
    if deadline is None or c.s.inbox:
        return False
    return quiet.ai_session_may_end(
        now=workflow.now(),
        deadline=deadline,
        unanswered=bool(sess.ai_pending_sids),
        not_in_flex=sess.task_sid is None or bool(sess.backlog),
        window_expires_at=c.s.window_expires_at,
    )


def idle_deadline(c: Conversation) -> datetime | None:
    if c.s.session is not None:
        return None
    return quiet.idle_close_deadline(
        last_activity_at=c.s.last_activity_at,
        now=workflow.now(),
        window_expires_at=c.s.window_expires_at,
        idle_close=timedelta(seconds=c.policy.idle_close_seconds),
    )


def idle_close_due(c: Conversation) -> bool:
    deadline = idle_deadline(c)
    return (
        deadline is not None
        and not c.s.inbox
        and quiet.idle_close_due(now=workflow.now(), deadline=deadline, window_expires_at=c.s.window_expires_at)
    )


def arm_quiet(c: Conversation) -> None:
    """The one quiet-period timer: the AI session's end while the AI holds it, the idle close with no session,
    none while a handoff or a rep holds it. Re-armed lazily (moving it later starts nothing)."""
    sess = c.s.session
    deadline = ai_session_deadline(c, sess) if sess is not None else idle_deadline(c)
    now = workflow.now()
    if sess is not None and deadline is not None and deadline <= now and not ai_session_due(c, sess):
        # Due but blocked (never a busy loop): unanswered contact messages hold the session until the window
        # closes; other work (inbox, opening retries) wakes the loop by its own signal or timer.
        window = c.s.window_expires_at
        if sess.ai_pending_sids and not c.s.inbox and window is not None and window > now:
            deadline = window
        else:
            deadline = None
    c.timers.set("quiet", deadline)
