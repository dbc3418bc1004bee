"""The activities the conversation workflow calls: one `ActivityDef` each (name, input and result types), and
their pydantic inputs and outputs.

The workflow calls `ActivityDef`s; the worker registers its implementations under `defn.name`; a test checks
that both sides agree. Every activity is idempotent: a retry after a timeout must not create a second
conversation, task, message or send. Inputs carry the org *name*; credentials are resolved worker-side and never
enter workflow history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from contracts.ai import AiTurnInput, AiTurnResult
from contracts.compact import Compact
from contracts.policy import ConversationPolicy

InputT = TypeVar("InputT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass(frozen=True)
class ActivityDef(Generic[InputT, ResultT]):
    """One activity as both sides know it: the workflow calls it with `input_type`, gets `result_type` back."""

    name: str
    input_type: type[InputT]
    result_type: type[ResultT]


class OpenFlexConversationInput(BaseModel):
    """Create (or find, on retry) the session's Flex conversation, add the contact, register our webhook."""

    org: str
    conversations_service_sid: str
    unique_name: str  # "{key}-{session_number}": makes the create idempotent
    contact_identity: str  # "whatsapp:+E164"
    contact_friendly_name: str  # WhatsApp profile name (or the number when none)
    webhook_url: str  # {public_base_url}/webhooks/{org}/conversations/{key}
    webhook_filters: list[str] = Field(default_factory=lambda: ["onMessageAdded", "onConversationStateUpdated"])


class OpenFlexConversationResult(BaseModel):
    conversation_sid: str  # CH…
    contact_participant_sid: str  # MB…


class CreateInteractionInput(BaseModel):
    """`POST /v1/Interactions`: channel whatsapp, initiated_by customer, media_channel_sid CH…; creates the task.

    Idempotent through `session_id` (kept in `waHandoff.sessionId`): a retry finds the task it already made.
    """

    org: str
    session_id: str
    conversation_sid: str
    workspace_sid: str
    workflow_sid: str
    task_channel: str = "chat"
    task_attributes: dict[str, Any]


class CreateInteractionResult(BaseModel):
    interaction_sid: str  # KD…
    channel_sid: str  # UO…
    task_sid: str  # WT…


class AcceptAiReservationInput(BaseModel):
    """Accept the AI worker's reservation, then join the AI as interaction channel participant (type agent)."""

    org: str
    workspace_sid: str
    task_sid: str
    reservation_sid: str
    worker_sid: str
    interaction_sid: str
    channel_sid: str


class AcceptAiReservationResult(BaseModel):
    accepted: bool  # False when the reservation was no longer pending (timed out, rescinded …)
    reservation_status: str
    participant_sid: str | None = None  # UT… of the AI's interaction participant


# Every post the service makes into Flex carries its idempotency id under this attribute: a retry finds its own
# post, and an echo of it is never relayed.
IDEMPOTENCY_ATTR = "waHandoffId"


class PostToFlexInput(Compact):
    """Post one message into the Flex conversation (webhooks disabled: our own posts never echo back)."""

    org: str
    conversations_service_sid: str
    conversation_sid: str
    author: str  # contact identity, "AI Support Agent", or "system"
    body: str | None = None
    media_sid: str | None = None  # ME… in the Conversations media service
    attributes: dict[str, Any] = Field(default_factory=dict)
    # Idempotency: stored in attributes["waHandoffId"]; a retry finds the message already posted.
    idempotency_id: str
    # An earlier activity may have posted it (its result never came back): look for it first, as a retry of one
    # activity does. A first attempt without this has nothing to find and creates at once.
    may_exist: bool = False


class PostToFlexResult(BaseModel):
    message_sid: str  # IM…
    body: str | None = None  # as Flex holds it (an earlier attempt's post, found again, may differ in wording)


