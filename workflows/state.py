"""The conversation workflow's state: one pydantic model, built in `@workflow.init` and carried whole through
continue-as-new.

Everything is bounded (transcript, de-dup ids, notices, sent-message map) so a conversation that lives for months
keeps a small history and a small continue-as-new payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, model_validator

from contracts.ai import HumanPart, TranscriptLine
from contracts.signals import (
    ContactMessage,
    ConversationEvent,
    DeliveryStatus,
    HandoffRequest,
    PolicyUpdate,
    TaskRouterEvent,
    TemplateSendRequest,
)
from contracts.views import AiReservationStatus, AwaitingKind, DeliveryFailure, HandoffPath, HandoffSource, StateName

# A recent window is enough: Temporal delivers each signal once (the client's retries carry one request id), so
# only Twilio's redeliveries of a webhook repeat one, within minutes, and the API drops most of them first.
MAX_DEDUP = 500
# The query's and the handback's transcript (the AI reads a shorter window, Flex keeps the whole thread).
MAX_TRANSCRIPT = 100
MAX_NOTICES = 50
# Sends whose status may still come back (a failure is told by what it was): statuses come within minutes.
MAX_SENT = 100
MAX_SKIPPED = 50
MAX_RATINGS = 20
MAX_DELIVERY_FAILURES = 50
MAX_POSTS_UNSURE = 100
MAX_PENDING_DELIVERIES = 100


InboxPayload = (
    ContactMessage
    | TaskRouterEvent
    | ConversationEvent
    | DeliveryStatus
    | HandoffRequest
    | TemplateSendRequest
    | PolicyUpdate
)
PAYLOAD_TYPES: dict[str, type[BaseModel]] = {t.__name__: t for t in get_args(InboxPayload)}


class InboxItem(BaseModel):
    """One recorded signal or command waiting for the main loop."""

    payload: InboxPayload
    # The payload's model: read back from JSON (the state carried through continue-as-new) as that model, not as
    # whichever member of the union its fields happen to fit.
    payload_type: str

    @classmethod
    def of(cls, payload: InboxPayload) -> InboxItem:
        return cls(payload=payload, payload_type=type(payload).__name__)

    @model_validator(mode="before")
    @classmethod
    def _payload_as_its_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("payload"), dict):
            return {**data, "payload": PAYLOAD_TYPES[data["payload_type"]].model_validate(data["payload"])}
        return data


class HandoffProgress(BaseModel):
    """One handoff: a retry (or the run after continue-as-new) resumes where it stopped."""

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
    path: HandoffPath | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    failed_notice_sent: bool = False
    # Asked for outside business hours: when reps are next expected (the contact is told once), and with
    # `when_closed = "hold"` the handoff waits for that opening.
    reps_away_until: datetime | None = None
    after_hours_told: bool = False
    hold_until: datetime | None = None


class WaitingPost(BaseModel):
    """A post made before the session's Flex conversation existed (an AI reply sent meanwhile, a notice): posted
    when the session opens, right after the contact message it follows (`after`; None: after all of them)."""

    after: str | None
    author: str
    body: str
    idempotency_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)


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
    human_task_sid: str | None = None
    # The last contact message for which the rep's task was read (still theirs, or the session ended).
    rep_task_checked_for: str | None = None
    rep_worker_sid: str | None = None
    rep_reservation_sid: str | None = None
    rep_accepted_at: datetime | None = None
    # The human queue the task waits in (a transfer can move it) and what the contact was told of it.
    queue_sid: str | None = None
    queue_updates_sent: int = 0
    queue_update_last_at: datetime | None = None
    transfers: int = 0
    # The contact's message the typing indicator was last shown for (at most once per message).
    typing_shown_for: str | None = None
    # The window deadline the rep holding the conversation was last warned of.
    window_warned_for: datetime | None = None
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
    # The contact's first messages are answered while the Flex session opens (once per session); that reply and
    # any notice wait here for the conversation.
    answered_before_open: bool = False
    posts_waiting: list[WaitingPost] = Field(default_factory=list)
    ai_unanswered_turns: int = 0
    # A failed AI turn is tried again in rounds: when the first round started (a later round's send looks for
    # an earlier round's), how many failed, and when the next may run.
    turn_first_at: datetime | None = None
    turn_rounds_failed: int = 0
    turn_retry_at: datetime | None = None
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
    # Kept for the metrics (workflows/conversation/metrics.py): the session's first reply and the rep's first.
    first_reply_at: datetime | None = None
    rep_first_reply_at: datetime | None = None


class CsatAsked(BaseModel):
    """A rating asked for at the end of a session with a rep; the contact's next message may answer it."""

    session_number: int
    conversation_sid: str | None  # where the rep sees the answer
    asked_at: datetime
    via: Literal["quick_reply", "template"]
    # A typed digit counts only as the first reply; a tapped button counts until the answer window passes.
    typed_answer_possible: bool = True


class Rating(BaseModel):
    session_number: int
    score: int
    at: datetime
    via: Literal["button", "typed"]


class PendingDelivery(BaseModel):
    """A message we sent that has had no final status callback yet: read back from Twilio at `check_at`."""

    what: str
    check_at: datetime
    checks: int = 0


class ConversationState(BaseModel):
    """Everything the workflow knows; `carried_state` of continue-as-new is this model dumped as JSON."""

    state: StateName = "ai"
    session_number: int = 0
    session: SessionState | None = None
    sessions_ended: int = 0
    profile_name: str | None = None
    # What the contact's messages said of them: a number that later hides, a BSUID, a username.
    contact_phone: str | None = None
    contact_bsuid: str | None = None
    contact_username: str | None = None
    window_expires_at: datetime | None = None
    window_notified_for: datetime | None = None
    last_activity_at: datetime | None = None
    handoff_count: int = 0
    handoff_requested_at: datetime | None = None
    stuck: bool = False
    notices: list[str] = Field(default_factory=list)
    last_error: str | None = None
    transcript: list[TranscriptLine] = Field(default_factory=list)
    # The reps' part of the last session they held: the AI's context until the next handoff.
    handback: HumanPart | None = None
    # A session with a rep ended: the rating to ask for (`csat_due`), and the one asked and not yet answered.
    csat_due: CsatAsked | None = None
    csat_asked: CsatAsked | None = None
    ratings: list[Rating] = Field(default_factory=list)
    rating_to_note: CsatAsked | None = None  # a rating just given: noted in Flex and thanked for next
    dedup: list[str] = Field(default_factory=list)
    inbox: list[InboxItem] = Field(default_factory=list)
    sent: dict[str, str] = Field(default_factory=dict)  # outbound message sid → what it was (for notices)
    # Idempotency ids of Flex posts whose activity failed after it may have posted: posted again, they look first.
    posts_unsure: list[str] = Field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = Field(default_factory=list)
    pending_deliveries: dict[str, PendingDelivery] = Field(default_factory=dict)  # sid → when to read it back
    skipped: list[str] = Field(default_factory=list)  # bad data from Twilio, noted and skipped
    signals_received: int = 0
    duplicates_ignored: int = 0
    events_processed: int = 0
    runs: int = 1  # 1 + continue-as-new count


def bounded_append(items: list[Any], item: Any, limit: int) -> None:
    items.append(item)
    if len(items) > limit:
        del items[: len(items) - limit]
