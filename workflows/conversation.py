"""The durable conversation workflow: one per WhatsApp conversation (org, business number, contact number).

Signal handlers only record (after de-duplicating on the Twilio SID that caused the signal); one main loop
does all the work, so the order of side effects is the order of the code below, never a race between handlers.

Decisions where the issue is silent (written here because a contact-center engineer will ask):
- A session's id is `{key}-{opening message sid}`: unique across workflow runs (the workflow may have closed
  idle and started again), and stable across activity retries (it is the Flex conversation's unique name and
  the interaction's idempotency key).
- Contact messages are put into Flex in order, before any AI turn or handoff note that follows them.
- A handoff requested before the task exists waits for the task; a second request while one is in progress is
  ignored (noted). The handoff's steps (merge, note, hand to humans) run as one `hand_off` activity: a failed
  round is retried whole with backoff (each step is idempotent), raises the stuck flag, and posts one notice in
  Flex. Histories from before that change (and `local_activities` orgs) record the steps one by one.
- The window timer is lazily re-armed: when it fires and the deadline moved, it sleeps for the remainder.
- An AI-held session ends after `ai_session_idle_seconds` without a contact message or AI reply (default 1 h),
  at the latest when the window closes: `release_ai_task` completes the AI's task (freeing its chat capacity)
  and closes the interaction channel; the next contact message opens a new session. Unanswered contact
  messages keep it open until the window closes. A rep's task is never touched (not while a handoff is under
  way or a rep holds it; the activity also refuses a handed-off task). One lazily re-armed timer serves this
  quiet period and, once no session is open, the idle close.
- Idle close only when there is no session and the window is closed.
- Reconciliation: while waiting for a reservation offer, a rep's acceptance or the rep's task end, a timer
  (30 s for the AI's offer, well inside TaskRouter's 120 s reservation timeout; 60 s for a rep; doubling,
  capped at 15 min; 1 h → 6 h for the rep's task end) reads the task from TaskRouter and acts
  on what it shows (a transfer whose human task sid is unknown is looked up by session). TaskRouter events
  that overtake our own create_interaction result are kept and replayed. A contact message for the rep reads
  the rep's task first: one that ended unseen sends the message to a new session, not to a finished task.
- Delivery statuses: every sent message is tracked until a final status callback (delivered, read, failed,
  undelivered); one lazily re-armed timer reads back those still without one after `delivery_check_seconds`
  (one batched Messages fetch), a failure becoming the usual notice; still in flight → one more look later.
- A steady AI turn is one `answer_contact` activity (contact posts, AI, reply post, send): one round trip to
  the server instead of four. In Flex its reply follows the messages it answers; contact messages that arrived
  while it ran come right after it and are answered together by the next turn (question, answer, burst, answer
  to the burst). If the activity fails, the same turn is done step by step, and that send first looks for one
  the lean turn may have made. Step by step (histories before that change, `local_activities` orgs, a contact
  message with media), messages that arrived during the AI call are put into Flex before its reply instead.
- A pending AI reservation is never accepted once a handoff is requested, so the handoff rejects it.
- An AI reservation that times out puts the AI worker into TaskRouter's TimeoutActivity (Offline), which
  would stall the whole org: on `reservation.timeout` for the AI (or a timed-out offer found when
  reconciling) the AI worker is set back to an available activity (idempotent). If the task then stays pending
  without a new offer, TaskRouter is not offering it to the AI again: the conversation goes to the humans.
- Rep attachments go to WhatsApp as their MCS URL (`rules.media.mcs_media_url`); the send activity resolves it
  to the short-lived public URL. The media limits are checked here first, with a notice for what cannot go.
- A handoff or template request with no session is noted in state (`skipped` / `notices`), not failed.
- Failures of Twilio calls: bounded retries in the activity policy; a 4xx is non-retryable and becomes
  `last_error` plus a notice in Flex. An AI failure (error or timeout, 3 attempts) hands off "AI unavailable".
- No timer is ever cancelled: deadlines only move (see `_LazyTimer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import search_attributes as sa
    from contracts.activities import (
        ACCEPT_AI_RESERVATION,
        ANSWER_CONTACT,
        COPY_CONTACT_MEDIA_TO_FLEX,
        CREATE_INTERACTION,
        ENSURE_AI_WORKER_AVAILABLE,
        FETCH_MESSAGE_STATUSES,
        FETCH_TASK,
        HAND_OFF,
        HAND_TO_HUMANS,
        KNOWN_SIDS_PASSED,
        MERGE_HANDOFF_ATTRIBUTES,
        OPEN_FLEX_CONVERSATION,
        POST_TO_FLEX,
        RELEASE_AI_TASK,
        SEND_WHATSAPP,
        AcceptAiReservationInput,
        AcceptAiReservationResult,
        AnswerContactInput,
        AnswerContactResult,
        CopyContactMediaInput,
        CopyContactMediaResult,
        CreateInteractionInput,
        CreateInteractionResult,
        EnsureAiWorkerAvailableInput,
        EnsureAiWorkerAvailableResult,
        FetchMessageStatusesInput,
        FetchMessageStatusesResult,
        FetchTaskInput,
        FetchTaskResult,
        HandOffInput,
        HandOffResult,
        HandToHumansInput,
        HandToHumansResult,
        MergeHandoffAttributesInput,
        MergeHandoffAttributesResult,
        OpenFlexConversationInput,
        OpenFlexConversationResult,
        PostToFlexInput,
        PostToFlexResult,
        ReleaseAiTaskInput,
        ReleaseAiTaskResult,
        SendWhatsAppInput,
        SendWhatsAppResult,
    )
    from contracts.ai import AI_TURN_ACTIVITY, AiTurnInput, AiTurnResult, TranscriptLine
    from contracts.ids import workflow_id_for_key
    from contracts.signals import (
        QUERY_STATE,
        QUERY_TRANSCRIPT,
        SIGNAL_CONTACT_MESSAGE,
        SIGNAL_CONVERSATION_EVENT,
        SIGNAL_DELIVERY_STATUS,
        SIGNAL_REQUEST_HANDOFF,
        SIGNAL_SEND_TEMPLATE,
        SIGNAL_TASKROUTER_EVENT,
        WORKFLOW_NAME,
        ContactMessage,
        ConversationEvent,
        ConversationStart,
        DeliveryStatus,
        HandoffRequest,
        TaskRouterEvent,
        TemplateSendRequest,
    )
    from rules import delivery as delivery_rules
    from rules import media as media_rules
    from rules import notices, session_events
    from rules import templates as template_rules
    from rules import window as window_rules
    from rules.flex_context import flatten_flex_context
    from rules.handoff_attributes import (
        build_handoff_attributes,
        build_task_attributes,
        iso_utc,
        session_id_of,
    )
    from workflows.state import (
        MAX_DEDUP,
        MAX_DELIVERY_FAILURES,
        MAX_NOTICES,
        MAX_PENDING_DELIVERIES,
        MAX_SENT,
        MAX_SKIPPED,
        MAX_TRANSCRIPT,
        ConversationState,
        ConversationView,
        DeliveryFailure,
        HandoffProgress,
        InboxItem,
        PendingDelivery,
        SessionState,
        StateName,
        bounded_append,
    )

R = TypeVar("R", bound=BaseModel)

AI_AUTHOR = "AI Support Agent"
SYSTEM_AUTHOR = "system"
AI_UNAVAILABLE = "AI unavailable"
AI_OFFER_TIMED_OUT = "AI could not take the conversation (its TaskRouter offer timed out)"
TWILIO_CLIENT_ERROR = "TwilioClientError"

# Twilio activities: bounded retries with backoff (429/5xx honour Retry-After through next_retry_delay in the
# activity); a 4xx is non-retryable and becomes state + a notice.
TWILIO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
    non_retryable_error_types=[TWILIO_CLIENT_ERROR],
)
TWILIO_TIMEOUT = timedelta(seconds=30)
# The AI gets a few attempts, then the conversation goes to a human ("AI unavailable").
AI_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_attempts=3, maximum_interval=timedelta(seconds=10)
)

# Reading back delivery statuses is routine (every send once its callback is not needed to be signalled) and
# holds the conversation's other events while it runs: a short retry, then simply again at the next check.
STATUS_READBACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=[TWILIO_CLIENT_ERROR],
)

RECONCILE_FIRST = timedelta(seconds=60)
# The AI's offer is checked well before TaskRouter's reservation timeout (120 s by default): a missed
# reservation.created is accepted in time, not left to time out (which takes the AI worker offline).
AI_OFFER_CHECK_FIRST = timedelta(seconds=30)
RECONCILE_CAP = timedelta(minutes=15)
REP_TASK_CHECK_FIRST = timedelta(hours=1)
REP_TASK_CHECK_CAP = timedelta(hours=6)
RETRY_FIRST = timedelta(seconds=30)
MAX_HANDOFF_ROUNDS = 5
MAX_OPEN_ROUNDS = 5
MAX_RELEASE_ROUNDS = 5
# A message still without a final status when read back is read once more, later, then no longer tracked.
MAX_DELIVERY_CHECKS = 2
DELIVERY_RECHECK_FACTOR = 6
MAX_STATUS_FETCH = 50
# Twilio steps run as local activities: all of them in one workflow task are one billed action on Temporal
# Cloud (a steady AI turn: 1 instead of 4) and need no round trip through the server per step (issue 6). Every
# step is idempotent from scratch, which local activities need: a worker that dies before its workflow task
# completes leaves no record of them, and the next worker runs them again. Histories recorded before this
# change replay with ordinary activities.
LOCAL_ACTIVITIES_PATCH = "twilio-steps-as-local-activities"
LOCAL_RETRY_THRESHOLD = timedelta(seconds=5)
# A steady AI turn as one ordinary activity (`answer_contact`: contact posts, AI, reply post, send): one round
# trip to the server and one action instead of four (issue 6, figures 3 and 5). Histories recorded before this
# change replay step by step.
LEAN_TURN_PATCH = "lean-ai-turn"
# The handoff's three steps as one ordinary activity (`hand_off`): one round trip and one action instead of
# three (issue 6, figures 4 and 5). Histories recorded before this change replay step by step.
ONE_HANDOFF_ACTIVITY_PATCH = "one-handoff-activity"
# A contact message for the rep first reads the rep's task (`_check_rep_task`). Histories recorded before this
# change replay without that read.
REP_TASK_CHECK_PATCH = "rep-task-check-on-contact-message"
# Activities made of several steps heartbeat every 2 s: a killed worker's run is retried after this, not after
# its whole limit.
STEPS_HEARTBEAT = timedelta(seconds=20)
# A steady AI turn is 4 steps (contact post, AI, reply post, send); the turn that hands off adds 3 (attributes,
# note, hand to humans): one workflow task each.
LOCAL_STEPS_PER_TASK = 7
URGENT_SEARCH_ATTRIBUTES = frozenset({sa.CONVERSATION_STATE.name, sa.HANDOFF_STUCK.name, sa.HANDOFF_REQUESTED_AT.name})
NOT_AI_TASK = "NotAiTask"


class _LazyTimer:
    """One durable timer per deadline kind, re-armed lazily: moving the deadline later never starts a timer;
    only when the sleep ends and the deadline has moved does it sleep again for the remainder (DESIGN §4).

    Timers are never cancelled: a deadline moved earlier (rare, e.g. a 63016 closing the window) starts a new
    generation and the superseded sleep simply ends without effect."""

    def __init__(self, summary: str, on_fire: Callable[[], None]) -> None:
        self.summary = summary
        self.deadline: datetime | None = None
        self._gen = 0
        self._running = False
        self._target: datetime | None = None
        self._on_fire = on_fire
        self._task: asyncio.Task[None] | None = None

    def set(self, deadline: datetime | None) -> None:
        self.deadline = deadline
        if deadline is None:
            return
        if self._running and self._target is not None and deadline >= self._target:
            return  # the running sleep ends first and re-arms for the remainder
        self._gen += 1
        self._running = True
        self._task = asyncio.create_task(self._run(self._gen))

    async def _run(self, gen: int) -> None:
        while gen == self._gen and self.deadline is not None:
            left = self.deadline - workflow.now()
            if left <= timedelta(0):
                self.deadline = None
                self._running = False
                self._on_fire()
                return
            self._target = self.deadline
            await workflow.sleep(left, summary=self.summary)
        if gen == self._gen:
            self._running = False


def _error_text(err: BaseException) -> tuple[str, bool]:
    """(short description, is a Twilio 4xx) of an activity failure."""
    cause: BaseException | None = err.cause if isinstance(err, ActivityError) else err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'error'}: {cause.message}", cause.type == TWILIO_CLIENT_ERROR
    return f"{type(cause).__name__}: {cause}", False


@workflow.defn(name=WORKFLOW_NAME)
class ConversationWorkflow:
    def __init__(self) -> None:
        self.s = ConversationState()
        self._start: ConversationStart | None = None
        self._dedup_set: set[str] = set()
        self._fired: set[str] = set()
        self._sa_last: dict[str, Any] = {}
        self._details_last = ""
        self._processed_this_run = 0
        self._timers: dict[str, _LazyTimer] = {}
        # Local activities run so far in the current workflow task (told apart by workflow.now(), which only
        # moves from one workflow task to the next).
        self._local_task_at: datetime | None = None
        self._local_in_task = 0

    # ---------------------------------------------------------------- signals & queries (record only)
    def _record(self, dedup_id: str, item: InboxItem) -> None:
        if self._remember(dedup_id):
            self.s.duplicates_ignored += 1
            return
        self.s.inbox.append(item)

    def _remember(self, dedup_id: str) -> bool:
        """Add to the bounded de-dup set; True when it was already there."""
        if dedup_id in self._dedup_set:
            return True
        self._dedup_set.add(dedup_id)
        self.s.dedup.append(dedup_id)
        if len(self.s.dedup) > MAX_DEDUP:
            for old in self.s.dedup[: len(self.s.dedup) - MAX_DEDUP]:
                self._dedup_set.discard(old)
            del self.s.dedup[: len(self.s.dedup) - MAX_DEDUP]
        return False

    @workflow.signal(name=SIGNAL_CONTACT_MESSAGE)
    def contact_message(self, msg: ContactMessage) -> None:
        self._record(f"contact:{msg.dedup_id}", InboxItem(kind="contact", contact=msg))

    @workflow.signal(name=SIGNAL_TASKROUTER_EVENT)
    def taskrouter_event(self, ev: TaskRouterEvent) -> None:
        self._record(f"tr:{ev.dedup_id}", InboxItem(kind="taskrouter", taskrouter=ev))

    @workflow.signal(name=SIGNAL_CONVERSATION_EVENT)
    def conversation_event(self, ev: ConversationEvent) -> None:
        self._record(f"conv:{ev.dedup_id}", InboxItem(kind="conversation", conversation=ev))

    @workflow.signal(name=SIGNAL_DELIVERY_STATUS)
    def delivery_status(self, st: DeliveryStatus) -> None:
        self._record(f"status:{st.dedup_id}", InboxItem(kind="delivery", delivery=st))

    @workflow.signal(name=SIGNAL_REQUEST_HANDOFF)
    def request_handoff(self, req: HandoffRequest) -> None:
        self._record(f"handoff:{req.dedup_id}", InboxItem(kind="handoff", handoff=req))

    @workflow.signal(name=SIGNAL_SEND_TEMPLATE)
    def send_template(self, req: TemplateSendRequest) -> None:
        self._record(f"template:{req.dedup_id}", InboxItem(kind="template", template=req))

    @workflow.query(name=QUERY_STATE)
    def state(self) -> ConversationView:
        return self._view()

    @workflow.query(name=QUERY_TRANSCRIPT)
    def transcript(self) -> list[TranscriptLine]:
        return list(self.s.transcript)

    # ---------------------------------------------------------------- main loop
    @workflow.run
    async def run(self, start: ConversationStart) -> ConversationView:
        self._start = start
        if start.carried_state:
            self.s = ConversationState.model_validate(start.carried_state)
            self.s.runs += 1
        self._dedup_set = set(self.s.dedup)
        self._timers = {
            "window": _LazyTimer("24h WhatsApp window", lambda: self._fired.add("window")),
            "sla": _LazyTimer("queue SLA", lambda: self._fired.add("sla")),
            "reconcile": _LazyTimer("reconcile with TaskRouter", lambda: self._fired.add("reconcile")),
            "retry": _LazyTimer("retry after failure", lambda: self._fired.add("retry")),
            "delivery": _LazyTimer("check delivery statuses", lambda: self._fired.add("delivery")),
            # One slot for both quiet periods: the AI-held session's end, then (no session) the idle close.
            "idle": _LazyTimer("quiet period (AI session end / idle close)", lambda: self._fired.add("idle")),
        }
        self._rearm_timers()
        self._publish()
        while True:
            await workflow.wait_condition(lambda: bool(self.s.inbox) or bool(self._fired) or self._can_suggested())
            await self._drain()
            self._arm_idle()
            self._publish()
            if self._idle_close_due():
                self.s.state = "closed"
                self._publish()
                workflow.logger.info("conversation idle: workflow completes")
                return self._view()
            if self._can_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self.s.inbox:
                    workflow.continue_as_new(
                        ConversationStart(
                            org=start.org,
                            key=start.key,
                            business_number=start.business_number,
                            contact_number=start.contact_number,
                            policy=start.policy,
                            carried_state=self.s.model_dump(mode="json"),
                            continue_as_new_after_events=start.continue_as_new_after_events,
                        )
                    )

    @property
    def start(self) -> ConversationStart:
        assert self._start is not None
        return self._start

    def _can_suggested(self) -> bool:
        threshold = self.start.continue_as_new_after_events
        if threshold is not None and self._processed_this_run >= threshold:
            return True
        return workflow.info().is_continue_as_new_suggested()

    async def _drain(self) -> None:
        """Do everything that can be done now; returns when only waiting is left."""
        while True:
            if self.s.inbox:
                item = self.s.inbox.pop(0)
                self._processed_this_run += 1
                self.s.events_processed += 1
                self.s.last_activity_at = workflow.now()
                try:
                    await self._process(item)
                except (ActivityError, ValueError, KeyError, TypeError) as exc:
                    # Bad data from Twilio (or an unhandled activity failure) never fails the workflow.
                    self._skip(f"{item.kind}: {exc}")
                continue
            try:
                if self._fired:
                    fired = sorted(self._fired)
                    self._fired.clear()
                    for name in fired:
                        await self._on_timer(name)
                    continue
                if await self._advance_session():
                    continue
            except ActivityError as err:
                # Safety net: an activity failure must never fail the conversation. The next signal or timer
                # resumes the pending work (every step is idempotent).
                self.s.last_error = _error_text(err)[0]
                self._skip(f"step failed: {self.s.last_error}")
            return

    async def _advance_session(self) -> bool:
        """One step of pending session work (open, backlog, handoff, AI turn); True when one ran."""
        sess = self.s.session
        if sess is None:
            return False
        now = workflow.now()
        if self._lean_turn_due(sess):
            await self._lean_turn(sess)
            return True
        if self._rep_task_check_due(sess):
            await self._check_rep_task(sess)
            return True
        if sess.task_sid is None or sess.backlog:
            if sess.open_retry_at is not None and sess.open_retry_at > now:
                return False
            if sess.open_attempts >= MAX_OPEN_ROUNDS and sess.open_retry_at is None:
                return False
            return await self._open_and_flush(sess)
        hp = sess.handoff
        if hp is not None and not sess.handed_off:
            if (hp.retry_at is not None and hp.retry_at > now) or hp.attempts >= MAX_HANDOFF_ROUNDS:
                return False
            await self._run_handoff(sess, hp)
            return True
        if self.s.state == "ai" and hp is None and sess.ai_reservation_status == "accepted" and sess.ai_pending_sids:
            await self._ai_turn(sess)
            return True
        if self._ai_session_due(sess):
            await self._release_ai_session(sess)
            return True
        return False

    # ---------------------------------------------------------------- item processing
    async def _process(self, item: InboxItem) -> None:
        if item.contact is not None:
            await self._on_contact(item.contact)
        elif item.taskrouter is not None:
            await self._on_taskrouter(item.taskrouter)
        elif item.conversation is not None:
            await self._on_conversation(item.conversation)
        elif item.delivery is not None:
            await self._on_delivery(item.delivery)
        elif item.handoff is not None:
            req = item.handoff
            self._request_handoff(
                source="api", reason=req.reason, summary=req.summary or self._fallback_summary(req.reason)
            )
        elif item.template is not None:
            t = item.template
            await self._send_template(t.template_name, t.variables, cause=f"api:{t.request_id}")

    async def _on_contact(self, msg: ContactMessage) -> None:
        if msg.contact_number != self.start.contact_number or msg.business_number != self.start.business_number:
            self._skip(f"contact message {msg.message_sid} for another conversation")
            return
        now = workflow.now()
        self.s.window_expires_at = window_rules.extend(self.s.window_expires_at, msg.received_at, now)
        self._timers["window"].set(self.s.window_expires_at)
        if msg.profile_name and msg.profile_name.strip():
            self.s.profile_name = msg.profile_name.strip()
        text = msg.body
        if msg.media:
            text = (text + " " if text else "") + " ".join(f"[{m.content_type}]" for m in msg.media)
        self._add_transcript("contact", text or "(empty message)", now)
        self._into_session(msg, now)

    def _into_session(self, msg: ContactMessage, now: datetime) -> None:
        """Queue a contact message in the current session, opening a new one when there is none."""
        sess = self.s.session
        if sess is None:
            self.s.session_number += 1
            sess = SessionState(
                session_id=f"{self.start.key}-{msg.message_sid}",
                number=self.s.session_number,
                opened_at=now,
                profile_name_at_creation=self.s.profile_name,
            )
            self.s.session = sess
            self.s.state = "ai"
            self._timers["idle"].set(None)
        sess.backlog.append(msg)
        sess.ai_quiet_from = now
        if sess.open_attempts >= MAX_OPEN_ROUNDS:
            sess.open_attempts = 0  # opening had given up: a new message is a reason to try again
        if self.s.state == "ai" and sess.handoff is None:
            sess.ai_pending_sids.append(msg.message_sid)

    def _rep_task_check_due(self, sess: SessionState) -> bool:
        """A contact message is about to go to the rep: is their task still theirs? Twilio may never deliver its
        `task.completed`, and the periodic read (`rep_task_end`) comes up to hours later: meanwhile the message
        would go into a conversation nobody works. One read per batch of contact messages, only with a rep."""
        return (
            self.s.state == "with_rep"
            and sess.awaiting == "rep_task_end"
            and bool(sess.backlog)
            and sess.conversation_sid is not None
            and sess.rep_task_checked_for != sess.backlog[-1].message_sid
            and workflow.patched(REP_TASK_CHECK_PATCH)
        )

    async def _check_rep_task(self, sess: SessionState) -> None:
        """The periodic read of the rep's task, now; a task found ended moves the waiting messages to a new
        session (new conversation and task, the AI answering), as its event would have. A failed read leaves
        them to the rep, as before the check."""
        sess.rep_task_checked_for = sess.backlog[-1].message_sid
        await self._reconcile(sess)
        if self.s.session is sess:
            return
        now = workflow.now()
        for msg in sess.backlog:
            self._into_session(msg, now)
        sess.backlog.clear()

    async def _open_and_flush(self, sess: SessionState) -> bool:
        """Open the Flex conversation, post the contact messages in order, create the interaction."""
        pol = self.start.policy
        try:
            if sess.conversation_sid is None:
                opened = await self._act(
                    OPEN_FLEX_CONVERSATION,
                    OpenFlexConversationInput(
                        org=self.start.org,
                        conversations_service_sid=pol.conversations_service_sid,
                        unique_name=sess.session_id,
                        contact_identity=self._contact_identity,
                        contact_friendly_name=sess.profile_name_at_creation or self.start.contact_number,
                        webhook_url=f"{pol.public_base_url}/webhooks/{self.start.org}/conversations/{self.start.key}",
                    ),
                    OpenFlexConversationResult,
                    "open Flex conversation",
                )
                sess.conversation_sid = opened.conversation_sid
                sess.contact_participant_sid = opened.contact_participant_sid
            while sess.backlog:
                await self._post_contact_message(sess, sess.backlog[0])
                sess.backlog.pop(0)
            if sess.task_sid is None:
                created = await self._act(
                    CREATE_INTERACTION,
                    CreateInteractionInput(
                        org=self.start.org,
                        session_id=sess.session_id,
                        conversation_sid=sess.conversation_sid,
                        workspace_sid=pol.workspace_sid,
                        workflow_sid=pol.workflow_sid,
                        task_channel=pol.task_channel,
                        task_attributes=build_task_attributes(
                            profile_name=sess.profile_name_at_creation,
                            contact_number=self.start.contact_number,
                            workflow_id=workflow_id_for_key(self.start.org, self.start.key),
                            org=self.start.org,
                            session_id=sess.session_id,
                        ),
                    ),
                    CreateInteractionResult,
                    "create Flex interaction (task)",
                )
                sess.interaction_sid = created.interaction_sid
                sess.channel_sid = created.channel_sid
                sess.task_sid = created.task_sid
                sess.task_attributes = build_task_attributes(
                    profile_name=sess.profile_name_at_creation,
                    contact_number=self.start.contact_number,
                    workflow_id=workflow_id_for_key(self.start.org, self.start.key),
                    org=self.start.org,
                    session_id=sess.session_id,
                )
                self._await(sess, "ai_reservation")
                if sess.deferred_events:
                    self.s.inbox[:0] = [InboxItem(kind="taskrouter", taskrouter=e) for e in sess.deferred_events]
                    sess.deferred_events.clear()
        except ActivityError as err:
            detail, _ = _error_text(err)
            sess.open_attempts += 1
            self.s.last_error = f"opening the Flex session failed: {detail}"
            if sess.open_attempts >= MAX_OPEN_ROUNDS:
                self.s.stuck = True
                sess.open_retry_at = None
            else:
                sess.open_retry_at = workflow.now() + RETRY_FIRST * (2 ** (sess.open_attempts - 1))
                self._timers["retry"].set(sess.open_retry_at)
            return False
        sess.open_attempts = 0
        sess.open_retry_at = None
        return True

    async def _post_contact_message(self, sess: SessionState, msg: ContactMessage) -> None:
        assert sess.conversation_sid is not None
        if msg.body or not msg.media:
            await self._post(
                self._post_input(
                    sess, self._contact_identity, msg.body or "(empty message)", f"contact:{msg.message_sid}"
                )
            )
        # A Flex message carries one attachment: each media becomes its own message.
        for i, m in enumerate(msg.media):
            decision = media_rules.flex_decision(m.content_type, None)
            refused = decision.reason if not decision.allowed else None
            if refused is None:
                try:
                    copied = await self._act(
                        COPY_CONTACT_MEDIA_TO_FLEX,
                        CopyContactMediaInput(
                            org=self.start.org,
                            conversations_service_sid=self.start.policy.conversations_service_sid,
                            media_url=m.url,
                            content_type=m.content_type,
                        ),
                        CopyContactMediaResult,
                        "copy contact media to Flex",
                        limit=timedelta(minutes=2),
                        local=False,  # up to 16 MB through the worker: an ordinary activity
                        heartbeat=STEPS_HEARTBEAT,  # a killed worker's copy is retried after 20 s, not 2 min
                    )
                except ActivityError as err:
                    detail, is_4xx = _error_text(err)
                    if not is_4xx:
                        raise
                    refused = "it could not be downloaded"
                    self.s.last_error = f"contact media copy failed: {detail}"
                else:
                    if copied.media_sid:
                        await self._post(
                            self._post_input(
                                sess,
                                self._contact_identity,
                                None,
                                f"contact:{msg.message_sid}:media:{i}",
                                media_sid=copied.media_sid,
                            )
                        )
                        continue
                    refused = copied.refused_reason or "it could not be copied"
            await self._notice(
                "contact_media_refused",
                notices.contact_media_refused_note(m.content_type, refused),
                f"contact:{msg.message_sid}:media:{i}:refused",
            )
            await self._send_whatsapp(
                "media refusal",
                f"contact:{msg.message_sid}:media:{i}:refused",
                body=notices.contact_media_refused_whatsapp(refused),
            )

    async def _on_taskrouter(self, ev: TaskRouterEvent) -> None:
        sess = self.s.session
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
            self._task_context(sess),
        )
        if action != "ignore" and ev.task_sid == sess.task_sid and ev.task_attributes and not sess.handed_off:
            # Attributes others set on the task (e.g. the customer's TaskRouter workflow) feed flex_* context.
            sess.task_attributes = {**sess.task_attributes, **ev.task_attributes}
        if action in ("ai_offer", "ai_accepted"):
            if ev.reservation_sid is None or ev.worker_sid is None:
                self._skip(f"{ev.event_type} {ev.event_sid} without reservation or worker")
                return
            await self._ai_reservation(sess, ev.reservation_sid, ev.worker_sid)
        elif action == "ai_released":
            if ev.reservation_sid == sess.ai_reservation_sid and sess.ai_reservation_status != "accepted":
                sess.ai_reservation_status = "released"
            if ev.event_type == "reservation.timeout" and ev.worker_sid:
                if ev.task_sid == sess.task_sid and sess.ai_offer_timed_out_at is None:
                    sess.ai_offer_timed_out_at = workflow.now()
                    sess.ai_worker_sid = sess.ai_worker_sid or ev.worker_sid
                await self._ensure_ai_available(ev.worker_sid)
        elif action == "human_accepted":
            await self._rep_accepted(sess, ev.task_sid, ev.worker_sid, ev.reservation_sid)
        elif action == "session_end":
            if self.s.state == "queued" and ev.event_type.startswith("task."):
                # Accepted and ended before we saw the acceptance (lost or reordered webhook).
                sess.human_task_sid = sess.human_task_sid or ev.task_sid
            self._end_session(f"{ev.event_type} of {ev.task_sid}")

    async def _ai_reservation(self, sess: SessionState, reservation_sid: str, worker_sid: str) -> None:
        if sess.ai_reservation_status == "accepted" and sess.ai_reservation_sid == reservation_sid:
            return
        sess.ai_reservation_sid = reservation_sid
        sess.ai_worker_sid = worker_sid
        if sess.handoff is not None:
            # A handoff is pending: leave the reservation pending so hand_to_humans rejects it.
            sess.ai_reservation_status = "pending"
            return
        assert sess.task_sid and sess.interaction_sid and sess.channel_sid
        try:
            res = await self._act(
                ACCEPT_AI_RESERVATION,
                AcceptAiReservationInput(
                    org=self.start.org,
                    workspace_sid=self.start.policy.workspace_sid,
                    task_sid=sess.task_sid,
                    reservation_sid=reservation_sid,
                    worker_sid=worker_sid,
                    interaction_sid=sess.interaction_sid,
                    channel_sid=sess.channel_sid,
                ),
                AcceptAiReservationResult,
                "accept AI reservation",
            )
        except ActivityError as err:
            detail, _ = _error_text(err)
            self.s.last_error = f"accepting the AI reservation failed: {detail}"
            sess.ai_reservation_status = "pending"
            return
        if res.accepted:
            sess.ai_reservation_status = "accepted"
            sess.ai_participant_sid = res.participant_sid
            self._await(sess, None)
        else:
            sess.ai_reservation_status = "released"
            self.s.last_error = f"AI reservation {reservation_sid} was {res.reservation_status}, not accepted"

    async def _rep_accepted(
        self, sess: SessionState, task_sid: str, worker_sid: str | None, reservation_sid: str | None
    ) -> None:
        if self.s.state == "with_rep" and sess.rep_reservation_sid == reservation_sid:
            return
        sess.human_task_sid = sess.human_task_sid or task_sid
        sess.rep_worker_sid = worker_sid
        sess.rep_reservation_sid = reservation_sid
        self.s.state = "with_rep"
        self.s.stuck = False
        self._timers["sla"].set(None)
        self._await(sess, "rep_task_end")
        now = workflow.now()
        if not window_rules.is_open(self.s.window_expires_at, now) and self.s.window_expires_at is not None:
            self.s.window_notified_for = self.s.window_expires_at
            await self._notice(
                "window_closed",
                notices.window_closed_while_rep(self.s.window_expires_at, self.start.policy.templates),
                f"window-closed:{iso_utc(self.s.window_expires_at)}:{sess.session_id}",
            )

    def _end_session(self, why: str) -> None:
        sess = self.s.session
        if sess is None:
            return
        workflow.logger.info("session %s ended: %s", sess.number, why)
        self.s.session = None
        self.s.sessions_ended += 1
        self.s.state = "ai"
        self.s.stuck = False
        self.s.handoff_requested_at = None
        self._timers["sla"].set(None)
        self._timers["reconcile"].set(None)
        self._arm_idle()

    async def _on_conversation(self, ev: ConversationEvent) -> None:
        sess = self.s.session
        if ev.event_type != "onMessageAdded":
            return
        if sess is None or ev.conversation_sid != sess.conversation_sid:
            self._skip(f"message {ev.message_sid} on a conversation that is not this session's")
            return
        author = (ev.author or "").strip()
        own = {self._contact_identity, AI_AUTHOR, self.start.policy.ai_worker_name, SYSTEM_AUTHOR, ""}
        if author in own or "waHandoffId" in ev.attributes:
            return  # our own post echoed back (or a system message): never relayed
        cause = ev.message_sid or ev.dedup_id
        now = workflow.now()
        self._add_transcript("rep", ev.body or " ".join(f"[{m.content_type}]" for m in ev.media) or "", now)
        try:
            cmd = template_rules.parse_template_command(ev.body)
        except template_rules.TemplateCommandError as exc:
            await self._notice("template_error", notices.template_error(str(exc)), f"rep:{cause}:template")
            return
        if cmd is not None:
            await self._send_template(cmd.name, cmd.variables, cause=f"rep:{cause}")
            return
        if not window_rules.is_open(self.s.window_expires_at, now):
            await self._notice(
                "reply_refused",
                notices.window_closed_reply_refused(self.s.window_expires_at, self.start.policy.templates),
                f"rep:{cause}:refused",
            )
            return
        if ev.body and ev.body.strip():
            await self._send_whatsapp("rep reply", f"rep:{cause}", body=ev.body)
        for i, m in enumerate(ev.media):
            decision = media_rules.whatsapp_decision(m.content_type, m.size)
            if not decision.allowed:
                await self._notice(
                    "rep_media_refused",
                    notices.rep_media_refused(m.filename, decision.reason or "not allowed"),
                    f"rep:{cause}:media:{i}:refused",
                )
                continue
            await self._send_whatsapp(
                "rep attachment",
                f"rep:{cause}:media:{i}",
                media_url=media_rules.mcs_media_url(self.start.policy.conversations_service_sid, m.sid),
            )

    async def _send_template(self, name: str, variables: list[str], *, cause: str) -> None:
        try:
            content_sid = template_rules.resolve(name, self.start.policy.templates)
        except template_rules.TemplateCommandError as exc:
            await self._notice("template_error", notices.template_error(str(exc)), f"{cause}:template-error")
            return
        sent = await self._send_whatsapp(
            "template",
            f"{cause}:template",
            content_sid=content_sid,
            content_variables=template_rules.content_variables(variables),
        )
        if sent:
            self._add_transcript("rep", f"[template {name}] {' '.join(variables)}".strip(), workflow.now())

    async def _on_delivery(self, st: DeliveryStatus) -> None:
        if delivery_rules.is_final(st.status) and self.s.pending_deliveries.pop(st.message_sid, None) is not None:
            self._arm_delivery()
        outcome = delivery_rules.classify(st.status, st.error_code, st.error_message)
        if not outcome.failed:
            return
        what = self.s.sent.get(st.message_sid, "message")
        explanation = outcome.explanation or "unknown"
        bounded_append(
            self.s.delivery_failures,
            DeliveryFailure(
                message_sid=st.message_sid,
                what=what,
                error_code=outcome.error_code,
                explanation=explanation,
                at=workflow.now(),
            ),
            MAX_DELIVERY_FAILURES,
        )
        self.s.last_error = f"{what} {st.message_sid} {st.status}: {explanation}"
        if outcome.closes_window:
            now = workflow.now()
            if self.s.window_expires_at is None or self.s.window_expires_at > now:
                self.s.window_expires_at = now
                # The delivery notice below already tells the rep; no second "window closed" notice.
                self.s.window_notified_for = now
                self._timers["window"].set(now)
        await self._notice(
            "delivery_failed",
            notices.delivery_failed(outcome.error_code, explanation),
            f"status:{st.message_sid}:failed",
        )

    # ---------------------------------------------------------------- AI turns and handoff
    def _lean_turn_due(self, sess: SessionState) -> bool:
        """A steady AI turn that one `answer_contact` activity can do: the session is open and the AI holds the
        task, the contact's waiting messages are text only (media copies are long steps of their own), no
        earlier step failed, and the org runs ordinary activities (local ones are one action per task anyway)."""
        return (
            self.s.state == "ai"
            and sess.handoff is None
            and sess.ai_reservation_status == "accepted"
            and bool(sess.ai_pending_sids)
            and sess.task_sid is not None
            and sess.conversation_sid is not None
            and sess.open_attempts == 0
            and sess.lean_failed_at is None
            and self.s.window_expires_at is not None
            and all(not m.media for m in sess.backlog)
            and not self.start.policy.local_activities
            and workflow.patched(LEAN_TURN_PATCH)
        )

    def _ai_input(self, sess: SessionState, new_messages: int) -> AiTurnInput:
        return AiTurnInput(
            backend=self.start.policy.ai_backend,
            org=self.start.org,
            transcript=list(self.s.transcript),
            new_message_count=new_messages,
            flex_context=flatten_flex_context(sess.task_attributes),
            unanswered_turns=sess.ai_unanswered_turns,
        )

    async def _lean_turn(self, sess: SessionState) -> None:
        batch = list(sess.ai_pending_sids)
        backlog = list(sess.backlog)
        assert self.s.window_expires_at is not None
        pol = self.start.policy
        attempts = AI_RETRY.maximum_attempts
        scheduled_at = workflow.now()
        try:
            res = await self._act(
                ANSWER_CONTACT,
                AnswerContactInput(
                    contact_posts=[
                        self._post_input(
                            sess, self._contact_identity, m.body or "(empty message)", f"contact:{m.message_sid}"
                        )
                        for m in backlog
                    ],
                    ai=self._ai_input(sess, len(batch)),
                    ai_timeout_seconds=pol.ai_turn_timeout_seconds,
                    ai_attempts=attempts,
                    reply_post=self._post_input(sess, AI_AUTHOR, None, f"ai:{batch[-1]}"),
                    reply_send=self._send_input(f"ai:{batch[-1]}", body=None),
                    send_until=self.s.window_expires_at,
                ),
                AnswerContactResult,
                f"AI turn ({len(batch)} new message(s)) with its Flex posts and WhatsApp send",
                timedelta(seconds=pol.ai_turn_timeout_seconds * attempts + 6) + TWILIO_TIMEOUT * (2 + len(backlog)),
                local=False,
                heartbeat=STEPS_HEARTBEAT,
            )
        except ActivityError as err:
            # Every part is idempotent: the step path picks up where the lean turn stopped.
            self.s.last_error = f"AI turn failed ({_error_text(err)[0]}): going step by step"
            sess.lean_failed_at = scheduled_at
            return
        del sess.backlog[: len(backlog)]
        del sess.ai_pending_sids[: len(batch)]
        if res.ai is None:
            self._ai_failed(res.ai_error or "no answer")
            return
        self._note_ai_result(sess, res.ai)
        if res.reply:
            now = workflow.now()
            sess.ai_quiet_from = now
            if res.reply_post_error:
                self.s.last_error = f"posting the AI reply to Flex failed: {res.reply_post_error}"
            self._add_transcript("ai", res.reply, now)
            if res.window_closed:
                await self._reply_not_sent(batch)
            elif res.send_error:
                await self._send_failed("AI reply", f"ai:{batch[-1]}", res.send_error)
            elif res.sent is not None:
                self._record_send(res.sent, "AI reply")
        self._escalate_if_asked(res.ai)

    async def _ai_turn(self, sess: SessionState) -> None:
        batch = list(sess.ai_pending_sids)
        sess.ai_pending_sids.clear()
        try:
            result = await self._act(
                AI_TURN_ACTIVITY,
                self._ai_input(sess, len(batch)),
                AiTurnResult,
                f"AI turn ({len(batch)} new message(s))",
                timedelta(seconds=self.start.policy.ai_turn_timeout_seconds),
                retry=AI_RETRY,
            )
        except ActivityError as err:
            sess.lean_failed_at = None
            self._ai_failed(_error_text(err)[0])
            return
        self._note_ai_result(sess, result)
        # Contact messages that came in during the turn go into Flex before its reply (a chronological thread
        # for the rep); the next turn answers them together.
        await self._take_contact_messages(sess)
        if result.reply:
            now = workflow.now()
            sess.ai_quiet_from = now
            reply = result.reply
            try:
                posted = await self._post(self._post_input(sess, AI_AUTHOR, reply, f"ai:{batch[-1]}"))
                # A turn run again (its first run's record lost with a killed worker) may word the reply
                # differently: what Flex already shows is what the contact gets, so the send dedups too.
                reply = posted.body or reply
            except ActivityError as err:
                # Flex missing the reply is bad; the contact missing it is worse: still send it.
                self.s.last_error = f"posting the AI reply to Flex failed: {_error_text(err)[0]}"
            self._add_transcript("ai", reply, now)
            if window_rules.is_open(self.s.window_expires_at, now):
                await self._send_whatsapp(
                    "AI reply", f"ai:{batch[-1]}", body=reply, may_have_sent_since=sess.lean_failed_at
                )
            else:
                await self._reply_not_sent(batch)
        sess.lean_failed_at = None
        self._escalate_if_asked(result)

    def _ai_failed(self, detail: str) -> None:
        self.s.last_error = f"AI turn failed: {detail}"
        self._request_handoff(
            source="ai_failure", reason=AI_UNAVAILABLE, summary=self._fallback_summary(AI_UNAVAILABLE)
        )

    def _note_ai_result(self, sess: SessionState, result: AiTurnResult) -> None:
        sess.language = result.language
        sess.ai_unanswered_turns = 0 if result.answered else sess.ai_unanswered_turns + 1

    async def _reply_not_sent(self, batch: list[str]) -> None:
        await self._notice(
            "ai_reply_not_sent",
            notices.send_failed("The AI reply", "the WhatsApp window is closed"),
            f"ai:{batch[-1]}:refused",
        )

    def _escalate_if_asked(self, result: AiTurnResult) -> None:
        if result.escalate:
            self._request_handoff(
                source="ai",
                reason=result.reason or "the AI agent escalated",
                summary=result.summary,
                sentiment=result.sentiment,
                language=result.language,
            )

    async def _take_contact_messages(self, sess: SessionState) -> None:
        """Process the contact messages waiting in the inbox now and post them into Flex. Only those not behind
        an event that could change the session (TaskRouter, rep, handoff, template); delivery statuses are
        independent of them."""
        i = 0
        while i < len(self.s.inbox):
            item = self.s.inbox[i]
            if item.kind == "delivery":
                i += 1
                continue
            if item.contact is None:
                break
            self.s.inbox.pop(i)
            self._processed_this_run += 1
            self.s.events_processed += 1
            self.s.last_activity_at = workflow.now()
            try:
                await self._on_contact(item.contact)
            except (ValueError, KeyError, TypeError) as exc:
                self._skip(f"contact: {exc}")  # as in the main loop: bad data never fails the workflow
        while sess.backlog and self.s.session is sess and sess.conversation_sid is not None:
            try:
                await self._post_contact_message(sess, sess.backlog[0])
            except ActivityError as err:
                # Left in the backlog: the loop posts it (before anything later) once Flex answers again.
                self.s.last_error = f"posting a contact message to Flex failed: {_error_text(err)[0]}"
                break
            sess.backlog.pop(0)

    def _request_handoff(
        self,
        *,
        source: str,
        reason: str,
        summary: str,
        sentiment: str = "neutral",
        language: str | None = None,
    ) -> None:
        sess = self.s.session
        if sess is None:
            self._skip(f"handoff ({reason}) requested with no open session")
            return
        if sess.handoff is not None:
            hp = sess.handoff
            if not sess.handed_off and hp.attempts >= MAX_HANDOFF_ROUNDS:
                hp.attempts = 0  # an explicit new request revives a handoff that gave up
                hp.retry_at = None
            else:
                workflow.logger.info("handoff already in progress; request (%s) ignored", reason)
            return
        now = workflow.now()
        self.s.handoff_count += 1
        lang = language or sess.language
        attrs = build_handoff_attributes(reason=reason, summary=summary, sentiment=sentiment, language=lang, at=now)
        sess.handoff = HandoffProgress(
            number=self.s.handoff_count,
            source=source,
            reason=attrs["handoffReason"],
            summary=attrs["handoffSummary"],
            sentiment=attrs["handoffSentiment"],
            language=attrs["handoffLanguage"],
            requested_at=now,
            attributes=attrs,
        )
        sess.ai_pending_sids.clear()
        self.s.state = "handoff_requested"
        self.s.handoff_requested_at = now

    async def _run_handoff(self, sess: SessionState, hp: HandoffProgress) -> None:
        assert sess.task_sid and sess.interaction_sid and sess.channel_sid
        pol = self.start.policy
        merge = MergeHandoffAttributesInput(
            org=self.start.org,
            workspace_sid=pol.workspace_sid,
            task_sid=sess.task_sid,
            handoff_attributes=hp.attributes,
        )
        note = self._post_input(
            sess,
            SYSTEM_AUTHOR,
            notices.handoff_note(summary=hp.summary, sentiment=hp.sentiment, reason=hp.reason, language=hp.language),
            f"handoff-note:{sess.session_id}:{hp.number}",
            attributes={"waHandoffNote": True},
        )

        def hand(attributes: dict[str, Any]) -> HandToHumansInput:
            assert sess.task_sid and sess.interaction_sid and sess.channel_sid
            return HandToHumansInput(
                org=self.start.org,
                workspace_sid=pol.workspace_sid,
                workflow_sid=pol.workflow_sid,
                task_channel=pol.task_channel,
                task_sid=sess.task_sid,
                reservation_sid=sess.ai_reservation_sid,
                interaction_sid=sess.interaction_sid,
                channel_sid=sess.channel_sid,
                ai_participant_sid=sess.ai_participant_sid,
                task_attributes=attributes,
                ai_worker_sid=sess.ai_worker_sid,
            )

        try:
            if not pol.local_activities and workflow.patched(ONE_HANDOFF_ACTIVITY_PATCH):
                done = await self._act(
                    HAND_OFF,
                    HandOffInput(
                        merge=None if hp.merged else merge,
                        note=None if hp.noted else note,
                        hand=hand(sess.task_attributes),
                    ),
                    HandOffResult,
                    "hand off: merge the attributes (If-Match), post the note, hand the task to the humans",
                    TWILIO_TIMEOUT * 3,
                    local=False,
                    heartbeat=STEPS_HEARTBEAT,
                )
                if done.attributes is not None:
                    sess.task_attributes = done.attributes
                hp.merged = hp.noted = True
                handed = done.handed
            else:
                if not hp.merged:
                    merged = await self._act(
                        MERGE_HANDOFF_ATTRIBUTES,
                        merge,
                        MergeHandoffAttributesResult,
                        "merge handoff attributes (If-Match)",
                    )
                    sess.task_attributes = merged.attributes
                    hp.merged = True
                if not hp.noted:
                    await self._post(note)
                    hp.noted = True
                handed = await self._act(
                    HAND_TO_HUMANS, hand(sess.task_attributes), HandToHumansResult, "hand the task to the humans"
                )
        except ActivityError as err:
            detail, _ = _error_text(err)
            hp.attempts += 1
            self.s.stuck = True
            self.s.last_error = f"handoff failed: {detail}"
            if hp.attempts < MAX_HANDOFF_ROUNDS:
                hp.retry_at = workflow.now() + RETRY_FIRST * (2 ** (hp.attempts - 1))
                self._timers["retry"].set(hp.retry_at)
            if not hp.failed_notice_sent and sess.conversation_sid:
                hp.failed_notice_sent = True
                await self._notice(
                    "handoff_failed",
                    notices.handoff_failed(detail),
                    f"handoff-failed:{sess.session_id}:{hp.number}",
                )
            return
        hp.path = handed.path
        hp.retry_at = None
        sess.handed_off = True
        sess.human_task_sid = handed.human_task_sid or (sess.task_sid if handed.path == "rejected" else None)
        now = workflow.now()
        sess.queued_since = now
        if self.s.state == "handoff_requested":
            self.s.state = "queued"
        self.s.stuck = False
        self._timers["sla"].set(now + timedelta(seconds=pol.queue_sla_seconds))
        self._await(sess, "human_acceptance")

    # ---------------------------------------------------------------- timers and reconciliation
    async def _on_timer(self, name: str) -> None:
        now = workflow.now()
        sess = self.s.session
        if name == "window":
            deadline = self.s.window_expires_at
            if deadline is None or window_rules.is_open(deadline, now):
                return
            if self.s.window_notified_for != deadline:
                self.s.window_notified_for = deadline
                if self.s.state == "with_rep" and sess is not None:
                    await self._notice(
                        "window_closed",
                        notices.window_closed_while_rep(deadline, self.start.policy.templates),
                        f"window-closed:{iso_utc(deadline)}:{sess.session_id}",
                    )
            self._arm_idle()
        elif name == "sla":
            if self.s.state != "queued" or sess is None or sess.queued_since is None:
                return
            self.s.stuck = True
            if not sess.sla_notified:
                sess.sla_notified = True
                await self._notice(
                    "queue_stuck",
                    notices.queue_stuck(sess.queued_since, self.start.policy.queue_sla_seconds),
                    f"sla:{sess.session_id}:{self.s.handoff_count}",
                )
            busy = self.start.policy.busy_message
            if busy and not sess.busy_sent:
                sess.busy_sent = True
                if window_rules.is_open(self.s.window_expires_at, now):
                    await self._send_whatsapp(
                        "busy message", f"busy:{sess.session_id}:{self.s.handoff_count}", body=busy
                    )
                else:
                    await self._notice(
                        "busy_not_sent",
                        notices.busy_not_sent_window_closed(),
                        f"busy:{sess.session_id}:closed",
                    )
        elif name == "reconcile":
            if (
                sess is not None
                and sess.awaiting is not None
                and sess.reconcile_at is not None
                and sess.reconcile_at <= now
            ):
                await self._reconcile(sess)
        elif name == "delivery":
            await self._check_deliveries()
        # "retry" only wakes the loop; "idle" is checked after the drain.

    async def _reconcile(self, sess: SessionState) -> None:
        """A webhook we waited for did not come: read the task and act on what it shows (issue 5)."""
        awaiting = sess.awaiting
        task_sid = sess.human_task_sid if awaiting != "ai_reservation" and sess.human_task_sid else sess.task_sid
        sess.reconcile_attempts += 1
        if task_sid is None:
            return
        # A transfer whose human task sid we never learnt: look it up by session (the AI's task is completed).
        find_human = awaiting != "ai_reservation" and sess.human_task_sid is None and sess.handed_off
        try:
            task = await self._act(
                FETCH_TASK,
                FetchTaskInput(
                    org=self.start.org,
                    workspace_sid=self.start.policy.workspace_sid,
                    task_sid=task_sid,
                    human_task_of_session=sess.session_id if find_human else None,
                ),
                FetchTaskResult,
                f"reconcile: fetch task (waiting for {awaiting})",
            )
        except ActivityError as err:
            detail, _ = _error_text(err)
            self.s.last_error = f"reconciliation failed: {detail}"
            self._rearm_reconcile(sess)
            return
        status = task.assignment_status
        if awaiting == "ai_reservation":
            for sid, worker_sid, rstatus in task.reservations:
                ai = worker_sid == sess.ai_worker_sid or task.task_queue_sid == self.start.policy.ai_queue_sid
                if ai and rstatus in ("pending", "accepted"):
                    await self._ai_reservation(sess, sid, worker_sid)
                    break
            else:
                # An offer that timed out (its webhooks missed too) left the AI worker offline: bring it back.
                timed_out = [w for _, w, rstatus in task.reservations if rstatus == "timeout"]
                if timed_out and status in ("pending", "reserved"):
                    if self._offer_lost_for_good(sess, status):
                        # TaskRouter need not offer a task again to a worker whose offer timed out: with the
                        # AI worker available and still no offer, the contact would wait for nobody.
                        self._request_handoff(
                            source="ai_offer_timeout",
                            reason=AI_OFFER_TIMED_OUT,
                            summary=self._fallback_summary(AI_OFFER_TIMED_OUT),
                        )
                        return
                    if sess.ai_offer_timed_out_at is None:
                        sess.ai_offer_timed_out_at = workflow.now()
                    sess.ai_worker_sid = sess.ai_worker_sid or timed_out[0]
                    await self._ensure_ai_available(timed_out[0])
                elif status == "pending":
                    # No offer at all after the check: the AI worker may have been sent Offline by another
                    # conversation's timed-out offer whose events were lost. Idempotent: changes nothing if available.
                    await self._ensure_ai_available(None)
            if status in ("canceled", "completed") and self.s.session is sess and sess.handoff is None:
                self._end_session(f"reconciliation: AI task {status}")
                return
        else:
            if find_human:
                if task.task_sid == sess.task_sid and sess.handoff is not None and sess.handoff.path == "transferred":
                    self._rearm_reconcile(sess)  # the human task is not visible yet; the AI's says nothing
                    return
                sess.human_task_sid = task.task_sid
                task_sid = task.task_sid
            if self.s.state == "queued":
                for sid, worker_sid, rstatus in task.reservations:
                    if rstatus in ("accepted", "wrapping", "completed") and worker_sid != sess.ai_worker_sid:
                        await self._rep_accepted(sess, task_sid, worker_sid, sid)
                        break
            if session_events.rep_task_ended(status) and self.s.session is sess:
                self._end_session(f"reconciliation: rep task {status}")
                return
        if self.s.session is sess and sess.awaiting is not None:
            self._rearm_reconcile(sess)

    def _offer_lost_for_good(self, sess: SessionState, status: str) -> bool:
        """The AI's offer timed out at least AI_OFFER_CHECK_FIRST ago (the AI worker was put back to available
        then) and the task is still pending with no offer: it will not come back to the AI."""
        since = sess.ai_offer_timed_out_at
        if status != "pending" or since is None or sess.handoff is not None:
            return False
        if workflow.now() - since < AI_OFFER_CHECK_FIRST:
            return False
        return workflow.patched("ai-offer-timeout-goes-to-humans")

    def _arm_delivery(self) -> None:
        """One lazily re-armed timer for all sent messages awaiting a final status: the earliest check."""
        pending = self.s.pending_deliveries
        self._timers["delivery"].set(min((p.check_at for p in pending.values()), default=None))

    async def _check_deliveries(self) -> None:
        """Status callbacks may be dropped (issue 5): read back the messages still without a final status, so
        a 63016/63019 failure whose callback never came still becomes a notice."""
        now = workflow.now()
        pending = self.s.pending_deliveries
        # Batch: messages due within the next half period are read in the same fetch (one action, one timer).
        horizon = now + timedelta(seconds=self.start.policy.delivery_check_seconds / 2)
        due = [sid for sid, p in pending.items() if p.check_at <= horizon][:MAX_STATUS_FETCH]
        if not due:
            self._arm_delivery()
            return
        recheck = now + timedelta(seconds=self.start.policy.delivery_check_seconds * DELIVERY_RECHECK_FACTOR)
        try:
            res = await self._act(
                FETCH_MESSAGE_STATUSES,
                FetchMessageStatusesInput(org=self.start.org, message_sids=due),
                FetchMessageStatusesResult,
                f"read back {len(due)} delivery status(es) never reported",
                retry=STATUS_READBACK_RETRY,
            )
            statuses = {st.message_sid: st for st in res.statuses}
        except ActivityError as err:
            # Not a look at them: read them again later (the conversation is not held up retrying meanwhile).
            self.s.last_error = f"reading delivery statuses failed: {_error_text(err)[0]}"
            for sid in due:
                if sid in pending:
                    pending[sid].check_at = recheck
            self._arm_delivery()
            return
        for sid in due:
            p = pending.get(sid)
            st = statuses.get(sid)
            if p is None:
                continue
            if st is not None and (delivery_rules.is_final(st.status) or st.status == "unknown"):
                del pending[sid]
                if st.status in delivery_rules.FAILED_STATUSES and not self._remember(f"status:{sid}:{st.status}"):
                    await self._on_delivery(
                        DeliveryStatus(
                            message_sid=sid,
                            status="failed" if st.status == "failed" else "undelivered",
                            error_code=st.error_code,
                            error_message=st.error_message,
                            occurred_at=now,
                        )
                    )
                continue
            p.checks += 1
            if p.checks >= MAX_DELIVERY_CHECKS:
                del pending[sid]  # still in flight after two looks: its callback, if any, is handled as usual
            else:
                p.check_at = recheck
        self._arm_delivery()

    async def _ensure_ai_available(self, worker_sid: str | None) -> None:
        """TaskRouter puts a worker whose reservation timed out into the TimeoutActivity (Offline): for the AI
        worker that would stall every conversation of the org. Idempotent; a failure is noted, not fatal."""
        try:
            res = await self._act(
                ENSURE_AI_WORKER_AVAILABLE,
                EnsureAiWorkerAvailableInput(
                    org=self.start.org,
                    workspace_sid=self.start.policy.workspace_sid,
                    worker_sid=worker_sid,
                    worker_name=self.start.policy.ai_worker_name,
                ),
                EnsureAiWorkerAvailableResult,
                "put the AI worker back to available",
            )
        except ActivityError as err:
            self.s.last_error = f"making the AI worker available failed: {_error_text(err)[0]}"
            return
        if res.changed:
            self._skip(f"the AI worker was offline after a reservation timeout; set to {res.activity_name}")

    def _await(self, sess: SessionState, kind: Any) -> None:
        sess.awaiting = kind
        sess.reconcile_attempts = 0
        if kind is None:
            sess.awaiting_since = None
            sess.reconcile_at = None
            self._timers["reconcile"].set(None)
            return
        now = workflow.now()
        sess.awaiting_since = now
        first = self._reconcile_first(kind)
        sess.reconcile_at = now + first
        self._timers["reconcile"].set(sess.reconcile_at)

    @staticmethod
    def _reconcile_first(kind: Any) -> timedelta:
        if kind == "rep_task_end":
            return REP_TASK_CHECK_FIRST
        return AI_OFFER_CHECK_FIRST if kind == "ai_reservation" else RECONCILE_FIRST

    def _rearm_reconcile(self, sess: SessionState) -> None:
        rep = sess.awaiting == "rep_task_end"
        first, cap = self._reconcile_first(sess.awaiting), (REP_TASK_CHECK_CAP if rep else RECONCILE_CAP)
        delay = min(cap, first * (2 ** min(sess.reconcile_attempts, 10)))
        sess.reconcile_at = workflow.now() + delay
        self._timers["reconcile"].set(sess.reconcile_at)

    def _idle_deadline(self) -> datetime | None:
        """When the workflow may complete: a quiet period after the last event and the window's close."""
        if self.s.session is not None:
            return None
        base = self.s.last_activity_at or workflow.now()
        if self.s.window_expires_at is not None and self.s.window_expires_at > base:
            base = self.s.window_expires_at
        return base + timedelta(seconds=self.start.policy.idle_close_seconds)

    def _ai_held(self, sess: SessionState) -> bool:
        return self.s.state == "ai" and sess.handoff is None and not sess.handed_off

    def _ai_session_deadline(self) -> datetime | None:
        """When an AI-held session ends: a quiet period after the last contact message or AI reply, at the
        latest when the window closes (the AI cannot write any more); later only to retry a failed release."""
        sess = self.s.session
        if sess is None or not self._ai_held(sess):
            return None
        base = sess.ai_quiet_from or sess.opened_at
        deadline = base + timedelta(seconds=self.start.policy.ai_session_idle_seconds)
        if self.s.window_expires_at is not None and self.s.window_expires_at < deadline:
            deadline = max(self.s.window_expires_at, sess.opened_at)
        if sess.release_retry_at is not None and sess.release_retry_at > deadline:
            deadline = sess.release_retry_at
        return deadline

    def _ai_session_due(self, sess: SessionState) -> bool:
        deadline = self._ai_session_deadline()
        if deadline is None or workflow.now() < deadline or self.s.inbox:
            return False
        opening_gave_up = sess.open_attempts >= MAX_OPEN_ROUNDS and sess.open_retry_at is None
        if sess.backlog and not opening_gave_up:
            return False
        # Unanswered contact messages keep the session until the window closes (nobody can answer after).
        return not sess.ai_pending_sids or not window_rules.is_open(self.s.window_expires_at, workflow.now())

    def _arm_idle(self) -> None:
        """The one quiet-period timer: the AI session's end while the AI holds it, the idle close with no
        session, none while a handoff or a rep holds it. Re-armed lazily (moving it later starts nothing)."""
        sess = self.s.session
        deadline = self._ai_session_deadline() if sess is not None else self._idle_deadline()
        now = workflow.now()
        if sess is not None and deadline is not None and deadline <= now and not self._ai_session_due(sess):
            # Due but blocked (never a busy loop): unanswered contact messages hold the session until the window
            # closes; other work (inbox, opening retries) wakes the loop by its own signal or timer.
            window = self.s.window_expires_at
            if sess.ai_pending_sids and not self.s.inbox and window is not None and window > now:
                deadline = window
            else:
                deadline = None
        self._timers["idle"].set(deadline)

    async def _release_ai_session(self, sess: SessionState) -> None:
        """End a quiet AI-held session: release the AI's task (its chat capacity) and close the interaction.
        Never a rep's task: the session is not handed off, and the activity refuses a handed-off task."""
        pol = self.start.policy
        try:
            res = await self._act(
                RELEASE_AI_TASK,
                ReleaseAiTaskInput(
                    org=self.start.org,
                    workspace_sid=pol.workspace_sid,
                    session_id=sess.session_id,
                    task_sid=sess.task_sid,
                    interaction_sid=sess.interaction_sid,
                    channel_sid=sess.channel_sid,
                    ai_participant_sid=sess.ai_participant_sid,
                    ai_worker_sid=sess.ai_worker_sid,
                    conversations_service_sid=pol.conversations_service_sid,
                    conversation_sid=sess.conversation_sid,
                ),
                ReleaseAiTaskResult,
                "end quiet AI session: release the AI's task",
            )
        except ActivityError as err:
            detail, is_4xx = _error_text(err)
            sess.release_attempts += 1
            self.s.last_error = f"releasing the AI's task failed: {detail}"
            if is_4xx or detail.startswith(NOT_AI_TASK) or sess.release_attempts >= MAX_RELEASE_ROUNDS:
                # Nothing more we may do (or the task is someone else's now): stop holding the session.
                self._skip(f"AI session {sess.number} ended without releasing its task: {detail}")
                self._end_session(f"quiet AI session, release failed: {detail}")
                return
            sess.release_retry_at = workflow.now() + RETRY_FIRST * (2 ** (sess.release_attempts - 1))
            return
        self._end_session(f"quiet AI session released (task {res.action})")

    def _idle_close_due(self) -> bool:
        deadline = self._idle_deadline()
        return (
            deadline is not None
            and not self.s.inbox
            and not window_rules.is_open(self.s.window_expires_at, workflow.now())
            and workflow.now() >= deadline
        )

    def _rearm_timers(self) -> None:
        """After continue-as-new: timers are not carried, deadlines are; start one timer per live deadline."""
        now = workflow.now()
        if self.s.window_expires_at is not None and (
            self.s.window_expires_at > now or self.s.window_notified_for != self.s.window_expires_at
        ):
            self._timers["window"].set(self.s.window_expires_at)
        sess = self.s.session
        if sess is not None:
            if self.s.state == "queued" and sess.queued_since is not None and not self.s.stuck:
                self._timers["sla"].set(sess.queued_since + timedelta(seconds=self.start.policy.queue_sla_seconds))
            if sess.reconcile_at is not None:
                self._timers["reconcile"].set(sess.reconcile_at)
            retry = [t for t in (sess.open_retry_at, sess.handoff.retry_at if sess.handoff else None) if t]
            if retry:
                self._timers["retry"].set(min(retry))
        if not self.s.inbox:
            # With a signal waiting (signal-with-start), the loop arms it after handling it: no timer wasted.
            self._arm_idle()
        self._arm_delivery()

    # ---------------------------------------------------------------- effects
    async def _act(
        self,
        name: str,
        arg: BaseModel,
        result_type: type[R],
        summary: str,
        limit: timedelta = TWILIO_TIMEOUT,
        *,
        local: bool = True,
        retry: RetryPolicy = TWILIO_RETRY,
        heartbeat: timedelta | None = None,
    ) -> R:
        # Publish state before any wait, so a slow or retrying step shows in search attributes (e.g. a handoff
        # whose activities keep retrying is visible as handoff_requested, not as the previous state). A local
        # activity holds the workflow task: only a changed state is worth an upsert of its own then.
        as_local = (
            local
            and self.start.policy.local_activities
            and workflow.patched(LOCAL_ACTIVITIES_PATCH)
            and self._local_step_allowed()
        )
        self._publish(urgent_only=as_local)
        if as_local:
            try:
                local_result: R = await workflow.execute_local_activity(
                    name,
                    arg,
                    result_type=result_type,
                    start_to_close_timeout=limit,
                    retry_policy=retry,
                    # Longer backoffs wait on a workflow timer: the workflow task is not held open meanwhile.
                    local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                    summary=summary,
                )
            except ActivityError:
                raise
            except FailureError as err:
                # A local activity's final failure can come back unwrapped (e.g. a non-retryable ApplicationError):
                # every step's failure handling expects an ActivityError, as from an ordinary activity.
                raise ActivityError(
                    f"local activity {name} failed",
                    scheduled_event_id=0,
                    started_event_id=0,
                    identity="",
                    activity_type=name,
                    activity_id="",
                    retry_state=None,
                ) from err
            return local_result
        result: R = await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=limit,
            heartbeat_timeout=heartbeat,
            retry_policy=retry,
            summary=summary,
        )
        return result

    def _local_step_allowed(self) -> bool:
        """At most LOCAL_STEPS_PER_TASK local activities per workflow task; the next step is an ordinary
        activity, which ends the task. A backlog (a burst of rep messages, a worker back after a crash) is then
        worked off in several short tasks instead of one that outlives its timeout on a slow Twilio."""
        now = workflow.now()
        if now != self._local_task_at:
            self._local_task_at, self._local_in_task = now, 0
        if self._local_in_task >= LOCAL_STEPS_PER_TASK:
            return False
        self._local_in_task += 1
        return True

    def _post_input(
        self,
        sess: SessionState,
        author: str,
        body: str | None,
        idempotency_id: str,
        *,
        media_sid: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> PostToFlexInput:
        assert sess.conversation_sid is not None
        return PostToFlexInput(
            org=self.start.org,
            conversations_service_sid=self.start.policy.conversations_service_sid,
            conversation_sid=sess.conversation_sid,
            author=author,
            body=body,
            media_sid=media_sid,
            attributes=attributes or {},
            idempotency_id=idempotency_id,
        )

    async def _post(self, inp: PostToFlexInput) -> PostToFlexResult:
        who = "contact" if inp.author == self._contact_identity else inp.author
        return await self._act(POST_TO_FLEX, inp, PostToFlexResult, f"post to Flex as {who}")

    async def _notice(self, kind: str, text: str, idempotency_id: str) -> None:
        """A notice for reps: in state always, in Flex when there is a conversation (never WhatsApp)."""
        bounded_append(self.s.notices, text, MAX_NOTICES)
        sess = self.s.session
        if sess is None or sess.conversation_sid is None:
            return
        try:
            await self._post(
                self._post_input(
                    sess, SYSTEM_AUTHOR, text, f"notice:{idempotency_id}", attributes={"waHandoffNotice": kind}
                )
            )
        except ActivityError as err:
            detail, _ = _error_text(err)
            self.s.last_error = f"posting a notice failed: {detail}"

    def _send_input(
        self,
        idempotency_id: str,
        *,
        body: str | None = None,
        media_url: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        may_have_sent_since: datetime | None = None,
    ) -> SendWhatsAppInput:
        return SendWhatsAppInput(
            org=self.start.org,
            from_number=self.start.business_number,
            to_number=self.start.contact_number,
            body=body,
            media_url=media_url,
            content_sid=content_sid,
            content_variables=content_variables or {},
            status_callback_url=(
                f"{self.start.policy.public_base_url}/webhooks/{self.start.org}/whatsapp/status/{self.start.key}"
            ),
            idempotency_id=idempotency_id,
            known_sids=list(self.s.sent)[-KNOWN_SIDS_PASSED:],
            may_have_sent_since=may_have_sent_since,
        )

    async def _send_whatsapp(
        self,
        what: str,
        idempotency_id: str,
        *,
        body: str | None = None,
        media_url: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        may_have_sent_since: datetime | None = None,
    ) -> bool:
        try:
            res = await self._act(
                SEND_WHATSAPP,
                self._send_input(
                    idempotency_id,
                    body=body,
                    media_url=media_url,
                    content_sid=content_sid,
                    content_variables=content_variables,
                    may_have_sent_since=may_have_sent_since,
                ),
                SendWhatsAppResult,
                f"send {what} to WhatsApp",
                # A template's sent body is not ours to compare: only an ordinary activity's retry (which knows
                # when it was first scheduled) can tell its own earlier send from any other message.
                local=content_sid is None,
            )
        except ActivityError as err:
            await self._send_failed(what, idempotency_id, _error_text(err)[0])
            return False
        self._record_send(res, what)
        return True

    async def _send_failed(self, what: str, idempotency_id: str, detail: str) -> None:
        self.s.last_error = f"{what} not sent: {detail}"
        await self._notice(
            "send_failed", notices.send_failed(what[:1].upper() + what[1:], detail), f"{idempotency_id}:send-failed"
        )

    def _record_send(self, res: SendWhatsAppResult, what: str) -> None:
        """A send Twilio took: known by its SID (not taken for a re-run's own), its delivery watched."""
        self.s.sent[res.message_sid] = what
        if len(self.s.sent) > MAX_SENT:
            for old in list(self.s.sent)[: len(self.s.sent) - MAX_SENT]:
                del self.s.sent[old]
        pending = self.s.pending_deliveries
        pending[res.message_sid] = PendingDelivery(
            what=what, check_at=workflow.now() + timedelta(seconds=self.start.policy.delivery_check_seconds)
        )
        if len(pending) > MAX_PENDING_DELIVERIES:
            for old in list(pending)[: len(pending) - MAX_PENDING_DELIVERIES]:
                del pending[old]
        self._arm_delivery()

    # ---------------------------------------------------------------- helpers
    @property
    def _contact_identity(self) -> str:
        return f"whatsapp:{self.start.contact_number}"

    def _task_context(self, sess: SessionState) -> session_events.TaskContext:
        return session_events.TaskContext(
            session_id=sess.session_id,
            ai_worker_name=self.start.policy.ai_worker_name,
            ai_worker_sid=sess.ai_worker_sid,
            ai_queue_sid=self.start.policy.ai_queue_sid,
            ai_task_sid=sess.task_sid,
            human_task_sid=sess.human_task_sid,
            handed_off=sess.handed_off,
            handoff_path=sess.handoff.path if sess.handoff else None,
        )

    def _add_transcript(self, speaker: Any, text: str, at: datetime) -> None:
        bounded_append(self.s.transcript, TranscriptLine(speaker=speaker, text=text, at=at), MAX_TRANSCRIPT)

    def _fallback_summary(self, reason: str) -> str:
        last = [line.text for line in self.s.transcript if line.speaker == "contact"][-3:]
        return f"{reason}. Last contact messages: " + " | ".join(last) if last else reason

    def _skip(self, what: str) -> None:
        workflow.logger.warning("skipped: %s", what)
        bounded_append(self.s.skipped, what, MAX_SKIPPED)

    def _view(self) -> ConversationView:
        s = self.s
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
            duplicates_ignored=s.duplicates_ignored,
            events_processed=s.events_processed,
            runs=s.runs,
            awaiting=sess.awaiting if sess else None,
        )

    def _publish(self, *, urgent_only: bool = False) -> None:
        """Search attributes (one upsert, only what changed; no PII) and the markdown current details.

        urgent_only: upsert only if the state, stuck flag or handoff time changed (what finds a stuck
        conversation). Every upsert is a billed action, and those of one workflow task all land together when
        it completes; the rest (window, task SID) waits for the upsert at the end of the task."""
        s = self.s
        sess = s.session
        state: StateName = s.state
        wanted: dict[str, Any] = {
            sa.CONVERSATION_STATE.name: state,
            sa.HANDOFF_REQUESTED_AT.name: s.handoff_requested_at,
            sa.HANDOFF_STUCK.name: s.stuck,
            sa.WINDOW_EXPIRES_AT.name: s.window_expires_at,
            sa.FLEX_TASK_SID.name: (sess.human_task_sid or sess.task_sid) if sess else None,
            sa.ORG_ID.name: self.start.org,
        }
        changed = {k: v for k, v in wanted.items() if k not in self._sa_last or self._sa_last[k] != v}
        if urgent_only and not changed.keys() & URGENT_SEARCH_ATTRIBUTES:
            changed = {}
        if changed:
            keys = {k.name: k for k in sa.ALL_KEYS}
            updates = [
                keys[name].value_set(value) if value is not None else keys[name].value_unset()
                for name, value in changed.items()
            ]
            workflow.upsert_search_attributes(updates)
            self._sa_last.update(changed)
        lines = [f"**{state}**" + (" · ⚠ **stuck**" if s.stuck else "")]
        if sess is not None:
            lines.append(f"session {sess.number}, task {sess.human_task_sid or sess.task_sid or '(creating)'}")
            if state == "queued" and sess.queued_since:
                lines.append(f"queued since {iso_utc(sess.queued_since)}")
        if s.window_expires_at is not None:
            verb = "closes" if window_rules.is_open(s.window_expires_at, workflow.now()) else "closed"
            lines.append(f"window {verb} {iso_utc(s.window_expires_at)}")
        if s.last_error:
            # The error text may quote Twilio messages that contain a number: only say there is one.
            lines.append("last error recorded (see the `state` query)")
        details = "  \n".join(lines)
        if details != self._details_last:
            workflow.set_current_details(details)
            self._details_last = details