# The workflow passes the SIDs of its last KNOWN_SIDS_PASSED recorded sends: a retried send looking for its own
# earlier send skips them, so an earlier message with the same body is never taken for it. The look-up only sees
# sends since the earlier attempt (or round) began, so the last few are all it can meet; each turn's input carries
# them into the history.
KNOWN_SIDS_PASSED = 5


class SendWhatsAppInput(Compact):
    """One outbound WhatsApp message: free-form text, one media URL, or an approved template."""

    org: str
    from_number: str  # +E164 business number
    to_number: str  # +E164 contact
    body: str | None = None
    media_url: str | None = None
    content_sid: str | None = None  # HX… template
    content_variables: dict[str, str] = Field(default_factory=dict)
    status_callback_url: str
    idempotency_id: str
    # SIDs of messages the workflow already knows it sent: a retry looking for its own earlier send (after a
    # lost answer) never takes one of these for it (a template's rendered body cannot be compared).
    known_sids: list[str] = Field(default_factory=list, max_length=KNOWN_SIDS_PASSED)
    # An earlier activity (an earlier round of the same AI turn) may have sent this message since then: look for
    # it first, as a retry of one activity does from its first scheduled time.
    may_have_sent_since: datetime | None = None


class SendWhatsAppResult(Compact):
    message_sid: str  # SM…/MM…
    status: str


class AnswerContactInput(Compact):
    """One AI turn in one activity: post the contact's text messages into Flex, run the AI, post its reply into
    Flex and send it to WhatsApp (one round trip to the server and one action).

    Each part is idempotent (`post_to_flex`, the AI, `send_whatsapp`), so a retry after a killed worker redoes
    nothing that took effect: the reply already in Flex is the one sent.
    """

    contact_posts: list[PostToFlexInput]
    ai: AiTurnInput
    ai_timeout_seconds: float = Field(gt=0)
    ai_attempts: int = Field(default=3, ge=1)
    # The body comes from the AI. None: the Flex session is still opening (the contact's first messages are
    # answered meanwhile); the workflow posts the reply after the messages it answers once the session is open.
    reply_post: PostToFlexInput | None
    reply_send: SendWhatsAppInput  # the body is the reply as Flex shows it
    send_until: datetime  # the WhatsApp window's end: after it the reply is not sent (the workflow notices)
    # The contact's newest message (SM…/MM…): WhatsApp shows them the typing indicator against it (and marks it
    # read) while the AI composes. None: no indicator (outside the window, or already shown for it).
    typing_for: str | None = None
    # Only for an AI still composing after this long (the org's `typing_indicator_after_seconds`; 0: at once).
    typing_after_seconds: float = Field(default=1.0, ge=0)


class AnswerContactResult(Compact):
    ai: AiTurnResult | None = None  # None: the AI failed for good (`ai_error` says why)
    ai_error: str | None = None
    # Contact messages Flex refused (4xx), by idempotency id: the AI still answers; the rep gets a notice.
    contact_post_errors: dict[str, str] = Field(default_factory=dict)
    reply: str | None = None  # the reply as Flex shows it (or as the AI gave it when the post failed)
    reply_post_error: str | None = None  # a refused Flex post (4xx); the reply is still sent
    sent: SendWhatsAppResult | None = None
    send_error: str | None = None  # a refused send (4xx)
    window_closed: bool = False  # the reply was not sent: the window had closed


class CopyContactMediaInput(BaseModel):
    """Download one inbound WhatsApp media (org credentials) and upload it to Conversations media (MCS)."""

    org: str
    conversations_service_sid: str
    media_url: str
    content_type: str
    filename: str | None = None


class CopyContactMediaResult(BaseModel):
    # Either media_sid (uploaded) or refused_reason (over the limit / unsupported type): never a silent drop.
    media_sid: str | None = None
    size: int = 0
    content_type: str
    refused_reason: str | None = None


class MergeHandoffAttributesInput(BaseModel):
    """Read the task, merge the six handoff attributes, write back with If-Match; 412 → re-read and retry."""

    org: str
    workspace_sid: str
    task_sid: str
    handoff_attributes: dict[str, Any]  # exactly the six keys


