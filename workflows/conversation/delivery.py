"""Delivery of what the service sent to WhatsApp: status callbacks, and reading back those that never came.

Every sent message is watched until a final status (delivered, read, failed, undelivered). One lazily re-armed
timer reads back, in one batched Messages fetch, those still without one after `delivery_check_seconds`; a
failure becomes the usual notice, a message still in flight gets one more look later. A failure is never
silence: it becomes state and a notice in Flex.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import FETCH_MESSAGE_STATUSES, FetchMessageStatusesInput, SendWhatsAppResult
from contracts.signals import DeliveryStatus
from contracts.views import DeliveryFailure
from rules import delivery as delivery_rules
from rules import notices
from workflows.conversation import metrics
from workflows.conversation.context import Conversation
from workflows.conversation.effects import STATUS_READBACK_RETRY, call, error_text
from workflows.conversation.flex_posts import notice
from workflows.state import MAX_DELIVERY_FAILURES, MAX_PENDING_DELIVERIES, MAX_SENT, PendingDelivery, bounded_append

# A message still without a final status when read back is read once more, later, then no longer watched.
MAX_DELIVERY_CHECKS = 2
DELIVERY_RECHECK_FACTOR = 6
MAX_STATUS_FETCH = 50


def watch(c: Conversation, res: SendWhatsAppResult, what: str) -> None:
    """A send Twilio took: known by its SID (so a retried send never takes it for its own), its delivery
    watched."""
    c.s.sent[res.message_sid] = what
    if len(c.s.sent) > MAX_SENT:
        for old in list(c.s.sent)[: len(c.s.sent) - MAX_SENT]:
            del c.s.sent[old]
    pending = c.s.pending_deliveries
    pending[res.message_sid] = PendingDelivery(
        what=what, check_at=workflow.now() + timedelta(seconds=c.policy.delivery_check_seconds)
    )
    if len(pending) > MAX_PENDING_DELIVERIES:
        for old in list(pending)[: len(pending) - MAX_PENDING_DELIVERIES]:
            del pending[old]
    arm(c)


def arm(c: Conversation) -> None:
    """One timer for every message awaiting a final status: the earliest check."""
    c.timers.set("delivery", min((p.check_at for p in c.s.pending_deliveries.values()), default=None))


async def on_status(c: Conversation, st: DeliveryStatus) -> None:
    if delivery_rules.is_final(st.status) and c.s.pending_deliveries.pop(st.message_sid, None) is not None:
        arm(c)
    outcome = delivery_rules.classify(st.status, st.error_code, st.error_message)
    if not outcome.failed:
        return
    what = c.s.sent.get(st.message_sid, "message")
    explanation = outcome.explanation or "unknown"
    now = workflow.now()
    bounded_append(
        c.s.delivery_failures,
        DeliveryFailure(
            message_sid=st.message_sid, what=what, error_code=outcome.error_code, explanation=explanation, at=now
        ),
        MAX_DELIVERY_FAILURES,
    )
    c.s.last_error = f"{what} {st.message_sid} {st.status}: {explanation}"
    metrics.delivery_failed(c, outcome.error_code)
    if outcome.closes_window and (c.s.window_expires_at is None or c.s.window_expires_at > now):
        c.s.window_expires_at = now
        # The delivery notice below already tells the rep; no second "window closed" notice.
        c.s.window_notified_for = now
        c.timers.set("window", now)
    await notice(
        c,
        "delivery_failed",
        notices.delivery_failed(outcome.error_code, explanation),
        f"status:{st.message_sid}:failed",
    )


async def check(c: Conversation) -> None:
    """Read back the messages still without a final status (status callbacks may be dropped), so a 63016/63019
    failure whose callback never came still becomes a notice."""
    now = workflow.now()
    pending = c.s.pending_deliveries
    period = timedelta(seconds=c.policy.delivery_check_seconds)
    # Messages due within the next half period are read in the same fetch (one action, one timer).
    horizon = now + period / 2
    due = [sid for sid, p in pending.items() if p.check_at <= horizon][:MAX_STATUS_FETCH]
    if not due:
        arm(c)
        return
    recheck = now + period * DELIVERY_RECHECK_FACTOR
    try:
        res = await call(
            c,
            FETCH_MESSAGE_STATUSES,
            FetchMessageStatusesInput(org=c.org, message_sids=due),
            f"read back {len(due)} delivery status(es) never reported",
            retry=STATUS_READBACK_RETRY,
        )
    except ActivityError as err:
        # Not a look at them: read them again later (the conversation is not held up retrying meanwhile).
        c.s.last_error = f"reading delivery statuses failed: {error_text(err)[0]}"
        for sid in due:
            if sid in pending:
                pending[sid].check_at = recheck
        arm(c)
        return
    statuses = {st.message_sid: st for st in res.statuses}
    for sid in due:
        p = pending.get(sid)
        st = statuses.get(sid)
        if p is None:
            continue
        if st is not None and (delivery_rules.is_final(st.status) or st.status == "unknown"):
            del pending[sid]
            if st.status in delivery_rules.FAILED_STATUSES and not c.remember(f"status:{sid}:{st.status}"):
                await on_status(
                    c,
                    DeliveryStatus(
                        message_sid=sid,
                        status="failed" if st.status == "failed" else "undelivered",
                        error_code=st.error_code,
                        error_message=st.error_message,
                        occurred_at=now,
                    ),
                )
            continue
        p.checks += 1
        if p.checks >= MAX_DELIVERY_CHECKS:
            del pending[sid]  # still in flight after two looks: its callback, if any, is handled as usual
        else:
            p.check_at = recheck
    arm(c)
