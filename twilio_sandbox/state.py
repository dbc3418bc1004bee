"""In-memory state of the sandbox: one dataclass per Twilio resource, all in one `SandboxState`.

Mutated only from the event loop (all handlers are `async def`), so no locks are needed.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Table(MutableMapping[str, R], Generic[R]):
    """Rows by SID, also found by a parent SID: listing one conversation's messages or one task's reservations
    must not read every row of the account (Twilio's own stores are indexed; a sandbox that scans slows down as
    a long run grows and ends up measuring itself). The indexed fields never change after a row is created."""

    def __init__(self, *indexed: str) -> None:
        self._rows: dict[str, R] = {}
        self._indexed = indexed
        self._by: dict[str, dict[Any, dict[str, R]]] = {f: {} for f in indexed}

    def where(self, field_name: str, value: Any) -> list[R]:
        """The rows whose `field_name` is `value`, in creation order."""
        return list(self._by[field_name].get(value, {}).values())

    def __getitem__(self, sid: str) -> R:
        return self._rows[sid]

    def __setitem__(self, sid: str, row: R) -> None:
        if sid in self._rows:
            self._unindex(sid, self._rows[sid])
        self._rows[sid] = row
        for f in self._indexed:
            self._by[f].setdefault(getattr(row, f), {})[sid] = row

    def __delitem__(self, sid: str) -> None:
        self._unindex(sid, self._rows.pop(sid))

    def _unindex(self, sid: str, row: R) -> None:
        for f in self._indexed:
            bucket = self._by[f].get(getattr(row, f))
            if bucket is not None:
                bucket.pop(sid, None)
                if not bucket:
                    del self._by[f][getattr(row, f)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt through __setitem__, so a snapshot (persistence.py) restores the indexes too.
        return (_rebuild_table, (self._indexed, list(self._rows.items())))


def _rebuild_table(indexed: tuple[str, ...], rows: list[tuple[str, Any]]) -> Table[Any]:
    table: Table[Any] = Table(*indexed)
    for sid, row in rows:
        table[sid] = row
    return table


@dataclass
class Activity:
    sid: str
    friendly_name: str
    available: bool
    date_created: datetime
    date_updated: datetime


@dataclass
class TaskChannel:
    sid: str
    unique_name: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    channel_optimized_routing: bool | None = None


@dataclass
class TaskQueue:
    sid: str
    friendly_name: str
    target_workers: str
    date_created: datetime
    date_updated: datetime
    max_reserved_workers: int = 1
    task_order: str = "FIFO"


@dataclass
class Workflow:
    sid: str
    friendly_name: str
    configuration: str
    date_created: datetime
    date_updated: datetime
    task_reservation_timeout: int = 120
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None


@dataclass
class Workspace:
    sid: str
    friendly_name: str
    default_activity_sid: str
    timeout_activity_sid: str
    date_created: datetime
    date_updated: datetime
    event_callback_url: str | None = None
    events_filter: str | None = None
    multi_task_enabled: bool = True
    prioritize_queue_order: str = "FIFO"


@dataclass
class Worker:
    sid: str
    friendly_name: str
    attributes: str
    activity_sid: str
    date_created: datetime
    date_updated: datetime
    date_status_changed: datetime
    # task channel unique name -> configured capacity
    capacity: dict[str, int] = field(default_factory=dict)
    channel_available: dict[str, bool] = field(default_factory=dict)
    channel_sids: dict[str, str] = field(default_factory=dict)
    # bumped on every change of the worker resource (its ETag)
    revision: int = 0


@dataclass
class Task:
    sid: str
    attributes: str
    assignment_status: str
    priority: int
    timeout: int
    task_channel: str
    workflow_sid: str | None
    task_queue_sid: str | None
    date_created: datetime
    date_updated: datetime
    task_queue_entered_date: datetime | None = None
    reason: str | None = None
    revision: int = 0
    # workers who rejected or let a reservation time out: not offered this task again
    declined_by: set[str] = field(default_factory=set)
    routing_target: str | None = None
    virtual_start_time: datetime | None = None
    ignore_capacity: bool = False


@dataclass
class Reservation:
    sid: str
    task_sid: str
    worker_sid: str
    status: str
    date_created: datetime
    date_updated: datetime
    timeout_at: datetime
    # bumped on every status change (its ETag)
    revision: int = 0


@dataclass
class TaskRouterEvent:
    sid: str
    event_type: str
    description: str
    resource_type: str
    resource_sid: str
    event_date: datetime
    data: dict[str, Any]


@dataclass
class ChatService:
    sid: str
    friendly_name: str
    pre_webhook_url: str | None = None
    post_webhook_url: str | None = None
    webhook_filters: list[str] = field(default_factory=list)
    webhook_method: str = "POST"


@dataclass
class Conversation:
    sid: str
    chat_service_sid: str
    friendly_name: str | None
    unique_name: str | None
    attributes: str
    state: str
    date_created: datetime
    date_updated: datetime
    messaging_service_sid: str | None = None
    timers: dict[str, str] = field(default_factory=dict)
    next_index: int = 0


@dataclass
class Participant:
    sid: str
    conversation_sid: str
    identity: str | None
    attributes: str
    date_created: datetime
    date_updated: datetime
    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    role_sid: str | None = None
    last_read_message_index: int | None = None
    last_read_timestamp: str | None = None


@dataclass
class ConvMessage:
    sid: str
    conversation_sid: str
    index: int
    author: str
    body: str | None
    attributes: str
    participant_sid: str | None
    media_sids: list[str]
    date_created: datetime
    date_updated: datetime
    content_sid: str | None = None
    source: str = "API"


@dataclass
class ScopedWebhook:
    sid: str
    conversation_sid: str
    target: str
    url: str | None
    method: str
    filters: list[str]
    triggers: list[str]
    flow_sid: str | None
    date_created: datetime
    date_updated: datetime


@dataclass
class Media:
    sid: str
    service_sid: str | None
    content_type: str
    filename: str | None
    data: bytes
    date_created: datetime
    author: str | None = None
    channel_sid: str | None = None
    message_sid: str | None = None
    token: str = ""


@dataclass
class Interaction:
    sid: str
    channel_sid: str
    channel_type: str
    routing: dict[str, Any]
    interaction_context_sid: str | None
    webhook_ttid: str | None
    media_channel_sid: str | None


@dataclass
class InteractionChannel:
    sid: str
    interaction_sid: str
    type: str
    status: str
    media_channel_sid: str | None
    error_code: int | None = None
    error_message: str | None = None


@dataclass
class InteractionParticipant:
    sid: str
    interaction_sid: str
    channel_sid: str
    type: str
    status: str
    media_properties: dict[str, Any]
    routing_properties: dict[str, Any] | None


@dataclass
class Invite:
    sid: str
    interaction_sid: str
    channel_sid: str
    routing: dict[str, Any]


@dataclass
class Transfer:
    """An interaction-channel transfer (UX…). `new_task_sid`, `from_task_sid` and the target are the sandbox's
    own bookkeeping of a transfer a rep made (empty for a record created over REST)."""

    sid: str
    interaction_sid: str
    channel_sid: str
    execution_sid: str
    type: str
    status: str
    from_: str | None
    to: str | None
    note_sid: str | None
    summary_sid: str | None
    date_created: datetime
    date_updated: datetime
    new_task_sid: str | None = None
    from_task_sid: str | None = None


@dataclass
class WhatsAppApproval:
    """A content's WhatsApp approval request and WhatsApp's answer (`status`: received, approved, rejected…)."""

    name: str
    category: str
    content_type: str
    status: str
    rejection_reason: str = ""


@dataclass
class ContentTemplate:
    sid: str
    friendly_name: str
    language: str
    body: str
    variables: dict[str, str]
    approved: bool
    date_created: datetime
    date_updated: datetime
    # the content types as created; None: the seed's plain text (`{"twilio/text": {"body": body}}`)
    types: dict[str, dict[str, Any]] | None = None
    approval: WhatsAppApproval | None = None


@dataclass
class ApiMessage:
    """Api 2010 message, outbound (service → contact) or inbound (contact → service)."""

    sid: str
    direction: str
    from_: str
    to: str
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    media: list[str] = field(default_factory=list)  # ME sids (inbound) or source URLs (outbound)
    content_sid: str | None = None
    content_variables: str | None = None
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_sent: datetime | None = None
    messaging_service_sid: str | None = None
    rendered_body: str | None = None
    # what a content SID showed the contact: its type and its buttons or list items (`id`, `title`)
    content_type: str | None = None
    actions: list[dict[str, str]] | None = None


@dataclass
class TypingIndicator:
    """The typing indicator a business showed in one WhatsApp chat (sender, contact), in reply to an inbound
    message: shown until the next outbound message is delivered or `until` (25 s after the last call)."""

    sender: str
    contact: str
    message_sid: str
    api: str
    started_at: datetime
    until: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    reply_sid: str | None = None


@dataclass
class ContactIdentity:
    """A simulated WhatsApp user: known by phone, by business-scoped user ID (BSUID), or both. `key` (the address it
    first appeared with) is what the sandbox files its chats under; `phone_visible` False is a username user whose
    number WhatsApp withholds (webhooks then carry the BSUID in `From`)."""

    key: str
    phone: str | None = None
    bsuid: str | None = None
    parent_bsuid: str | None = None
    username: str | None = None
    phone_visible: bool = True


@dataclass
class Sender:
    number: str
    webhook_url: str | None = None
    status_callback_url: str | None = None


@dataclass
class SandboxState:
    account_sid: str
    workspace: Workspace
    activities: dict[str, Activity] = field(default_factory=dict)
    task_channels: dict[str, TaskChannel] = field(default_factory=dict)
    queues: dict[str, TaskQueue] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    workers: dict[str, Worker] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    reservations: Table[Reservation] = field(default_factory=lambda: Table("task_sid", "worker_sid"))
    events: list[TaskRouterEvent] = field(default_factory=list)
    chat_services: dict[str, ChatService] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    participants: Table[Participant] = field(default_factory=lambda: Table("conversation_sid", "address"))
    conv_messages: Table[ConvMessage] = field(default_factory=lambda: Table("conversation_sid"))
    scoped_webhooks: Table[ScopedWebhook] = field(default_factory=lambda: Table("conversation_sid"))
    media: dict[str, Media] = field(default_factory=dict)
    interactions: dict[str, Interaction] = field(default_factory=dict)
    interaction_channels: Table[InteractionChannel] = field(default_factory=lambda: Table("interaction_sid"))
    interaction_participants: Table[InteractionParticipant] = field(default_factory=lambda: Table("channel_sid"))
    invites: Table[Invite] = field(default_factory=lambda: Table("channel_sid"))
    transfers: Table[Transfer] = field(default_factory=lambda: Table("channel_sid"))
    templates: dict[str, ContentTemplate] = field(default_factory=dict)
    api_messages: dict[str, ApiMessage] = field(default_factory=dict)
    senders: dict[str, Sender] = field(default_factory=dict)
    # (business number, contact number) -> time of the contact's last inbound message (sandbox clock)
    last_inbound: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # contact number -> what reached (or failed to reach) that WhatsApp user
    inboxes: dict[str, list[str]] = field(default_factory=dict)
    default_chat_service_sid: str = ""
    # contacts that no longer reach WhatsApp (blocked, uninstalled): sends end `undelivered` with 63024
    unreachable: set[str] = field(default_factory=set)
    # contact key -> identity; any address of a contact (phone, BSUID) -> its key
    contacts: dict[str, ContactIdentity] = field(default_factory=dict)
    contact_keys: dict[str, str] = field(default_factory=dict)
    # (business number, contact) -> the chat's latest typing indicator
    typing: dict[tuple[str, str], TypingIndicator] = field(default_factory=dict)
    # inbound message SIDs the business marked read (the contact sees blue ticks)
    read_inbound: dict[str, datetime] = field(default_factory=dict)