class MergeHandoffAttributesResult(BaseModel):
    attributes: dict[str, Any]  # the task's attributes as written
    conflicts_retried: int = 0


class HandToHumansInput(BaseModel):
    """Reject the AI's reservation while pending; once accepted, Invite on the interaction channel + close AI."""

    org: str
    workspace_sid: str
    workflow_sid: str
    task_channel: str = "chat"
    task_sid: str
    reservation_sid: str | None
    interaction_sid: str
    channel_sid: str
    ai_participant_sid: str | None
    task_attributes: dict[str, Any]  # routing attributes of the human task (six handoff attributes included)
    # Without a reservation sid, only this worker's reservation can be the AI's: a task already routed to the
    # humans (after an AI offer timed out) may hold a rep's, which must not be transferred again.
    ai_worker_sid: str | None = None


class HandToHumansResult(BaseModel):
    path: Literal["rejected", "transferred"]
    human_task_sid: str | None = None  # known at once for "transferred"; via events for "rejected"
    invite_sid: str | None = None


class HandOffInput(BaseModel):
    """The handoff's three steps in one activity (one round trip to the server instead of three): merge the six
    attributes, post the handoff note, hand the task to the humans. Each is the idempotent step of the same name,
    so a retry redoes nothing that took effect. `merge` / `note` are None once the workflow has them done."""

    merge: MergeHandoffAttributesInput | None
    note: PostToFlexInput | None
    hand: HandToHumansInput  # its task_attributes become the merge's result when the merge runs here


class HandOffResult(BaseModel):
    attributes: dict[str, Any] | None = None  # the task's attributes as the merge wrote them (None: no merge ran)
    handed: HandToHumansResult


class FetchTaskInput(BaseModel):
    org: str
    workspace_sid: str
    task_sid: str
    # Set while waiting for a rep on a transfer whose human task sid is not known yet: the activity reads the
    # session's handed-off task (created by the invite) instead of `task_sid` (the AI's, completed at transfer).
    human_task_of_session: str | None = None


class FetchTaskResult(BaseModel):
    task_sid: str
    assignment_status: str
    attributes: dict[str, Any]
    task_queue_sid: str | None = None
    # Reservations of the task, newest first: (sid, worker_sid, status).
    reservations: list[tuple[str, str, str]] = Field(default_factory=list)


class ReleaseAiTaskInput(BaseModel):
    """End an AI-held session: the AI's task ends (its chat capacity is freed) and the interaction closes.

    Never touches a rep's task: a task carrying `handedOff == true`, or assigned to another worker than the AI,
    is refused (non-retryable `NotAiTask`). Idempotent: an already ended task / closed channel is the goal.
    """

    org: str
    workspace_sid: str
    session_id: str  # finds the task when `task_sid` is unknown (create_interaction's result was lost)
    task_sid: str | None = None
    interaction_sid: str | None = None
    channel_sid: str | None = None
    ai_participant_sid: str | None = None
    ai_worker_sid: str | None = None
    conversations_service_sid: str
    conversation_sid: str | None = None
    reason: str = "AI session ended after a quiet period"


class ReleaseAiTaskResult(BaseModel):
    # The AI task's status before the release (None: no task was found) and what was done to it.
    task_status_before: str | None = None
    action: Literal["completed", "canceled", "none"] = "none"
    channel_closed: bool = False


class FetchMessageStatusesInput(BaseModel):
    """Read the current status of messages we sent (Messages fetch): a status callback may never have come."""

    org: str
    message_sids: list[str] = Field(min_length=1, max_length=50)


class MessageStatus(BaseModel):
    message_sid: str
    status: str  # Twilio's message status; "unknown" when the message cannot be read (404)
    error_code: int | None = None
    error_message: str | None = None


class FetchMessageStatusesResult(BaseModel):
    statuses: list[MessageStatus]


