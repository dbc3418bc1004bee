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
    LOAD_POLICY,
    OPEN_FLEX_CONVERSATION,
    POST_TO_FLEX,
    READ_QUEUE_POSITION,
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
    LoadPolicyInput,
    LoadPolicyResult,
    MergeHandoffAttributesInput,
    MergeHandoffAttributesResult,
    MessageStatus,
    OpenFlexConversationInput,
    OpenFlexConversationResult,
    PostToFlexInput,
    PostToFlexResult,
    ReadQueuePositionInput,
    ReadQueuePositionResult,
    ReleaseAiTaskInput,
    ReleaseAiTaskResult,
    SendWhatsAppInput,
    SendWhatsAppResult,
)
from contracts.ai import AiTurnInput, AiTurnResult
from contracts.policy import ConversationPolicy

# Steps inside the composite activities, recorded under these names (they are not activities of their own).
AI_TURN = "ai_turn"
SHOW_TYPING = "show_typing"
MERGE_HANDOFF_ATTRIBUTES = "merge_handoff_attributes"
HAND_TO_HUMANS = "hand_to_humans"


def task_seen(
    task_sid: str, status: str, queue_sid: str | None = None, reservation: tuple[str, str, str] | None = None
) -> FetchTaskResult:
    """A task as `fetch_task` reads it back: its status, queue and (reservation, worker, status)."""
    return FetchTaskResult(
        task_sid=task_sid,
        assignment_status=status,
        attributes={},
        task_queue_sid=queue_sid,
        reservations=[reservation] if reservation else [],
    )


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
    ai_delay: float = 0.0  # seconds every AI call sleeps (real time) before answering
    # what read_queue_position answers, call by call (then: first in line, one rep, 2 minutes on average)
    queue_positions: list[ReadQueuePositionResult] = field(default_factory=list)
    # name → a closed gate holds every call of that name until it is set
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    # org → the policy `load_policy` returns (an org missing here: the worker no longer knows it)
    policies: dict[str, ConversationPolicy] = field(default_factory=dict)

    def _sid(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:032d}"

    async def _enter(self, name: str, inp: Any) -> None:
        """Record the call, hold it while its gate is closed, then raise the next configured error, if any."""
        self.calls.append((name, inp))
        gate = self.gates.get(name)
        if gate is not None:
            await gate.wait()
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
        @activity.defn(name=OPEN_FLEX_CONVERSATION.name)
        async def open_flex_conversation(inp: OpenFlexConversationInput) -> OpenFlexConversationResult:
            await self._enter(OPEN_FLEX_CONVERSATION.name, inp)
            return OpenFlexConversationResult(conversation_sid=self._sid("CH"), contact_participant_sid=self._sid("MB"))

        @activity.defn(name=CREATE_INTERACTION.name)
        async def create_interaction(inp: CreateInteractionInput) -> CreateInteractionResult:
            await self._enter(CREATE_INTERACTION.name, inp)
            task = f"WT{len(self.of(CREATE_INTERACTION.name))}"
            self.task_attrs[task] = dict(inp.task_attributes)
            return CreateInteractionResult(interaction_sid="KD1", channel_sid="UO1", task_sid=task)

        @activity.defn(name=ACCEPT_AI_RESERVATION.name)
        async def accept_ai_reservation(inp: AcceptAiReservationInput) -> AcceptAiReservationResult:
            await self._enter(ACCEPT_AI_RESERVATION.name, inp)
            self.accepted_reservations.add(inp.reservation_sid)
            return AcceptAiReservationResult(accepted=True, reservation_status="accepted", participant_sid="UTai")

        @activity.defn(name=POST_TO_FLEX.name)
        async def post_to_flex(inp: PostToFlexInput) -> PostToFlexResult:
            await self._enter(POST_TO_FLEX.name, inp)
            return PostToFlexResult(message_sid=self._sid("IM"))

        @activity.defn(name=SEND_WHATSAPP.name)
        async def send_whatsapp(inp: SendWhatsAppInput) -> SendWhatsAppResult:
            await self._enter(SEND_WHATSAPP.name, inp)
            return SendWhatsAppResult(message_sid=f"SMout{len(self.of(SEND_WHATSAPP.name))}", status="queued")

        @activity.defn(name=COPY_CONTACT_MEDIA_TO_FLEX.name)
        async def copy_contact_media_to_flex(inp: CopyContactMediaInput) -> CopyContactMediaResult:
            await self._enter(COPY_CONTACT_MEDIA_TO_FLEX.name, inp)
            if inp.media_url in self.refuse_media_urls:
                return CopyContactMediaResult(
                    content_type=inp.content_type,
                    size=20_000_000,
                    refused_reason="the file is 19.1 MB, over the 16.0 MB limit",
                )
            return CopyContactMediaResult(media_sid=self._sid("ME"), size=1000, content_type=inp.content_type)

        async def merge_handoff_attributes(inp: MergeHandoffAttributesInput) -> MergeHandoffAttributesResult:
            await self._enter(MERGE_HANDOFF_ATTRIBUTES, inp)
            merged = {**self.task_attrs.get(inp.task_sid, {}), **self.foreign_attributes, **inp.handoff_attributes}
            self.task_attrs[inp.task_sid] = merged
            return MergeHandoffAttributesResult(attributes=merged, conflicts_retried=self.conflicts)

        async def hand_to_humans(inp: HandToHumansInput) -> HandToHumansResult:
            await self._enter(HAND_TO_HUMANS, inp)
            # Like the real activity: reject while the AI's reservation is pending, else transfer by invite.
            if inp.reservation_sid is not None and inp.reservation_sid not in self.accepted_reservations:
                return HandToHumansResult(path="rejected")
            human = "WThuman" if self.human_task_known else None
            return HandToHumansResult(path="transferred", human_task_sid=human, invite_sid="KGinvite")

        @activity.defn(name=FETCH_TASK.name)
        async def fetch_task(inp: FetchTaskInput) -> FetchTaskResult:
            await self._enter(FETCH_TASK.name, inp)
            if self.fetch_results:
                return self.fetch_results.pop(0)
            return FetchTaskResult(task_sid=inp.task_sid, assignment_status="pending", attributes={})

        @activity.defn(name=RELEASE_AI_TASK.name)
        async def release_ai_task(inp: ReleaseAiTaskInput) -> ReleaseAiTaskResult:
            await self._enter(RELEASE_AI_TASK.name, inp)
            return ReleaseAiTaskResult(task_status_before="assigned", action="completed", channel_closed=True)

        @activity.defn(name=FETCH_MESSAGE_STATUSES.name)
        async def fetch_message_statuses(inp: FetchMessageStatusesInput) -> FetchMessageStatusesResult:
            await self._enter(FETCH_MESSAGE_STATUSES.name, inp)
            out = []
            for sid in inp.message_sids:
                status, code = self.message_statuses.get(sid, ("delivered", None))
                out.append(MessageStatus(message_sid=sid, status=status, error_code=code))
            return FetchMessageStatusesResult(statuses=out)

        @activity.defn(name=ENSURE_AI_WORKER_AVAILABLE.name)
        async def ensure_ai_worker_available(inp: EnsureAiWorkerAvailableInput) -> EnsureAiWorkerAvailableResult:
            await self._enter(ENSURE_AI_WORKER_AVAILABLE.name, inp)
            return EnsureAiWorkerAvailableResult(changed=True, activity_name="Available")

        async def ai_turn(inp: AiTurnInput) -> AiTurnResult:
            await self._enter(AI_TURN, inp)
            if self.ai_gate is not None and len(self.of(AI_TURN)) == 1:
                await self.ai_gate.wait()
            if self.ai_delay:
                await asyncio.sleep(self.ai_delay)
            if self.ai_error:
                raise ApplicationError(self.ai_error, type="AiBackendError")
            return self.ai(inp)

        @activity.defn(name=ANSWER_CONTACT.name)
        async def answer_contact_activity(inp: AnswerContactInput) -> AnswerContactResult:
            # The real composition over this fake's own steps (each recorded under its name as well).
            await self._enter(ANSWER_CONTACT.name, inp)
            steps = TurnSteps(post=post_to_flex, ai=ai_turn, send=send_whatsapp, typing=show_typing)
            return await answer_contact(inp, steps, ai_backoff=0.0, step_backoff=0.0)

        @activity.defn(name=HAND_OFF.name)
        async def hand_off_activity(inp: HandOffInput) -> HandOffResult:
            await self._enter(HAND_OFF.name, inp)
            return await hand_off(
                inp, HandOffSteps(merge=merge_handoff_attributes, post=post_to_flex, hand=hand_to_humans), backoff=0.0
            )

        async def show_typing(org: str, message_sid: str) -> bool:
            await self._enter(SHOW_TYPING, message_sid)
            return True

        @activity.defn(name=READ_QUEUE_POSITION.name)
        async def read_queue_position(inp: ReadQueuePositionInput) -> ReadQueuePositionResult:
            await self._enter(READ_QUEUE_POSITION.name, inp)
            return (
                self.queue_positions.pop(0)
                if self.queue_positions
                else ReadQueuePositionResult(position=1, pending=1, available_workers=1, avg_acceptance_seconds=120.0)
            )

        @activity.defn(name=LOAD_POLICY.name)
        async def load_policy(inp: LoadPolicyInput) -> LoadPolicyResult:
            await self._enter(LOAD_POLICY.name, inp)
            return LoadPolicyResult(policy=self.policies.get(inp.org))

        return [
            answer_contact_activity,
            hand_off_activity,
            open_flex_conversation,
            create_interaction,
            accept_ai_reservation,
            post_to_flex,
            send_whatsapp,
            copy_contact_media_to_flex,
            fetch_task,
            release_ai_task,
            fetch_message_statuses,
            ensure_ai_worker_available,
            load_policy,
            read_queue_position,
        ]
