"""The conversation workflow's state: one pydantic model, carried whole through continue-as-new, and the view
returned by the `state` query.

Everything is bounded (transcript, de-dup ids, notices, sent-message map) so a conversation that
lives for months
keeps a small history and a small continue-as-new payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.ai import TranscriptLine
from contracts.signals import (
    ContactMessage,
    ConversationEvent,
    DeliveryStatus,
    HandoffRequest,
    TaskRouterEvent,
    TemplateSendRequest,
)

StateName = Literal["ai", "handoff_requested", "queued", "with_rep", "closed"]
HandoffSource = Literal["ai", "api", "ai_failure", "ai_offer_timeout"]
AiReservationStatus = Literal["none", "pending", "accepted", "released"]
AwaitingKind = Literal["ai_reservation", "human_acceptance", "rep_task_end"]

MAX_DEDUP = 5000
MAX_TRANSCRIPT = 300
MAX_NOTICES = 50
MAX_SENT = 500
MAX_SKIPPED = 50
MAX_DELIVERY_FAILURES = 50
MAX_PENDING_DELIVERIES = 100


class InboxItem(BaseModel):
    """One recorded signal waiting for the main loop (exactly one payload field is set)."""

    kind: Literal["contact", "taskrouter", "conversation", "delivery", "handoff", "template"]
    contact: ContactMessage | None = None
    taskrouter: TaskRouterEvent | None = None
    conversation: ConversationEvent | None = None
    delivery: DeliveryStatus | None = None
    handoff: HandoffRequest | None = None
    template: TemplateSendRequest | None = None


class HandoffProgress(BaseModel):
    """One handoff, step by step: a retry (or the run after continue-as-new) resumes where it stopped."""

    number: int
    source: HandoffSource
    reason: str
    summary: str
    sentiment: str
    language: str
    requested_at: datetime
    attributes: dict[str, Any]  # the six
    merged: bool = False
    noted: bool = False
    path: Literal["rejected", "transferred"] | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    failed_notice_sent: bool = False


class SessionState(BaseModel):
    """One Flex conversation + task, from the contact's first message to the rep's task ending."""

    session_id: str
    number: int
    opened_at: datetime
    profile_name_at_creation: str | None = None
    conversation_sid: str | None = None
    contact_participant_sid: str | None = None
    interaction_sid: str | None = None
    channel_sid: str | None = None
    task_sid: str | None = None  # the task created with the interaction (the AI's)
    task_attributes: dict[str, Any] = Field(default_factory=dict)
    ai_reservation_sid: str | None = None
    ai_worker_sid: str | None = None
    ai_reservation_status: AiReservationStatus = "none"
    ai_participant_sid: str | None = None
    # When the AI's offer for this task was first seen timed out: TaskRouter may never offer it to the AI again.
    ai_offer_timed_out_at: datetime | None = None
    # When a lean turn (`answer_contact`) failed: the turn is then done step by step, and its send first looks
    # for one the lean turn may have made since then.
    lean_failed_at: datetime | None = None
    human_task_sid: str | None = None
    # The last contact message for which the rep's task was read (still theirs, or the session ended).
    rep_task_checked_for: str | None = None
    rep_worker_sid: str | None = None
    rep_reservation_sid: str | None = None
    handoff: HandoffProgress | None = None
    handed_off: bool = False
    queued_since: datetime | None = None
    busy_sent: bool = False
    sla_notified: bool = False
    # Contact messages received but not yet in Flex (posted in order once the conversation exists).
    backlog: list[ContactMessage] = Field(default_factory=list)
    # TaskRouter events of this session that arrived before its task was known (replayed once it is).
    deferred_events: list[TaskRouterEvent] = Field(default_factory=list)
    # Sids of contact messages the AI has not answered yet (one turn answers them together).
    ai_pending_sids: list[str] = Field(default_factory=list)
    ai_unanswered_turns: int = 0
    language: str | None = None
    open_attempts: int = 0
    open_retry_at: datetime | None = None
    awaiting: AwaitingKind | None = None
    awaiting_since: datetime | None = None
    reconcile_at: datetime | None = None
    reconcile_attempts: int = 0
    # Last contact message or AI reply of this session: an AI-held session ends after a quiet period from here.
    ai_quiet_from: datetime | None = None
    release_attempts: int = 0
    release_retry_at: datetime | None = None


class PendingDelivery(BaseModel):
    """A message we sent that has had no final status callback yet: read back from Twilio at `check_at`."""

    what: str
    check_at: datetime
    checks: int = 0


class DeliveryFailure(BaseModel):
    message_sid: str
    what: str
    error_code: int | None
    explanation: str
    at: datetime


class ConversationState(BaseModel):
    """Everything the workflow knows; `carried_state` of continue-as-new is this model dumped as JSON."""

    state: StateName = "ai"
    session_number: int = 0
    session: SessionState | None = None
    sessions_ended: int = 0
    profile_name: str | None = None
    window_expires_at: datetime | None = None
    window_notified_for: datetime | None = None
    last_activity_at: datetime | None = None
    handoff_count: int = 0
    handoff_requested_at: datetime | None = None
    stuck: bool = False
    notices: list[str] = Field(default_factory=list)
    last_error: str | None = None
    transcript: list[TranscriptLine] = Field(default_factory=list)
    dedup: list[str] = Field(default_factory=list)
    inbox: list[InboxItem] = Field(default_factory=list)
    sent: dict[str, str] = Field(default_factory=dict)  # outbound message sid → what it was (for notices)
    delivery_failures: list[DeliveryFailure] = Field(default_factory=list)
    pending_deliveries: dict[str, PendingDelivery] = Field(default_factory=dict)  # sid → when to read it back
    skipped: list[str] = Field(default_factory=list)  # bad data from Twilio, noted and skipped
    duplicates_ignored: int = 0
    events_processed: int = 0
    runs: int = 1  # 1 + continue-as-new count


class ConversationView(BaseModel):
    """What the `state` query returns (no history, no transcript: see the `transcript` query)."""

    state: StateName
    session_number: int
    session_id: str | None
    task_sid: str | None
    human_task_sid: str | None
    reservation_sid: str | None  # the AI's reservation
    ai_reservation_status: AiReservationStatus | None
    rep_worker_sid: str | None
    conversation_sid: str | None
    interaction_sid: str | None
    channel_sid: str | None
    window_expires_at: datetime | None
    window_open: bool
    handoff_requested_at: datetime | None
    handoff_reason: str | None
    handoff_path: Literal["rejected", "transferred"] | None
    handoff_count: int
    stuck: bool
    busy_sent: bool
    profile_name: str | None
    profile_name_of_task: str | None
    notices: list[str]
    last_error: str | None
    delivery_failures: list[DeliveryFailure]
    skipped: list[str]
    sessions_ended: int
    duplicates_ignored: int
    events_processed: int
    runs: int
    awaiting: AwaitingKind | None


def bounded_append(items: list[Any], item: Any, limit: int) -> None:
    items.append(item)
    if len(items) > limit:
        del items[: len(items) - limit]
