"""Twilio webhook fields → the typed signal payloads of workflows/signals.py (pure functions, no I/O).

Each parser checks that the event belongs to the org (403 "routed to the wrong org"), names the field at
fault when one is malformed (422), and returns `Ignored` for events that do not concern the service
(answered 2xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from api.errors import ApiError, bad_field, wrong_org
from api.forms import Fields
from config.orgs import Org
from contracts.contacts import contact_identity
from contracts.ids import normalize_whatsapp_address, parse_workflow_id, validate_key
from contracts.signals import (
    ContactMessage,
    ConversationEvent,
    ConversationMediaRef,
    DeliveryStatus,
    DeliveryStatusValue,
    InboundMedia,
    TaskRouterEvent,
)
from rules.delivery import FAILED_STATUSES
from rules.taskrouter_filter import needs_signal

# Twilio delivers at most 10 media per message (WhatsApp: one); more is not Twilio talking.
MAX_MEDIA = 10
# Conversations events forwarded to the workflow; the others (typing, delivery receipts, …) are not used.
FORWARDED_CONVERSATION_EVENTS = frozenset({"onMessageAdded", "onConversationStateUpdated", "onConversationRemoved"})
# Attribute the service puts on every message it posts into Flex (contact relays, AI replies, notes, notices).
OWN_POST_ATTRIBUTE = "waHandoffId"
SYSTEM_AUTHORS = frozenset({"system", "system-bot"})
_DELIVERY_STATUSES = frozenset(get_args(DeliveryStatusValue))


@dataclass(frozen=True)
class Ignored:
    """An event that does not concern the service: answered 2xx, not signalled, logged with the reason."""

    reason: str


def parse_key(key: str) -> str:
    """A conversation key from a webhook URL path (422 naming `key` if it is not one)."""
    try:
        validate_key(key)
    except ValueError:
        raise bad_field("key", "not a conversation key (32 hex digits)") from None
    return key


def check_account(fields: Fields, org: Org) -> None:
    account = fields.sid("AccountSid", ("AC",))
    if account != org.config.account_sid:
        raise wrong_org(f"AccountSid {account} is not the account of org {org.name!r}")


def whatsapp_number(fields: Fields, name: str) -> str:
    try:
        return normalize_whatsapp_address(fields.required(name))
    except ValueError:
        raise bad_field(name, "not a WhatsApp address (whatsapp:+E164)") from None


def parse_contact_message(fields: Fields, org: Org, now: datetime) -> ContactMessage:
    """Programmable Messaging inbound webhook (`From=whatsapp:+E164`, or `whatsapp:<BSUID>` for a contact who
    hides their number)."""
    check_account(fields, org)  # first: an event for another account is "wrong org", whatever else is off
    message_sid = fields.sid("MessageSid", ("SM", "MM"))
    business = whatsapp_number(fields, "To")
    if business not in org.config.whatsapp_numbers:
        raise wrong_org(f"To is not one of org {org.name!r}'s WhatsApp numbers")
    try:
        contact = contact_identity(fields.as_mapping())
    except ValueError as exc:
        raise bad_field(str(exc), "not a WhatsApp contact (whatsapp:+E164 or a business-scoped user id)") from None
    assert message_sid is not None
    return ContactMessage(
        message_sid=message_sid,
        account_sid=org.config.account_sid,
        business_number=business,
        contact_address=contact.address,
        contact_bsuid=contact.bsuid,
        contact_parent_bsuid=contact.parent_bsuid,
        contact_username=contact.username,
        profile_name=fields.optional("ProfileName"),
        body=fields.optional("Body") or "",
        media=_inbound_media(fields),
        button_payload=fields.optional("ButtonPayload"),
        button_text=fields.optional("ButtonText"),
        received_at=now,
    )


def _inbound_media(fields: Fields) -> list[InboundMedia]:
    count = fields.integer("NumMedia", 0, MAX_MEDIA)
    if count is None:  # NumMedia is always sent by Twilio; tolerate its absence by counting the URLs
        count = 0
        while f"MediaUrl{count}" in fields:
            count += 1
        if count > MAX_MEDIA:
            raise bad_field("NumMedia", f"more than {MAX_MEDIA} media")
    media: list[InboundMedia] = []
    for n in range(count):
        url = fields.required(f"MediaUrl{n}")
        if not url.startswith(("https://", "http://")):
            raise bad_field(f"MediaUrl{n}", "not an http(s) URL")
        content_type = fields.optional(f"MediaContentType{n}") or "application/octet-stream"
        if "/" not in content_type or len(content_type) > 255:
            raise bad_field(f"MediaContentType{n}", "not a MIME type")
        media.append(InboundMedia(url=url, content_type=content_type.lower()))
    return media


# The statuses the workflow acts on: failures only (each signal is a billed Temporal Cloud action). A success
# ("delivered", "read", …) changes nothing in the workflow, and it needs no callback to stop waiting: after
# `delivery_check_seconds` it reads back the status of every send still pending (one batched fetch).
SIGNALLED_DELIVERY_STATUSES: frozenset[str] = FAILED_STATUSES


def parse_delivery_status(fields: Fields, org: Org, now: datetime) -> DeliveryStatus:
    """Per-message StatusCallback of something the service sent."""
    check_account(fields, org)
    message_sid = fields.sid("MessageSid", ("SM", "MM"))
    status = (fields.optional("MessageStatus") or fields.required("SmsStatus")).lower()
    if status not in _DELIVERY_STATUSES:
        raise bad_field("MessageStatus", "not a Twilio message status")
    assert message_sid is not None
    return DeliveryStatus(
        message_sid=message_sid,
        status=status,  # checked against the Literal above
        error_code=fields.integer("ErrorCode", 0, 10**6),
        error_message=fields.optional("ChannelStatusMessage") or fields.optional("ErrorMessage"),
        occurred_at=now,
    )


def parse_conversation_event(fields: Fields, org: Org, now: datetime) -> ConversationEvent | Ignored:
    """Conversation-scoped webhook (rep messages mostly). Our own posts and the contact's/AI's are ignored."""
    check_account(fields, org)
    service = fields.sid("ChatServiceSid", ("IS",), required=False)
    if service is not None and service != org.config.conversations_service_sid:
        raise wrong_org(f"ChatServiceSid {service} is not the Conversations service of org {org.name!r}")
    event_type = fields.required("EventType")
    conversation_sid = fields.sid("ConversationSid", ("CH",))
    assert conversation_sid is not None
    if event_type not in FORWARDED_CONVERSATION_EVENTS:
        return Ignored(f"Conversations event {event_type[:60]!r} is not used")
    attributes = _attributes(fields)
    author = fields.optional("Author")
    occurred_at = _timestamp(fields, ("DateCreated", "DateUpdated", "StateUpdated"), now)
    if event_type == "onMessageAdded":
        if OWN_POST_ATTRIBUTE in attributes:
            return Ignored("the service's own post")
        if author is not None and author.lower().startswith("whatsapp:"):
            return Ignored("a contact message relayed by the service")
        if author is not None and (author == org.config.ai_worker_name or author.lower() in SYSTEM_AUTHORS):
            return Ignored("an AI or system post")
        message_sid = fields.sid("MessageSid", ("IM",))
        return ConversationEvent(
            event_type=event_type,
            conversation_sid=conversation_sid,
            message_sid=message_sid,
            author=author,
            body=fields.optional("Body"),
            media=_conversation_media(fields),
            participant_sid=fields.sid("ParticipantSid", ("MB",), required=False),
            attributes=attributes,
            source=fields.optional("Source"),
            occurred_at=occurred_at,
        )
    state_to = fields.optional("StateTo")
    return ConversationEvent(
        event_type=event_type,
        conversation_sid=conversation_sid,
        attributes=attributes,
        source=fields.optional("Source"),
        occurred_at=occurred_at,
        event_id=f"{event_type}:{conversation_sid}:{state_to or ''}:{occurred_at.isoformat()}",
    )


def _attributes(fields: Fields) -> dict[str, Any]:
    value = fields.json_value("Attributes")
    # Twilio allows any JSON here; only an object carries anything the workflow reads.
    return value if isinstance(value, dict) else {}


def _conversation_media(fields: Fields) -> list[ConversationMediaRef]:
    value = fields.json_value("Media")
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_MEDIA:
        raise bad_field("Media", f"not a JSON list of at most {MAX_MEDIA} media")
    media: list[ConversationMediaRef] = []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise bad_field("Media", f"entry {n} is not an object")
        sid, content_type = item.get("Sid"), item.get("ContentType")
        size, filename = item.get("Size"), item.get("Filename")
        if not (isinstance(sid, str) and sid.startswith("ME") and isinstance(content_type, str)):
            raise bad_field("Media", f"entry {n} lacks Sid (ME…) or ContentType")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise bad_field("Media", f"entry {n} Size is not a non-negative integer")
        if filename is not None and not isinstance(filename, str):
            raise bad_field("Media", f"entry {n} Filename is not a string")
        media.append(ConversationMediaRef(sid=sid, content_type=content_type, filename=filename, size=size))
    return media


@dataclass(frozen=True)
class RoutedTaskEvent:
    workflow_id: str
    event: TaskRouterEvent


def parse_taskrouter_event(fields: Fields, org: Org, now: datetime) -> RoutedTaskEvent | Ignored:
    """Workspace event callback, routed by the task's `waHandoff.workflowId`."""
    check_account(fields, org)
    workspace = fields.sid("WorkspaceSid", ("WS",))
    if workspace != org.config.workspace_sid:
        raise wrong_org(f"WorkspaceSid {workspace} is not the workspace of org {org.name!r}")
    raw = fields.optional("TaskAttributes")
    if raw is None:
        return Ignored("not a task event")
    try:
        attributes: Any = fields.json_value("TaskAttributes")
    except ApiError:
        attributes = None
    if not isinstance(attributes, dict):
        if "waHandoff" in raw:  # claims to be ours: say what is wrong rather than drop it silently
            raise ApiError(400, "TaskAttributes: not a JSON object", field="TaskAttributes")
        return Ignored("task attributes are not a JSON object (not a task of the service)")
    marker = attributes.get("waHandoff")
    if marker is None:
        return Ignored("task not created by the service")
    workflow_id = marker.get("workflowId") if isinstance(marker, dict) else None
    if not isinstance(workflow_id, str):
        raise ApiError(400, "TaskAttributes.waHandoff.workflowId: missing", field="TaskAttributes")
    try:
        id_org, _ = parse_workflow_id(workflow_id)
    except ValueError:
        raise ApiError(
            400, "TaskAttributes.waHandoff.workflowId: not a conversation workflow id", field="TaskAttributes"
        ) from None
    marker_org = marker.get("org")
    if id_org != org.name or (marker_org is not None and marker_org != org.name):
        raise wrong_org(f"task belongs to org {str(marker_org or id_org)[:64]!r}, not {org.name!r}")
    event_sid = fields.sid("Sid", ("EV",))
    task_sid = fields.sid("TaskSid", ("WT",))
    assert event_sid is not None and task_sid is not None
    event_type = fields.required("EventType")
    routed = RoutedTaskEvent(
        workflow_id=workflow_id,
        event=TaskRouterEvent(
            event_sid=event_sid,
            event_type=event_type,
            task_sid=task_sid,
            task_assignment_status=fields.optional("TaskAssignmentStatus"),
            task_attributes=attributes,
            task_queue_sid=fields.sid("TaskQueueSid", ("WQ",), required=False),
            reservation_sid=fields.sid("ReservationSid", ("WR",), required=False),
            worker_sid=fields.sid("WorkerSid", ("WK",), required=False),
            worker_name=fields.optional("WorkerName"),
            occurred_at=_timestamp(fields, ("Timestamp", "EventDate"), now),
        ),
    )
    # Checked last, so a broken event of ours still gets its 4xx whatever its type.
    if not needs_signal(event_type):
        return Ignored(f"{event_type[:60]} is not used by the workflow")
    return routed


def _timestamp(fields: Fields, names: tuple[str, ...], now: datetime) -> datetime:
    """Epoch seconds (TaskRouter callbacks) or ISO 8601 (Conversations, Event Streams); absent → now."""
    for name in names:
        value = fields.optional(name)
        if value is None:
            continue
        try:
            if value.replace(".", "", 1).isdigit():
                seconds = float(value)
                return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC)
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, OverflowError, OSError):
            raise bad_field(name, "not a timestamp (epoch seconds or ISO 8601)") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return now
