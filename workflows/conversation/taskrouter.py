"""TaskRouter's side of a session: its events, the AI's reservation, a rep's acceptance, and reading the task
back when an event the session waits for has not come.

- An event that overtakes our own `create_interaction` result is kept and replayed once the task is known.
- A pending AI reservation is never accepted once a handoff is asked for: the handoff rejects it.
- An AI reservation that times out puts the AI worker into TaskRouter's TimeoutActivity (Offline), which would
  stall the whole org: the AI worker is set back to an available activity (idempotent). If the task then stays
  pending without a new offer, TaskRouter is not offering it to the AI again: the conversation goes to the humans.
- A transfer whose human task sid is unknown is looked up by session.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import (
    ACCEPT_AI_RESERVATION,
    ENSURE_AI_WORKER_AVAILABLE,
    FETCH_TASK,
    AcceptAiReservationInput,
    EnsureAiWorkerAvailableInput,
    FetchTaskInput,
)
from contracts.signals import TaskRouterEvent
from contracts.views import AI_OFFER_TIMED_OUT
from rules import handback, notices, reconcile, session_events
from rules import window as window_rules
from rules.handoff_attributes import iso_utc, session_id_of
from workflows.conversation import handoff, lifecycle, metrics
from workflows.conversation.context import Conversation
from workflows.conversation.effects import activity_input, call, error_text
from workflows.conversation.flex_posts import notice, post_for_reps
from workflows.state import SessionState


async def on_event(c: Conversation, ev: TaskRouterEvent) -> None:
    sess = c.s.session
    if sess is None:
        return
    if sess.task_sid is None:
        if session_id_of(ev.task_attributes) == sess.session_id:
            sess.deferred_events.append(ev)  # reordered: the event overtook our create_interaction result
        return
    action = session_events.classify(
        session_events.EventFacts(
            event_type=ev.event_type,
            task_sid=ev.task_sid,
            worker_sid=ev.worker_sid,
            worker_name=ev.worker_name,
            task_queue_sid=ev.task_queue_sid,
            task_attributes=ev.task_attributes,
        ),
        _task_context(c, sess),
    )
    if action != "ignore" and ev.task_sid == sess.task_sid and ev.task_attributes and not sess.handed_off:
        # Attributes others set on the task (e.g. the customer's TaskRouter workflow) feed flex_* context.
        sess.task_attributes = {**sess.task_attributes, **ev.task_attributes}
    if action in ("ai_offer", "ai_accepted"):
        if ev.reservation_sid is None or ev.worker_sid is None:
            c.skip(f"{ev.event_type} {ev.event_sid} without reservation or worker")
            return
        await take_ai_reservation(c, sess, ev.reservation_sid, ev.worker_sid)
    elif action == "ai_released":
        if ev.reservation_sid == sess.ai_reservation_sid and sess.ai_reservation_status != "accepted":
            sess.ai_reservation_status = "released"
        if ev.event_type == "reservation.timeout" and ev.worker_sid:
            if ev.task_sid == sess.task_sid and sess.ai_offer_timed_out_at is None:
                sess.ai_offer_timed_out_at = workflow.now()
                sess.ai_worker_sid = sess.ai_worker_sid or ev.worker_sid
            await ensure_ai_available(c, ev.worker_sid)
    elif action == "human_accepted":
        await rep_accepted(c, sess, ev.task_sid, ev.worker_sid, ev.reservation_sid)
    elif action in ("transfer_offer", "transfer_accepted"):
        await follow_transfer(c, sess, ev.task_sid, ev.task_queue_sid)
        if action == "transfer_accepted":
            await rep_accepted(c, sess, ev.task_sid, ev.worker_sid, ev.reservation_sid)
    elif action == "session_end":
        if c.s.state == "queued" and ev.event_type.startswith("task."):
            # Accepted and ended before we saw the acceptance (lost or reordered webhook).
            sess.human_task_sid = sess.human_task_sid or ev.task_sid
        if sess.handed_off:
            await rep_task_ended(c, sess, ev.task_sid, f"{ev.event_type} of {ev.task_sid}")
        else:
            lifecycle.end_session(c, f"{ev.event_type} of {ev.task_sid}")


async def rep_task_ended(c: Conversation, sess: SessionState, task_sid: str, why: str) -> None:
    """A rep's task ended. If a newer task of the session is open, a rep transferred the conversation (Flex
    closes the transferring rep's task after creating the new one, and webhooks may come in any order): follow
    it. Otherwise the session is over."""
    try:
        fetch = activity_input(c, FetchTaskInput, task_sid=task_sid, human_task_of_session=sess.session_id)
        newest = await call(c, FETCH_TASK, fetch, "is there a newer task of this session (a transfer)?")
    except ActivityError as err:
        c.s.last_error = f"reading the session's tasks failed: {error_text(err)[0]}"
    else:
        if newest.task_sid != task_sid and not session_events.rep_task_ended(newest.assignment_status):
            await follow_transfer(c, sess, newest.task_sid, newest.task_queue_sid)
            for sid, worker_sid, status in newest.reservations:
                if status in ("accepted", "wrapping") and worker_sid != sess.ai_worker_sid:
                    await rep_accepted(c, sess, newest.task_sid, worker_sid, sid)
                    break
            return
    lifecycle.end_session(c, why)


async def follow_transfer(c: Conversation, sess: SessionState, task_sid: str, queue_sid: str | None) -> None:
    """A rep transferred the conversation to another rep or queue (a new task on the same interaction channel):
    it waits for that task's acceptance, the queue SLA counts again, and whoever takes it gets a note with the
    handoff and everything since."""
    if task_sid == sess.human_task_sid:
        return
    sess.transfers += 1
    sess.human_task_sid = task_sid
    sess.queue_sid = queue_sid or sess.queue_sid
    sess.rep_worker_sid = sess.rep_reservation_sid = None
    sess.rep_accepted_at = sess.rep_first_reply_at = None
    now = workflow.now()
    sess.queued_since = now
    sess.sla_notified = False
    c.set_state("queued", f"transferred to task {task_sid}")
    c.s.stuck = False
    c.timers.set("sla", now + timedelta(seconds=c.policy.queue_sla_seconds))
    lifecycle.wait_for(c, sess, "human_acceptance")
    hp = sess.handoff
    if hp is not None and sess.conversation_sid is not None:
        note = notices.transfer_note(
            notices.handoff_note(summary=hp.summary, sentiment=hp.sentiment, reason=hp.reason, language=hp.language),
            handback.describe(handback.human_part(c.s.transcript, hp.requested_at)),
        )
        idempotency_id = f"transfer-note:{sess.session_id}:{sess.transfers}"
        await post_for_reps(
            c, sess.conversation_sid, note, idempotency_id, {"waHandoffNote": True}, "the transfer note"
        )


async def take_ai_reservation(c: Conversation, sess: SessionState, reservation_sid: str, worker_sid: str) -> None:
    """Accept the AI worker's reservation (and join it to the interaction), unless a handoff is pending."""
    if sess.ai_reservation_status == "accepted" and sess.ai_reservation_sid == reservation_sid:
        return
    sess.ai_reservation_sid = reservation_sid
    sess.ai_worker_sid = worker_sid
    if sess.handoff is not None:
        # A handoff is pending: leave the reservation pending so the handoff rejects it.
        sess.ai_reservation_status = "pending"
        return
    assert sess.task_sid and sess.interaction_sid and sess.channel_sid
    try:
        res = await call(
            c,
            ACCEPT_AI_RESERVATION,
            activity_input(c, AcceptAiReservationInput, sess, reservation_sid=reservation_sid, worker_sid=worker_sid),
            "accept AI reservation",
        )
    except ActivityError as err:
        c.s.last_error = f"accepting the AI reservation failed: {error_text(err)[0]}"
        sess.ai_reservation_status = "pending"
        return
    if res.accepted:
        sess.ai_reservation_status = "accepted"
        sess.ai_participant_sid = res.participant_sid
        lifecycle.wait_for(c, sess, None)
    else:
        sess.ai_reservation_status = "released"
        c.s.last_error = f"AI reservation {reservation_sid} was {res.reservation_status}, not accepted"