class EnsureAiWorkerAvailableInput(BaseModel):
    """After an AI reservation timed out, TaskRouter moves the AI worker to the workspace's TimeoutActivity
    (Offline): every later conversation would wait for it. Put it back in an available activity (idempotent)."""

    org: str
    workspace_sid: str
    # None: find the AI worker by its name (a conversation that never got an offer does not know its SID).
    worker_sid: str | None = None
    worker_name: str = "AI Support Agent"


class EnsureAiWorkerAvailableResult(BaseModel):
    changed: bool  # False: it was available already
    activity_name: str


class ReadQueuePositionInput(BaseModel):
    """Where a task waits in a TaskRouter queue (rules.queue_position): the pending tasks ahead of it, and the
    queue's statistics for an expected wait."""

    org: str
    workspace_sid: str
    queue_sid: str
    task_sid: str
    task_channel: str = "chat"


class ReadQueuePositionResult(BaseModel):
    position: int | None  # 1-based among the queue's pending tasks; None: not pending (reserved, assigned, gone)
    pending: int
    available_workers: int
    avg_acceptance_seconds: float | None = None  # the queue's recent average (cumulative statistics)


class LoadPolicyInput(BaseModel):
    """The org's policy as the worker's orgs file says now (an edited file reaches open conversations)."""

    org: str


class LoadPolicyResult(BaseModel):
    policy: ConversationPolicy | None = None  # None: the org is no longer configured (keep the current one)


OPEN_FLEX_CONVERSATION = ActivityDef("open_flex_conversation", OpenFlexConversationInput, OpenFlexConversationResult)
CREATE_INTERACTION = ActivityDef("create_interaction", CreateInteractionInput, CreateInteractionResult)
ACCEPT_AI_RESERVATION = ActivityDef("accept_ai_reservation", AcceptAiReservationInput, AcceptAiReservationResult)
POST_TO_FLEX = ActivityDef("post_to_flex", PostToFlexInput, PostToFlexResult)
SEND_WHATSAPP = ActivityDef("send_whatsapp", SendWhatsAppInput, SendWhatsAppResult)
COPY_CONTACT_MEDIA_TO_FLEX = ActivityDef("copy_contact_media_to_flex", CopyContactMediaInput, CopyContactMediaResult)
ANSWER_CONTACT = ActivityDef("answer_contact", AnswerContactInput, AnswerContactResult)
HAND_OFF = ActivityDef("hand_off", HandOffInput, HandOffResult)
FETCH_TASK = ActivityDef("fetch_task", FetchTaskInput, FetchTaskResult)
RELEASE_AI_TASK = ActivityDef("release_ai_task", ReleaseAiTaskInput, ReleaseAiTaskResult)
FETCH_MESSAGE_STATUSES = ActivityDef("fetch_message_statuses", FetchMessageStatusesInput, FetchMessageStatusesResult)
ENSURE_AI_WORKER_AVAILABLE = ActivityDef(
    "ensure_ai_worker_available", EnsureAiWorkerAvailableInput, EnsureAiWorkerAvailableResult
)
LOAD_POLICY = ActivityDef("load_policy", LoadPolicyInput, LoadPolicyResult)
READ_QUEUE_POSITION = ActivityDef("read_queue_position", ReadQueuePositionInput, ReadQueuePositionResult)

# Everything the worker must register, once each.
ALL_ACTIVITIES: tuple[ActivityDef[Any, Any], ...] = (
    OPEN_FLEX_CONVERSATION,
    CREATE_INTERACTION,
    ACCEPT_AI_RESERVATION,
    POST_TO_FLEX,
    SEND_WHATSAPP,
    COPY_CONTACT_MEDIA_TO_FLEX,
    ANSWER_CONTACT,
    HAND_OFF,
    FETCH_TASK,
    RELEASE_AI_TASK,
    FETCH_MESSAGE_STATUSES,
    ENSURE_AI_WORKER_AVAILABLE,
    LOAD_POLICY,
    READ_QUEUE_POSITION,
)
