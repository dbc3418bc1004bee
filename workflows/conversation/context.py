"""`Conversation`: what every step of one conversation shares — its identity, policy, state, timers — and the
bookkeeping no step may do differently (de-duplication, state transitions, the transcript, skipped data).

Built whole in `@workflow.init`, so a signal, update or query in a run's first activation (signal-with-start,
the first task after continue-as-new) finds the state it belongs to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

from contracts.ai import Speaker, TranscriptLine
from contracts.policy import ConversationPolicy
from contracts.signals import CommandOutcome, CommandOutcomeName, ConversationStart
from contracts.views import StateName
from workflows.conversation.states import check_transition
from workflows.conversation.timers import Timers
from workflows.state import MAX_DEDUP, MAX_SKIPPED, MAX_TRANSCRIPT, ConversationState, InboxItem, bounded_append


class Conversation:
    def __init__(self, start: ConversationStart) -> None:
        self.org = start.org
        self.key = start.key
        self.business_number = start.business_number
        self.contact_address = start.contact_address
        self.policy: ConversationPolicy = start.policy
        self.s = ConversationState()
        if start.carried_state is not None:
            self.s = ConversationState.model_validate(start.carried_state)
            self.s.runs += 1
        self.timers = Timers()
        self._seen = set(self.s.dedup)
        self.processed_this_run = 0
        # The main loop is waiting: nothing runs and nothing is runnable.
        self.idle = False
        # Results of operator commands, by request id, until their update returns them (never carried: a run
        # continues as new only once every update handler has finished).
        self.outcomes: dict[str, CommandOutcome] = {}
        # Operator handoff requests waiting for the handoff's next attempt to tell them what happened.
        self.handoff_waiters: list[str] = []
        self.policy_refreshed = False
        # What was last published (search attributes, current details): only changes are sent.
        self.published_attributes: dict[str, Any] = {}
        self.published_details = ""

    # ------------------------------------------------------------------ identity
    @property
    def contact_identity(self) -> str:
        """The contact's identity in Flex (chat participant and author of their posts)."""
        return f"whatsapp:{self.contact_address}"

    @property
    def reply_address(self) -> str:
        """Where the contact's WhatsApp is reached: their number when known (documented), else their BSUID."""
        return self.s.contact_phone or self.contact_address

    def is_this_contact(self, address: str, bsuid: str | None) -> bool:
        """A message from this conversation's contact, by any of the addresses they have used."""
        known = {self.contact_address, self.s.contact_phone, self.s.contact_bsuid} - {None}
        return address in known or (bsuid is not None and bsuid in known)

    @property
    def own_authors(self) -> frozenset[str]:
        """Authors of the service's own posts into Flex (never relayed back to WhatsApp)."""
        return frozenset({self.contact_identity, AI_AUTHOR, self.policy.ai_worker_name, SYSTEM_AUTHOR})

    def next_run(self) -> ConversationStart:
        """The input of the run after continue-as-new: the same conversation, its state, the current policy."""
        return ConversationStart(
            org=self.org,
            key=self.key,
            business_number=self.business_number,
            contact_address=self.contact_address,
            policy=self.policy,
            carried_state=self.s.model_dump(mode="json"),
        )

    # ------------------------------------------------------------------ bookkeeping
    def record(self, dedup_id: str, item: InboxItem) -> bool:
        """A signal or command for the main loop; False (nothing recorded) when it is a duplicate."""
        self.s.signals_received += 1
        if self.remember(dedup_id):
            self.s.duplicates_ignored += 1
            return False
        self.s.inbox.append(item)
        return True

    def seen(self, dedup_id: str) -> bool:
        """Whether this id was recorded (read-only: validators use it)."""
        return dedup_id in self._seen

    def remember(self, dedup_id: str) -> bool:
        """Add to the bounded de-dup window; True when it was already there."""
        if dedup_id in self._seen:
            return True
        self._seen.add(dedup_id)
        self.s.dedup.append(dedup_id)
        if len(self.s.dedup) > MAX_DEDUP:
            for old in self.s.dedup[: len(self.s.dedup) - MAX_DEDUP]:
                self._seen.discard(old)
            del self.s.dedup[: len(self.s.dedup) - MAX_DEDUP]
        return False

    def set_state(self, target: StateName, why: str) -> None:
        """Every state change goes through here and the transition table."""
        current = self.s.state
        check_transition(current, target, why)
        if target != current:
            workflow.logger.info("conversation %s → %s: %s", current, target, why)
            self.s.state = target

    def skip(self, what: str) -> None:
        """Bad data from Twilio (or a step that could not be done) is noted, never fatal."""
        workflow.logger.warning("skipped: %s", what)
        bounded_append(self.s.skipped, what, MAX_SKIPPED)

    def add_transcript(self, speaker: Speaker, text: str, at: datetime) -> None:
        bounded_append(self.s.transcript, TranscriptLine(speaker=speaker, text=text, at=at), MAX_TRANSCRIPT)

    def fallback_summary(self, reason: str) -> str:
        """A handoff summary when the AI gave none: the reason and the contact's last words."""
        last = [line.text for line in self.s.transcript if line.speaker == "contact"][-3:]
        return f"{reason}. Last contact messages: " + " | ".join(last) if last else reason

    def tell_handoff_waiters(self, outcome: CommandOutcomeName, detail: str) -> None:
        """Operators waiting on the handoff learn what its latest round did (or that the session ended)."""
        sess = self.s.session
        task = (sess.human_task_sid or sess.task_sid) if sess else None
        for request_id in self.handoff_waiters:
            self.outcomes[request_id] = CommandOutcome(
                request_id=request_id, outcome=outcome, detail=detail, state=self.s.state, task_sid=task
            )
        self.handoff_waiters.clear()

    def continue_as_new_due(self) -> bool:
        threshold = self.policy.continue_as_new_after_events
        if threshold is not None and self.processed_this_run >= threshold:
            return True
        return workflow.info().is_continue_as_new_suggested()


AI_AUTHOR = "AI Support Agent"
SYSTEM_AUTHOR = "system"
