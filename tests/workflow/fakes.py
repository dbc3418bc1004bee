"""Recording fakes of every activity the conversation workflow calls, registered under the real names
(temporalio samples-python `tests/sleep_for_days` style). Deterministic SIDs so tests can name them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.hand_off import HandOffSteps, hand_off
from activities.turn import TurnSteps, answer_contact
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
    MessageStatus,
    OpenFlexConversationInput,
    OpenFlexConversationResult,
    PostToFlexInput,
    PostToFlexResult,
    ReleaseAiTaskInput,
    ReleaseAiTaskResult,
    SendWhatsAppInput,
    SendWhatsAppResult,
)
from contracts.ai import AI_TURN_ACTIVITY, AiTurnInput, AiTurnResult


def client_error(message: str, code: int = 21211) -> ApplicationError:
    return ApplicationError(message, {"code": code}, type="TwilioClientError", non_retryable=True)


def default_ai(inp: AiTurnInput) -> AiTurnResult:
    """Echo the burst; escalate when the contact asks for a human."""
    new = [line.text for line in inp.transcript if line.speaker == "contact"][-inp.new_message_count :]
    if any("human" in t.lower() for t in new):
        return AiTurnResult(
            reply="Let me get you a person.",
            escalate=True,
            reason="customer asked for a human",
            summary="Customer asked for a human.",
            sentiment="negative",
            language="en",
        )
    return AiTurnResult(reply="AI: " + " / ".join(new), sentiment="neutral", language="en")


@dataclass
class FakeTwilio:
    calls: list[tuple[str, Any]] = field(default_factory=list)
    ai: Callable[[AiTurnInput], AiTurnResult] = default_ai
    ai_gate: asyncio.Event | None = None  # when set, the first AI turn waits for it
    ai_error: str | None = None  # every ai_turn raises
    foreign_attributes: dict[str, Any] = field(default_factory=lambda: {"order_id": "A-42"})
    conflicts: int = 0
    # name → per call: an error to raise, or None to succeed
    fail: dict[str, list[BaseException | None]] = field(default_factory=dict)
    fetch_results: list[FetchTaskResult] = field(default_factory=list)
    refuse_media_urls: set[str] = field(default_factory=set)
    _n: int = 0
    accepted_reservations: set[str] = field(default_factory=set)
    task_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # message sid → (status, error code) returned by fetch_message_statuses (default: delivered)
    message_statuses: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    human_task_known: bool = True  # False: a transfer's answer carries no human task sid
    ai_delay: float = 0.0  # seconds every ai_turn sleeps (real time) before answering

    def _sid(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:032d}"

    def _record(self, name: str, inp: Any) -> None:
        self.calls.append((name, inp))
        errors = self.fail.get(name)
        if errors:
            error = errors.pop(0)
            if error is not None:
                raise error

    def of(self, name: str) -> list[Any]:
        return [inp for n, inp in self.calls if n == name]

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name=OPEN_FLEX_CONVERSATION)
        async def open_flex_conversation(inp: OpenFlexConversationInput) -> OpenFlexConversationResult:
            self._record(OPEN_FLEX_CONVERSATION, inp)
            return OpenFlexConversationResult(conversation_sid=self._sid("CH"), contact_participant_sid=self._sid("MB"))

        @activity.defn(name=CREATE_INTERACTION)
        async def create_interaction(inp: CreateInteractionInput) -> CreateInteractionResult:
            self._record(CREATE_INTERACTION, inp)
            task = f"WT{len(self.of(CREATE_INTERACTION))}"
            self.task_attrs[task] = dict(inp.task_attributes)
            return CreateInteractionResult(interaction_sid="KD1", channel_sid="UO1", task_sid=task)

        @activity.defn(name=ACCEPT_AI_RESERVATION)
        async def accept_ai_reservation(inp: AcceptAiReservationInput) -> AcceptAiReservationResult:
            self._record(ACCEPT_AI_RESERVATION, inp)
            self.accepted_reservations.add(inp.reservation_sid)
            return AcceptAiReservationResult(accepted=True, reservation_status="accepted", participant_sid="UTai")

        @activity.defn(name=POST_TO_FLEX)
        async def post_to_flex(inp: PostToFlexInput) -> PostToFlexResult:
            self._record(POST_TO_FLEX, inp)
            return PostToFlexResult(message_sid=self._sid("IM"))

        @activity.defn(name=SEND_WHATSAPP)
        async def send_whatsapp(inp: SendWhatsAppInput) -> SendWhatsAppResult:
            self._record(SEND_WHATSAPP, inp)
            return SendWhatsAppResult(message_sid=f"SMout{len(self.of(SEND_WHATSAPP))}", status="queued")

        @activity.defn(name=COPY_CONTACT_MEDIA_TO_FLEX)
        async def copy_contact_media_to_flex(inp: CopyContactMediaInput) -> CopyContactMediaResult:
            self._record(COPY_CONTACT_MEDIA_TO_FLEX, inp)
            if inp.media_url in self.refuse_media_urls:
                return CopyContactMediaResult(
                    content_type=inp.content_type,
                    size=20_000_000,
                    refused_reason="the file is 19.1 MB, over the 16.0 MB limit",
                )
            return CopyContactMediaResult(media_sid=self._sid("ME"), size=1000, content_type=inp.content_type)

        @activity.defn(name=MERGE_HANDOFF_ATTRIBUTES)
        async def merge_handoff_attributes(inp: MergeHandoffAttributesInput) -> MergeHandoffAttributesResult:
            self._record(MERGE_HANDOFF_ATTRIBUTES, inp)
            merged = {**self.task_attrs.get(inp.task_sid, {}), **self.foreign_attributes, **inp.handoff_attributes}
            self.task_attrs[inp.task_sid] = merged
            return MergeHandoffAttributesResult(attributes=merged, conflicts_retried=self.conflicts)

        @activity.defn(name=HAND_TO_HUMANS)
        async def hand_to_humans(inp: HandToHumansInput) -> HandToHumansResult:
            self._record(HAND_TO_HUMANS, inp)
            # Like the real activity: reject while the AI's reservation is pending, else transfer by invite.
            if inp.reservation_sid is not None and inp.reservation_sid not in self.accepted_reservations:
                return HandToHumansResult(path="rejected")
            human = "WThuman" if self.human_task_known else None
            return HandToHumansResult(path="transferred", human_task_sid=human, invite_sid="KGinvite")

        @activity.defn(name=FETCH_TASK)
        async def fetch_task(inp: FetchTaskInput) -> FetchTaskResult:
            self._record(FETCH_TASK, inp)
            if self.fetch_results:
                return self.fetch_results.pop(0)
            return FetchTaskResult(task_sid=inp.task_sid, assignment_status="pending", attributes={})

        @activity.defn(name=RELEASE_AI_TASK)
        async def release_ai_task(inp: ReleaseAiTaskInput) -> ReleaseAiTaskResult:
            self._record(RELEASE_AI_TASK, inp)
            return ReleaseAiTaskResult(task_status_before="assigned", action="completed", channel_closed=True)

        @activity.defn(name=FETCH_MESSAGE_STATUSES)
        async def fetch_message_statuses(inp: FetchMessageStatusesInput) -> FetchMessageStatusesResult:
            self._record(FETCH_MESSAGE_STATUSES, inp)
            out = []
            for sid in inp.message_sids:
                status, code = self.message_statuses.get(sid, ("delivered", None))
                out.append(MessageStatus(message_sid=sid, status=status, error_code=code))
            return FetchMessageStatusesResult(statuses=out)

        @activity.defn(name=ENSURE_AI_WORKER_AVAILABLE)
        async def ensure_ai_worker_available(inp: EnsureAiWorkerAvailableInput) -> EnsureAiWorkerAvailableResult:
            self._record(ENSURE_AI_WORKER_AVAILABLE, inp)
            return EnsureAiWorkerAvailableResult(changed=True, activity_name="Available")

        @activity.defn(name=AI_TURN_ACTIVITY)
        async def ai_turn(inp: AiTurnInput) -> AiTurnResult:
            self._record(AI_TURN_ACTIVITY, inp)
            if self.ai_gate is not None and len(self.of(AI_TURN_ACTIVITY)) == 1:
                await self.ai_gate.wait()
            if self.ai_delay:
                await asyncio.sleep(self.ai_delay)
            if self.ai_error:
                raise ApplicationError(self.ai_error, type="AiBackendError")
            return self.ai(inp)

        @activity.defn(name=ANSWER_CONTACT)
        async def answer_contact_activity(inp: AnswerContactInput) -> AnswerContactResult:
            # The real composition over this fake's own steps (each recorded under its name as well).
            self._record(ANSWER_CONTACT, inp)
            steps = TurnSteps(post=post_to_flex, ai=ai_turn, send=send_whatsapp)
            return await answer_contact(inp, steps, ai_backoff=0.0, step_backoff=0.0)

        @activity.defn(name=HAND_OFF)
        async def hand_off_activity(inp: HandOffInput) -> HandOffResult:
            self._record(HAND_OFF, inp)
            return await hand_off(
                inp, HandOffSteps(merge=merge_handoff_attributes, post=post_to_flex, hand=hand_to_humans), backoff=0.0
            )

        return [
            answer_contact_activity,
            hand_off_activity,
            open_flex_conversation,
            create_interaction,
            accept_ai_reservation,
            post_to_flex,
            send_whatsapp,
            copy_contact_media_to_flex,
            merge_handoff_attributes,
            hand_to_humans,
            fetch_task,
            release_ai_task,
            fetch_message_statuses,
            ensure_ai_worker_available,
            ai_turn,
        ]
