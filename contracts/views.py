"""What the conversation workflow shows outside: its state names, the `state` query's view, handoff sources.

The admin API, the CLI's demo, the benchmarks and the fault judge read these; none of them reads the workflow's
internal state model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

# One search attribute (`ConversationState`), one place in code (`workflows.conversation.states`).
StateName = Literal["ai", "handoff_requested", "queued", "with_rep", "closed"]
STATE_NAMES: tuple[StateName, ...] = ("ai", "handoff_requested", "queued", "with_rep", "closed")

# Who asked for a handoff: the AI decided, an operator, or the service because the AI could not continue.
HandoffSource = Literal["ai", "operator", "ai_failure", "ai_offer_timeout"]
AiReservationStatus = Literal["none", "pending", "accepted", "released"]
AwaitingKind = Literal["ai_reservation", "human_acceptance", "rep_task_end"]
HandoffPath = Literal["rejected", "transferred"]

# Handoff reasons the service itself gives (the AI and operators give their own).
AI_UNAVAILABLE = "AI unavailable"
AI_OFFER_TIMED_OUT = "AI could not take the conversation (its TaskRouter offer timed out)"


class DeliveryFailure(BaseModel):
    message_sid: str
    what: str
    error_code: int | None
    explanation: str
    at: datetime


class RatingView(BaseModel):
    """One answer to the rating question asked when a rep's session ended."""

    session_number: int
    score: int
    at: datetime
    via: Literal["button", "typed"]


class ConversationView(BaseModel):
    """What the `state` query returns (no transcript: see the `transcript` query)."""

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
    handoff_path: HandoffPath | None
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
    # Signals recorded (duplicates included) and processed: with `idle`, a caller can tell that everything it
    # sent has been dealt with.
    signals_received: int
    duplicates_ignored: int
    events_processed: int
    # The main loop is waiting for a signal or a timer: nothing is running or runnable now.
    idle: bool
    runs: int
    awaiting: AwaitingKind | None
    rep_accepted_at: datetime | None = None
    queue_sid: str | None = None
    queue_updates_sent: int = 0
    transfers: int = 0
    handoff_held_until: datetime | None = None  # a handoff waiting for business hours
    contact_hides_number: bool = False
    # The address replies go to, masked as in the logs (the admin API's CSAT export shows it).
    contact_masked: str | None = None
    ratings: list[RatingView] = []