async def rep_accepted(
    c: Conversation, sess: SessionState, task_sid: str, worker_sid: str | None, reservation_sid: str | None
) -> None:
    if c.s.state == "with_rep" and sess.rep_reservation_sid == reservation_sid:
        return
    sess.human_task_sid = sess.human_task_sid or task_sid
    sess.rep_worker_sid = worker_sid
    sess.rep_reservation_sid = reservation_sid
    sess.rep_accepted_at = workflow.now()
    c.set_state("with_rep", f"rep {worker_sid} accepted {task_sid}")
    metrics.rep_accepted(c, sess)
    c.s.stuck = False
    c.timers.set("sla", None)
    lifecycle.wait_for(c, sess, "rep_task_end")
    window = c.s.window_expires_at
    if window is not None and not window_rules.is_open(window, workflow.now()):
        # The window closed while the task waited: the rep learns it before typing into the void.
        c.s.window_notified_for = window
        await notice(
            c,
            "window_closed",
            notices.window_closed_while_rep(window, c.policy.templates),
            f"window-closed:{iso_utc(window)}:{sess.session_id}",
        )


async def read_back(c: Conversation, sess: SessionState) -> None:
    """A webhook the session waited for did not come: read the task and act on what it shows."""
    awaiting = sess.awaiting
    task_sid = sess.human_task_sid if awaiting != "ai_reservation" and sess.human_task_sid else sess.task_sid
    sess.reconcile_attempts += 1
    if task_sid is None:
        return
    # A transfer whose human task sid we never learnt: look it up by session (the AI's task is completed).
    find_human = awaiting != "ai_reservation" and sess.human_task_sid is None and sess.handed_off
    try:
        fetch = activity_input(
            c, FetchTaskInput, task_sid=task_sid, human_task_of_session=sess.session_id if find_human else None
        )
        task = await call(c, FETCH_TASK, fetch, f"reconcile: fetch task (waiting for {awaiting})")
    except ActivityError as err:
        c.s.last_error = f"reconciliation failed: {error_text(err)[0]}"
        lifecycle.read_back_later(c, sess)
        return
    status = task.assignment_status
    if awaiting == "ai_reservation":
        for sid, worker_sid, reservation_status in task.reservations:
            ai = worker_sid == sess.ai_worker_sid or task.task_queue_sid == c.policy.ai_queue_sid
            if ai and reservation_status in ("pending", "accepted"):
                await take_ai_reservation(c, sess, sid, worker_sid)
                break
        else:
            # An offer that timed out (its webhooks missed too) left the AI worker offline: bring it back.
            timed_out = [w for _, w, reservation_status in task.reservations if reservation_status == "timeout"]
            if timed_out and status in ("pending", "reserved"):
                if _offer_lost_for_good(c, sess, status):
                    # TaskRouter need not offer a task again to a worker whose offer timed out: with the AI
                    # worker available and still no offer, the contact would wait for nobody.
                    handoff.request(
                        c,
                        source="ai_offer_timeout",
                        reason=AI_OFFER_TIMED_OUT,
                        summary=c.fallback_summary(AI_OFFER_TIMED_OUT),
                    )
                    return
                if sess.ai_offer_timed_out_at is None:
                    sess.ai_offer_timed_out_at = workflow.now()
                sess.ai_worker_sid = sess.ai_worker_sid or timed_out[0]
                await ensure_ai_available(c, timed_out[0])
            elif status == "pending":
                # No offer at all: the AI worker may have been sent Offline by another conversation's timed-out
                # offer whose events were lost. Idempotent: changes nothing if it is available.
                await ensure_ai_available(c, None)
        if status in ("canceled", "completed") and c.s.session is sess and sess.handoff is None:
            lifecycle.end_session(c, f"reconciliation: AI task {status}")
            return
    else:
        if find_human:
            if task.task_sid == sess.task_sid and sess.handoff is not None and sess.handoff.path == "transferred":
                lifecycle.read_back_later(c, sess)  # the human task is not visible yet; the AI's says nothing
                return
            sess.human_task_sid = task.task_sid
            task_sid = task.task_sid
        if c.s.state == "queued":
            for sid, worker_sid, reservation_status in task.reservations:
                if reservation_status in ("accepted", "wrapping", "completed") and worker_sid != sess.ai_worker_sid:
                    await rep_accepted(c, sess, task_sid, worker_sid, sid)
                    break
        if session_events.rep_task_ended(status) and c.s.session is sess:
            await rep_task_ended(c, sess, task_sid, f"reconciliation: rep task {status}")
            return
    if c.s.session is sess and sess.awaiting is not None:
        lifecycle.read_back_later(c, sess)


