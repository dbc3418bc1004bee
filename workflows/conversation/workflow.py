"""The durable conversation workflow: one per WhatsApp conversation (org, business number, contact number).

Handlers only record (after de-duplicating on the Twilio SID or request id that caused them); one main loop does
all the work, so the order of side effects is the order of the code below, never a race between handlers:

1. take the inbox in order (contact messages, TaskRouter and Conversations events, delivery statuses, operator
   commands);
2. act on the timers that fired (window, queue SLA, read-backs, retries, delivery checks, quiet periods);
3. advance the conversation one step at a time: the rating question and answer of a session a rep held; then
   the session's: the AI's turn, the rep-task check, opening the Flex session, the handoff, what the waiting
   contact is told, the rep's window warning, ending a quiet AI session;
4. wait for the next signal or timer; complete when idle; continue as new when the history is long.

States and their transitions: `states.py`. What each step does: the module named after it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

# Shared by every conversation instead of re-imported into each one's sandbox: pure models, rules and the step
# modules (functions of the `Conversation` they are given; no module state).
with workflow.unsafe.imports_passed_through():
    from contracts.activities import LOAD_POLICY, LoadPolicyInput
    from contracts.ai import TranscriptLine
    from contracts.signals import (
        QUERY_STATE,
        QUERY_TRANSCRIPT,
        SIGNAL_CONTACT_MESSAGE,
        SIGNAL_CONVERSATION_EVENT,
        SIGNAL_DELIVERY_STATUS,
        SIGNAL_TASKROUTER_EVENT,
        UPDATE_APPLY_POLICY,
        UPDATE_REQUEST_HANDOFF,
        UPDATE_SEND_TEMPLATE,
        WORKFLOW_NAME,
        CommandOutcome,
        ContactMessage,
        ConversationEvent,
        ConversationStart,
        DeliveryStatus,
        HandoffRequest,
        PolicyUpdate,
        TaskRouterEvent,
        TemplateSendRequest,
    )
    from contracts.views import ConversationView
    from workflows.conversation import (
        ai_turn,
        commands,
        csat,
        delivery,
        handoff,
        lifecycle,
        quiet,
        rep,
        session,
        taskrouter,
        waiting,
    )
    from workflows.conversation.context import Conversation
    from workflows.conversation.effects import call, error_text
    from workflows.conversation.publish import publish, view
    from workflows.conversation.timers import TimerName
    from workflows.state import InboxItem

# Reading the org's current settings before continuing as new: quick, and never worth holding the switch up.
LOAD_POLICY_RETRY = RetryPolicy(maximum_attempts=2)


# No versioning behaviour here: a versioned worker gives its default (AUTO_UPGRADE, docs/DESIGN.md §4), and an
# unversioned one must not name any (the server refuses the workflow task).
@workflow.defn(name=WORKFLOW_NAME)
class ConversationWorkflow:
    @workflow.init
    def __init__(self, start: ConversationStart) -> None:
        self.c = Conversation(start)

    # ------------------------------------------------------------------ signals: record only
    @workflow.signal(name=SIGNAL_CONTACT_MESSAGE)
    def contact_message(self, msg: ContactMessage) -> None:
        self.c.record(f"contact:{msg.dedup_id}", InboxItem.of(msg))

    @workflow.signal(name=SIGNAL_TASKROUTER_EVENT)
    def taskrouter_event(self, ev: TaskRouterEvent) -> None:
        self.c.record(f"tr:{ev.dedup_id}", InboxItem.of(ev))

    @workflow.signal(name=SIGNAL_CONVERSATION_EVENT)
    def conversation_event(self, ev: ConversationEvent) -> None:
        self.c.record(f"conv:{ev.dedup_id}", InboxItem.of(ev))

    @workflow.signal(name=SIGNAL_DELIVERY_STATUS)
    def delivery_status(self, st: DeliveryStatus) -> None:
        self.c.record(f"status:{st.dedup_id}", InboxItem.of(st))

    # ------------------------------------------------------------------ operator commands: validate, record, wait
    @workflow.update(name=UPDATE_REQUEST_HANDOFF)
    async def request_handoff(self, req: HandoffRequest) -> CommandOutcome:
        return await self._command(req.request_id, InboxItem.of(req))

    @request_handoff.validator
    def _validate_handoff(self, req: HandoffRequest) -> None:
        commands.validate_handoff(self.c, req)

    @workflow.update(name=UPDATE_SEND_TEMPLATE)
    async def send_template(self, req: TemplateSendRequest) -> CommandOutcome:
        return await self._command(req.request_id, InboxItem.of(req))

    @send_template.validator
    def _validate_template(self, req: TemplateSendRequest) -> None:
        commands.validate_template(self.c, req)

    @workflow.update(name=UPDATE_APPLY_POLICY)
    async def apply_policy(self, update: PolicyUpdate) -> CommandOutcome:
        return await self._command(update.request_id, InboxItem.of(update))

    async def _command(self, request_id: str, item: InboxItem) -> CommandOutcome:
        c = self.c
        if not c.record(f"cmd:{request_id}", item):
            return CommandOutcome(request_id=request_id, outcome="duplicate", state=c.s.state)
        await workflow.wait_condition(lambda: request_id in c.outcomes)
        return c.outcomes.pop(request_id)

    # ------------------------------------------------------------------ queries
    @workflow.query(name=QUERY_STATE)
    def state(self) -> ConversationView:
        return view(self.c)

    @workflow.query(name=QUERY_TRANSCRIPT)
    def transcript(self) -> list[TranscriptLine]:
        return list(self.c.s.transcript)

    # ------------------------------------------------------------------ the main loop
    @workflow.run
    async def run(self, start: ConversationStart) -> ConversationView:
        c = self.c
        self._rearm_timers()
        publish(c)
        while True:
            c.idle = True
            await workflow.wait_condition(
                lambda: (
                    bool(c.s.inbox)
                    or bool(c.timers.fired)
                    or (c.continue_as_new_due() and workflow.all_handlers_finished())
                )
            )
            c.idle = False
            await self._drain()
            self._arm_deadlines()
            publish(c)
            if lifecycle.idle_close_due(c) and workflow.all_handlers_finished():
                c.set_state("closed", "idle: no session, window closed, quiet period over")
                publish(c)
                return view(c)
            if c.continue_as_new_due() and workflow.all_handlers_finished() and not c.s.inbox:
                await self._refresh_policy()
                if not c.s.inbox:
                    workflow.continue_as_new(c.next_run())

    async def _drain(self) -> None:
        """Do everything that can be done now; returns when only waiting is left."""
        c = self.c
        while True:
            if c.s.inbox:
                item = c.s.inbox.pop(0)
                c.processed_this_run += 1
                c.s.events_processed += 1
                c.s.last_activity_at = workflow.now()
                try:
                    await self._process(item)
                except (ActivityError, ValueError, KeyError, TypeError) as exc:
                    # Bad data from Twilio (or an unhandled activity failure) never fails the workflow.
                    c.skip(f"{item.payload_type}: {exc}")
                continue
            try:
                fired = c.timers.take_fired()
                if fired:
                    for name in fired:
                        await self._on_timer(name)
                    continue
                if await self._advance():
                    continue
            except ActivityError as err:
                # Safety net: an activity failure never fails the conversation. The next signal or timer resumes
                # the pending work (every step is idempotent).
                c.s.last_error = error_text(err)[0]
                c.skip(f"step failed: {c.s.last_error}")
            return

    async def _process(self, item: InboxItem) -> None:
        c = self.c
        match item.payload:
            case ContactMessage() as msg:
                session.on_contact(c, msg)
            case TaskRouterEvent() as ev:
                await taskrouter.on_event(c, ev)
            case ConversationEvent() as ev:
                await rep.on_conversation_event(c, ev)
            case DeliveryStatus() as st:
                await delivery.on_status(c, st)
            case HandoffRequest() as req:
                commands.hand_off(c, req)
            case TemplateSendRequest() as req:
                await commands.send_template(c, req)
            case PolicyUpdate() as update:
                commands.apply_policy(c, update)

    async def _on_timer(self, name: TimerName) -> None:
        c = self.c
        sess = c.s.session
        if name == "window":
            await rep.window_closed(c)
        elif name == "opening":
            if sess is not None:
                handoff.release_held(c, sess)
        elif name == "sla":
            await handoff.queue_sla_passed(c)
        elif name == "reconcile":
            if sess is not None and sess.awaiting is not None and sess.reconcile_at is not None:
                if sess.reconcile_at <= workflow.now():
                    await taskrouter.read_back(c, sess)
        elif name == "delivery":
            await delivery.check(c)
        # "retry", "quiet", "queue_update" and "window_warning" only wake the loop: the step acts.

    async def _advance(self) -> bool:
        """One step of pending work; True when one ran (the loop then looks again)."""
        c = self.c
        if c.s.csat_due is not None:
            await csat.ask(c)
            return True
        if c.s.rating_to_note is not None:
            await csat.record(c)
            return True
        sess = c.s.session
        if sess is None:
            return False
        if ai_turn.due(c, sess):
            await ai_turn.take(c, sess)
            return True
        if session.rep_task_check_due(c, sess):
            await session.check_rep_task(c, sess)
            return True
        if session.needs_opening(sess):
            # Contact messages reach Flex before anything that follows them: nothing else runs meanwhile.
            return not session.opening_blocked(sess) and await session.open_and_flush(c, sess)
        if waiting.after_hours_due(c, sess):
            await waiting.tell_after_hours(c, sess)
            return True
        if handoff.due(c, sess):
            await handoff.run(c, sess)
            return True
        if waiting.queue_update_due(c, sess):
            await waiting.tell_queue_position(c, sess)
            return True
        if rep.window_warning_due(c):
            await rep.warn_window_closing(c)
            return True
        if lifecycle.ai_session_due(c, sess):
            await quiet.release_ai_session(c, sess)
            return True
        return False

    def _arm_deadlines(self) -> None:
        """After the work: the timers whose deadlines the work may have moved."""
        c = self.c
        lifecycle.arm_quiet(c)
        waiting.arm(c)
        rep.arm_window_warning(c)

    def _rearm_timers(self) -> None:
        """At the start of a run: timers are not carried through continue-as-new, deadlines are."""
        c = self.c
        s = c.s
        now = workflow.now()
        if s.window_expires_at is not None and (
            s.window_expires_at > now or s.window_notified_for != s.window_expires_at
        ):
            c.timers.set("window", s.window_expires_at)
        sess = s.session
        if sess is not None:
            if s.state == "queued" and sess.queued_since is not None and not s.stuck:
                c.timers.set("sla", sess.queued_since + timedelta(seconds=c.policy.queue_sla_seconds))
            if sess.reconcile_at is not None:
                c.timers.set("reconcile", sess.reconcile_at)
            retries = [
                t
                for t in (sess.open_retry_at, sess.turn_retry_at, sess.handoff.retry_at if sess.handoff else None)
                if t is not None
            ]
            if retries:
                c.timers.set("retry", min(retries))
            if sess.handoff is not None and sess.handoff.hold_until is not None:
                c.timers.set("opening", sess.handoff.hold_until)
        if not s.inbox:
            # With a signal waiting (signal-with-start), the loop arms them after handling it: no timer wasted.
            self._arm_deadlines()
        delivery.arm(c)

    async def _refresh_policy(self) -> None:
        """The org's settings as the orgs file says now, carried into the next run: an edited file reaches every
        open conversation at its next continue-as-new at the latest. A failed read keeps the current ones."""
        c = self.c
        if c.policy_refreshed:
            return
        c.policy_refreshed = True
        try:
            loaded = await call(
                c, LOAD_POLICY, LoadPolicyInput(org=c.org), "read the org's current settings", retry=LOAD_POLICY_RETRY
            )
        except ActivityError as err:
            c.s.last_error = f"reading the org's settings failed (kept the current ones): {error_text(err)[0]}"
            return
        if loaded.policy is not None:
            c.policy = loaded.policy
