"""Names and payloads of everything that enters a conversation workflow (webhook signals, operator updates) or
reads it (queries), and the workflow's input.

Each payload carries the Twilio SID (or request id) that caused it: the workflow de-duplicates on `dedup_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.policy import ConversationPolicy

WORKFLOW_NAME = "ConversationWorkflow"

SIGNAL_CONTACT_MESSAGE = "contact_message"
SIGNAL_TASKROUTER_EVENT = "taskrouter_event"
SIGNAL_CONVERSATION_EVENT = "conversation_event"
SIGNAL_DELIVERY_STATUS = "delivery_status"

# Operator commands are updates: a validator refuses what cannot be done (no history event), and the caller gets
# what happened.
UPDATE_REQUEST_HANDOFF = "request_handoff"
UPDATE_SEND_TEMPLATE = "send_template"
UPDATE_APPLY_POLICY = "apply_policy"

QUERY_STATE = "state"
QUERY_TRANSCRIPT = "transcript"


class InboundMedia(BaseModel):
    """One `MediaUrlN`/`MediaContentTypeN` pair of an inbound WhatsApp message (a reference, never bytes)."""

    url: str
    content_type: str


class ContactMessage(BaseModel):
    """An inbound WhatsApp message (Programmable Messaging webhook)."""

    message_sid: str
    account_sid: str
    business_number: str  # +E164, without the whatsapp: prefix
    # Where the conversation is keyed and replies go: the contact's +E164, or their BSUID when the number is
    # hidden (contracts.contacts).
    contact_address: str
    contact_bsuid: str | None = None
    contact_parent_bsuid: str | None = None
    contact_username: str | None = None
    profile_name: str | None = None
    body: str = ""
    media: list[InboundMedia] = Field(default_factory=list)
    # A tapped quick-reply button: its id (`ButtonPayload`) and title (`ButtonText`).
    button_payload: str | None = None
    button_text: str | None = None
    received_at: datetime

    @property
    def dedup_id(self) -> str:
        return self.message_sid


class TaskRouterEvent(BaseModel):
    """A TaskRouter workspace event concerning this conversation's tasks."""

    event_sid: str  # the event's own `Sid` (EV…)
    event_type: str  # e.g. reservation.created, task.completed
    task_sid: str
    task_assignment_status: str | None = None
    task_attributes: dict[str, Any] = Field(default_factory=dict)
    task_queue_sid: str | None = None
    reservation_sid: str | None = None
    worker_sid: str | None = None
    worker_name: str | None = None
    occurred_at: datetime

    @property
    def dedup_id(self) -> str:
        return self.event_sid


class ConversationMediaRef(BaseModel):
    """One entry of a Conversations message's `Media` list (ME… in the Media Content Service)."""

    sid: str
    content_type: str
    filename: str | None = None
    size: int | None = None


class ConversationEvent(BaseModel):
    """A Conversations webhook event on this conversation's Flex conversation (rep messages mostly)."""

    event_type: str  # onMessageAdded, onConversationStateUpdated, …
    conversation_sid: str
    message_sid: str | None = None
    author: str | None = None
    body: str | None = None
    media: list[ConversationMediaRef] = Field(default_factory=list)
    participant_sid: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    occurred_at: datetime
    # For events without a message: the event's own identity (e.g. StateTo + timestamp), from the API.
    event_id: str | None = None

    @property
    def dedup_id(self) -> str:
        return self.message_sid or self.event_id or f"{self.event_type}:{self.occurred_at.isoformat()}"


DeliveryStatusValue = Literal[
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "canceled",
    "receiving",
    "received",
    "partially_delivered",
]


class DeliveryStatus(BaseModel):
    """A per-message StatusCallback for something the service sent to WhatsApp."""

    message_sid: str
    status: DeliveryStatusValue
    error_code: int | None = None
    error_message: str | None = None
    occurred_at: datetime

    @property
    def dedup_id(self) -> str:
        return f"{self.message_sid}:{self.status}"


class HandoffRequest(BaseModel):
    """An explicit handoff asked for by an operator (admin API)."""

    request_id: str
    reason: str = "handoff requested by an operator"
    summary: str | None = None

    @property
    def dedup_id(self) -> str:
        return self.request_id


class TemplateSendRequest(BaseModel):
    """Send an approved template (by configured name) to the contact (admin API)."""

    request_id: str
    template_name: str
    variables: list[str] = Field(default_factory=list)
    requested_by: str = "api"

    @property
    def dedup_id(self) -> str:
        return self.request_id


class PolicyUpdate(BaseModel):
    """The org's edited settings for an open conversation (`connect` or the admin API after an orgs-file edit)."""

    request_id: str
    policy: ConversationPolicy


# Why a command was refused by the update's validator (no history event); the admin API maps each to a status.
REFUSED_NOTHING_TO_HAND_OFF = "NothingToHandOff"  # 409
REFUSED_ALREADY_HANDED_OFF = "AlreadyHandedOff"  # 409
REFUSED_UNKNOWN_TEMPLATE = "UnknownTemplate"  # 422
REFUSED_BAD_TEMPLATE_VARIABLES = "BadTemplateVariables"  # 422

CommandOutcomeName = Literal[
    "handed_off",  # the task is with the humans' queue now
    "handoff_pending",  # recorded; it runs once the Flex task exists
    "handoff_retrying",  # an attempt failed (see detail); it is retried with backoff, the conversation flagged stuck
    "already_requested",  # a handoff is already under way or done for this session
    "nothing_to_hand_off",  # the session ended before the request was carried out
    "template_sent",
    "template_not_sent",  # Twilio refused it (see detail); the rep got a notice
    "policy_applied",
    "duplicate",  # this request id was handled before
]


class CommandOutcome(BaseModel):
    """What an operator command did (the update's result)."""

    request_id: str
    outcome: CommandOutcomeName
    detail: str = ""
    state: str  # the conversation's state afterwards
    task_sid: str | None = None
    message_sid: str | None = None


class ConversationStart(BaseModel):
    """The workflow's input. `carried_state` is set only by continue-as-new (opaque to callers)."""

    org: str
    key: str
    business_number: str
    contact_address: str
    policy: ConversationPolicy
    carried_state: dict[str, Any] | None = None
