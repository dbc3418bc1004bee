"""What operators see without a query: search attributes (no PII) and the markdown current details in the
Temporal UI; and the `state` query's view."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from contracts import search_attributes as sa
from contracts.contacts import contact_ref, mask_address
from contracts.ids import is_bsuid
from contracts.views import ConversationView, RatingView
from rules import window as window_rules
from rules.handoff_attributes import iso_utc
from workflows.conversation.context import Conversation

_KEYS = {k.name: k for k in sa.ALL_KEYS}
# States in which people hold or wait for the conversation: `WindowExpiresAt` is exact in them.
REP_STATES = frozenset({"handoff_requested", "queued", "with_rep"})


def view(c: Conversation) -> ConversationView:
    s = c.s
    sess = s.session
    hp = sess.handoff if sess else None
    return ConversationView(
        state=s.state,
        session_number=s.session_number,
        session_id=sess.session_id if sess else None,
        task_sid=sess.task_sid if sess else None,
        human_task_sid=sess.human_task_sid if sess else None,
        reservation_sid=sess.ai_reservation_sid if sess else None,
        ai_reservation_status=sess.ai_reservation_status if sess else None,
        rep_worker_sid=sess.rep_worker_sid if sess else None,
        conversation_sid=sess.conversation_sid if sess else None,
        interaction_sid=sess.interaction_sid if sess else None,
        channel_sid=sess.channel_sid if sess else None,
        window_expires_at=s.window_expires_at,
        window_open=window_rules.is_open(s.window_expires_at, workflow.now()),
        handoff_requested_at=s.handoff_requested_at,
        handoff_reason=hp.reason if hp else None,
        handoff_path=hp.path if hp else None,
        handoff_count=s.handoff_count,
        stuck=s.stuck,
        busy_sent=sess.busy_sent if sess else False,
        profile_name=s.profile_name,
        profile_name_of_task=sess.profile_name_at_creation if sess else None,
        notices=list(s.notices),
        last_error=s.last_error,
        delivery_failures=list(s.delivery_failures),
        skipped=list(s.skipped),
        sessions_ended=s.sessions_ended,
        signals_received=s.signals_received,
        duplicates_ignored=s.duplicates_ignored,
        events_processed=s.events_processed,
        idle=c.idle and not s.inbox and not c.timers.fired,
        runs=s.runs,
        awaiting=sess.awaiting if sess else None,
        rep_accepted_at=sess.rep_accepted_at if sess else None,
        queue_sid=sess.queue_sid if sess else None,
        queue_updates_sent=sess.queue_updates_sent if sess else 0,
        transfers=sess.transfers if sess else 0,
        handoff_held_until=hp.hold_until if hp else None,
        contact_hides_number=s.contact_phone is None and is_bsuid(c.contact_address),
        contact_masked=mask_address(c.reply_address),
        ratings=[RatingView(**r.model_dump()) for r in s.ratings],
    )


def publish(c: Conversation) -> None:
    """Upsert the search attributes that changed (one upsert) and the current details when they changed."""
    s = c.s
    sess = s.session
    wanted: dict[str, Any] = {
        sa.CONVERSATION_STATE.name: s.state,
        sa.HANDOFF_REQUESTED_AT.name: s.handoff_requested_at,
        sa.HANDOFF_STUCK.name: s.stuck,
        sa.WINDOW_EXPIRES_AT.name: window_rules.published_expiry(s.window_expires_at, exact=s.state in REP_STATES),
        sa.FLEX_TASK_SID.name: (sess.human_task_sid or sess.task_sid) if sess else None,
        sa.ORG_ID.name: c.org,
        sa.CONTACT_REF.name: contact_ref(c.org, c.business_number, c.s.contact_bsuid) if c.s.contact_bsuid else None,
        sa.FLEX_WORKER_SID.name: (sess.rep_worker_sid or sess.ai_worker_sid) if sess else None,
        sa.CSAT_SCORE.name: s.ratings[-1].score if s.ratings else None,
        sa.CSAT_AT.name: s.ratings[-1].at if s.ratings else None,
    }
    last = c.published_attributes
    # Unset only what was set: a key never given a value stays absent (not an explicit null).
    changed = {name: value for name, value in wanted.items() if last.get(name) != value}
    if changed:
        workflow.upsert_search_attributes(
            [
                _KEYS[name].value_set(value) if value is not None else _KEYS[name].value_unset()
                for name, value in changed.items()
            ]
        )
        last.update(changed)
    details = current_details(c)
    if details != c.published_details:
        workflow.set_current_details(details)
        c.published_details = details


def current_details(c: Conversation) -> str:
    """A few markdown lines for the Temporal UI: state, stuck flag, session and task, queue time, window."""
    s = c.s
    sess = s.session
    lines = [f"**{s.state}**" + (" · ⚠ **stuck**" if s.stuck else "")]
    if sess is not None:
        lines.append(f"session {sess.number}, task {sess.human_task_sid or sess.task_sid or '(creating)'}")
        if s.state == "queued" and sess.queued_since:
            lines.append(f"queued since {iso_utc(sess.queued_since)}")
    if s.window_expires_at is not None:
        verb = "closes" if window_rules.is_open(s.window_expires_at, workflow.now()) else "closed"
        lines.append(f"window {verb} {iso_utc(s.window_expires_at)}")
    if s.last_error:
        # The error text may quote Twilio messages that contain a number: only say there is one.
        lines.append("last error recorded (see the `state` query)")
    return "  \n".join(lines)