def _offer_lost_for_good(c: Conversation, sess: SessionState, status: str) -> bool:
    """The AI's offer timed out at least one check ago (the AI worker was put back to available then) and the
    task is still pending with no offer: it will not come back to the AI."""
    since = sess.ai_offer_timed_out_at
    if status != "pending" or since is None or sess.handoff is not None:
        return False
    return workflow.now() - since >= reconcile.AI_OFFER_CHECK_FIRST


async def ensure_ai_available(c: Conversation, worker_sid: str | None) -> None:
    """TaskRouter puts a worker whose reservation timed out into the TimeoutActivity (Offline): for the AI
    worker that would stall every conversation of the org. Idempotent; a failure is noted, not fatal."""
    try:
        ensure = activity_input(
            c, EnsureAiWorkerAvailableInput, worker_sid=worker_sid, worker_name=c.policy.ai_worker_name
        )
        res = await call(c, ENSURE_AI_WORKER_AVAILABLE, ensure, "put the AI worker back to available")
    except ActivityError as err:
        c.s.last_error = f"making the AI worker available failed: {error_text(err)[0]}"
        return
    if res.changed:
        c.skip(f"the AI worker was offline after a reservation timeout; set to {res.activity_name}")


def _task_context(c: Conversation, sess: SessionState) -> session_events.TaskContext:
    return session_events.TaskContext(
        session_id=sess.session_id,
        ai_worker_name=c.policy.ai_worker_name,
        ai_worker_sid=sess.ai_worker_sid,
        ai_queue_sid=c.policy.ai_queue_sid,
        ai_task_sid=sess.task_sid,
        human_task_sid=sess.human_task_sid,
        handed_off=sess.handed_off,
        handoff_path=sess.handoff.path if sess.handoff else None,
    )
