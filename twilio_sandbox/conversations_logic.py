"""Conversations behaviour shared by REST handlers and the rep simulation: posting messages and firing
webhooks."""

from __future__ import annotations

import json
from typing import Any

from twilio_sandbox.core import Sandbox
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.formats import iso_ms
from twilio_sandbox.state import Conversation, ConvMessage, Participant


def media_list(sb: Sandbox, msg: ConvMessage) -> list[dict[str, Any]] | None:
    if not msg.media_sids:
        return None
    out = []
    for sid in msg.media_sids:
        m = sb.state.media[sid]
        out.append(
            {
                "category": "media",
                "filename": m.filename,
                "size": len(m.data),
                "content_type": m.content_type,
                "sid": m.sid,
            }
        )
    return out


def find_participant(sb: Sandbox, conv: Conversation, author: str | None) -> Participant | None:
    for p in sb.state.participants.where("conversation_sid", conv.sid):
        if author and author in (p.identity, p.address):
            return p
    return None


def add_message(
    sb: Sandbox,
    conv: Conversation,
    *,
    author: str | None,
    body: str | None,
    attributes: str = "{}",
    media_sids: list[str] | None = None,
    content_sid: str | None = None,
    source: str = "API",
    fire_service: bool = False,
    fire_scoped: bool = False,
    client_identity: str | None = None,
) -> ConvMessage:
    if conv.state == "closed":
        raise TwilioError(400, 50446, f"Conversation {conv.sid} is closed: messages cannot be added")
    media_sids = media_sids or []
    for sid in media_sids:
        m = sb.state.media.get(sid)
        if m is None or m.service_sid not in (None, conv.chat_service_sid):
            raise TwilioError(400, 50501, f"Media {sid} not found in service {conv.chat_service_sid}")
        if m.message_sid is not None:
            raise TwilioError(400, 50502, f"Media {sid} is already attached to message {m.message_sid}")
    if not body and not media_sids and not content_sid:
        raise TwilioError(400, 50511, "A message needs a Body, a MediaSid or a ContentSid")
    now = sb.now()
    participant = find_participant(sb, conv, author)
    msg = ConvMessage(
        sid=sb.sids.new("IM"),
        conversation_sid=conv.sid,
        index=conv.next_index,
        author=author or "system",
        body=body,
        attributes=attributes,
        participant_sid=participant.sid if participant else None,
        media_sids=media_sids,
        date_created=now,
        date_updated=now,
        content_sid=content_sid,
        source=source,
    )
    conv.next_index += 1
    conv.date_updated = now
    for sid in media_sids:
        sb.state.media[sid].message_sid = msg.sid
        sb.state.media[sid].channel_sid = conv.sid
    sb.state.conv_messages[msg.sid] = msg
    sb.recorder.add(
        "conversation.message",
        conversation_sid=conv.sid,
        message_sid=msg.sid,
        author=msg.author,
        source=source,
        body=body,
        media=len(media_sids),
    )
    params: list[tuple[str, str]] = [
        *_event_fields(sb, conv, "onMessageAdded"),
        ("MessageSid", msg.sid),
        ("Index", str(msg.index)),
        ("DateCreated", iso_ms(now)),
        ("Author", msg.author),
        ("ParticipantSid", msg.participant_sid or ""),
        ("Attributes", msg.attributes),
        ("Source", source),
    ]
    if body is not None:
        params.append(("Body", body))
    if conv.messaging_service_sid:
        params.append(("MessagingServiceSid", conv.messaging_service_sid))
    if client_identity:
        params.append(("ClientIdentity", client_identity))
    media = media_list(sb, msg)
    if media:
        params.append(
            (
                "Media",
                json.dumps(
                    [
                        {
                            "Sid": m["sid"],
                            "Filename": m["filename"],
                            "ContentType": m["content_type"],
                            "Size": m["size"],
                            "Category": "media",
                        }
                        for m in media
                    ]
                ),
            )
        )
    if content_sid:
        params.append(("ContentSid", content_sid))
    fire(sb, conv, "onMessageAdded", params, fire_service=fire_service, fire_scoped=fire_scoped)
    return msg


def fire(
    sb: Sandbox,
    conv: Conversation,
    event: str,
    params: list[tuple[str, str]],
    *,
    fire_service: bool,
    fire_scoped: bool,
) -> None:
    service = sb.state.chat_services.get(conv.chat_service_sid)
    if fire_service and service and service.post_webhook_url and event in service.webhook_filters:
        sb.send_webhook(
            "conversations.service",
            service.post_webhook_url,
            params,
            method=service.webhook_method,
            retry_param="RetryCount",
        )
    if not fire_scoped:
        return
    for hook in sb.state.scoped_webhooks.where("conversation_sid", conv.sid):
        if hook.target != "webhook" or not hook.url:
            continue
        if hook.filters and event not in hook.filters:
            continue
        scoped = [*params, ("WebhookSid", hook.sid), ("WebhookType", "webhook")]
        sb.send_webhook("conversations.scoped", hook.url, scoped, method=hook.method, retry_param="RetryCount")


def participant_added(
    sb: Sandbox,
    conv: Conversation,
    p: Participant,
    *,
    fire_service: bool,
    fire_scoped: bool,
    source: str = "API",
) -> None:
    params = [
        *_event_fields(sb, conv, "onParticipantAdded"),
        ("ParticipantSid", p.sid),
        ("Attributes", p.attributes),
        ("DateCreated", iso_ms(p.date_created)),
        ("Source", source),
    ]
    if p.identity:
        params.append(("Identity", p.identity))
    if p.address:
        params.append(("MessagingBinding.Address", p.address))
    if p.proxy_address:
        params.append(("MessagingBinding.ProxyAddress", p.proxy_address))
    fire(sb, conv, "onParticipantAdded", params, fire_service=fire_service, fire_scoped=fire_scoped)


def _event_fields(sb: Sandbox, conv: Conversation, event_type: str) -> list[tuple[str, str]]:
    """The fields every Conversations webhook of a conversation carries."""
    return [
        ("EventType", event_type),
        ("AccountSid", sb.state.account_sid),
        ("ChatServiceSid", conv.chat_service_sid),
        ("ConversationSid", conv.sid),
    ]


def state_updated(
    sb: Sandbox, conv: Conversation, old: str, *, fire_service: bool, fire_scoped: bool, reason: str = "API"
) -> None:
    params = [
        *_event_fields(sb, conv, "onConversationStateUpdated"),
        ("StateFrom", old),
        ("StateTo", conv.state),
        ("StateUpdated", iso_ms(sb.now())),
        ("Reason", reason),
        ("Source", "API"),
    ]
    fire(sb, conv, "onConversationStateUpdated", params, fire_service=fire_service, fire_scoped=fire_scoped)


def add_chat_participant(sb: Sandbox, conv: Conversation, identity: str, attributes: str = "{}") -> Participant:
    existing = find_participant(sb, conv, identity)
    if existing is not None:
        return existing
    now = sb.now()
    p = Participant(sb.sids.new("MB"), conv.sid, identity, attributes, now, now)
    sb.state.participants[p.sid] = p
    return p
