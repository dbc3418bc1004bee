"""The simulated WhatsApp side: contacts sending inbound messages (signed webhook to the sender's URL) and the
contact's phone receiving outbound ones (rules applied, status callbacks signed and posted in order)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from twilio_sandbox import contacts, typing_indicator
from twilio_sandbox import whatsapp_rules as rules
from twilio_sandbox.addresses import bare, wa
from twilio_sandbox.core import Sandbox
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.formats import rfc2822, url
from twilio_sandbox.state import ApiMessage, ContactIdentity, Media

API_VERSION = "2010-04-01"
_MEDIA_PATHS = (
    re.compile(r"^/v1/Services/(?P<svc>IS[0-9a-f]{32})/Media/(?P<me>ME[0-9a-f]{32})(/Content)?$"),
    re.compile(r"^/2010-04-01/Accounts/AC[0-9a-f]{32}/Messages/[A-Z]{2}[0-9a-f]{32}/Media/(?P<me>ME[0-9a-f]{32})$"),
)
STATUS_STEP_SECONDS = 0.02  # small gap between callbacks so receivers see distinct events


def message_path(sb: Sandbox, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{sb.state.account_sid}/Messages/{sid}"


def message_json(sb: Sandbox, m: ApiMessage) -> dict[str, Any]:
    path = message_path(sb, m.sid)
    return {
        "account_sid": sb.state.account_sid,
        "api_version": API_VERSION,
        "body": m.rendered_body if m.rendered_body is not None else m.body,
        "date_created": rfc2822(m.date_created),
        "date_sent": rfc2822(m.date_sent),
        "date_updated": rfc2822(m.date_updated),
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": m.error_message,
        "from": m.from_,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": str(len(m.media)),
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": m.sid,
        "status": m.status,
        "subresource_uris": {"media": f"{path}/Media.json", "feedback": f"{path}/Feedback.json"},
        "to": m.to,
        "uri": f"{path}.json",
    }


def media_url(sb: Sandbox, message_sid: str, media_sid: str) -> str:
    return url("api", f"{message_path(sb, message_sid)}/Media/{media_sid}")


# --- inbound: contact -> service ----------------------------------------------------------------------------
@dataclass
class MediaSpec:
    content_type: str
    size: int
    filename: str | None = None


@dataclass(frozen=True)
class ButtonTap:
    """The contact taps a button of an interactive message: `Body` and `ButtonText` carry its title,
    `ButtonPayload` its id (Twilio's quick-reply docs)."""

    index: int
    id: str
    title: str
    replied_to: ApiMessage
    # Meta's message types: `button` for a template's quick reply, `interactive` for a session one [assumed for
    # Twilio's `MessageType`; the field and both values are listed in Twilio's webhook docs].
    message_type: str


async def contact_send(
    sb: Sandbox,
    contact: ContactIdentity,
    to: str,
    body: str,
    profile_name: str | None,
    media: list[MediaSpec],
    tap: ButtonTap | None = None,
) -> tuple[ApiMessage, int | None]:
    sender = sb.state.senders.get(bare(to))
    if sender is None:
        raise TwilioError(404, 20404, f"{to} is not a WhatsApp sender of this sandbox")
    now = sb.now()
    sid = sb.sids.new("MM" if media else "SM")
    address, identity_fields = contacts.inbound_from(contact)
    if tap is not None:
        body = tap.title
    msg = ApiMessage(
        sid=sid,
        direction="inbound",
        from_=wa(address),
        to=wa(sender.number),
        body=body,
        status="received",
        date_created=now,
        date_updated=now,
        date_sent=now,
    )
    message_type = tap.message_type if tap else (media_kind(media[0].content_type) if media else "text")
    params: list[tuple[str, str]] = [
        ("SmsMessageSid", sid),
        ("NumMedia", str(len(media))),
        ("ProfileName", profile_name or ""),
        ("MessageType", message_type),
        ("SmsSid", sid),
        *identity_fields,
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", msg.to),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", sid),
        ("AccountSid", sb.state.account_sid),
        ("From", msg.from_),
        ("ApiVersion", API_VERSION),
    ]
    if tap is not None:
        params += [
            ("ButtonText", tap.title),
            ("ButtonPayload", tap.id),
            ("OriginalRepliedMessageSid", tap.replied_to.sid),
            ("OriginalRepliedMessageSender", tap.replied_to.from_),
        ]
    for n, spec in enumerate(media):
        data = rules.generate_media(spec.content_type, spec.size, f"{sid}:{n}")
        m = Media(
            sb.sids.new("ME"),
            None,
            spec.content_type,
            spec.filename,
            data,
            now,
            author=msg.from_,
            message_sid=sid,
        )
        sb.state.media[m.sid] = m
        msg.media.append(m.sid)
        params.append((f"MediaContentType{n}", spec.content_type))
        params.append((f"MediaUrl{n}", media_url(sb, sid, m.sid)))
    sb.state.api_messages[sid] = msg
    sb.state.last_inbound[(sender.number, contact.key)] = now
    sb.recorder.add(
        "contact.sent",
        message_sid=sid,
        contact=contact.key,
        address=msg.from_,
        to=sender.number,
        body=body,
        num_media=len(media),
        button={"index": tap.index, "id": tap.id, "title": tap.title} if tap else None,
        replied_to=tap.replied_to.sid if tap else None,
    )
    if not sender.webhook_url:
        sb.recorder.add("webhook.skipped", webhook="messaging.inbound", reason="sender has no webhook_url")
        return msg, None
    status = await sb.send_webhook("messaging.inbound", sender.webhook_url, params)
    return msg, status


def media_kind(content_type: str) -> str:
    rule = rules.MEDIA_RULES.get(content_type.split(";")[0].strip().lower())
    return rule[0] if rule else "document"


# --- outbound: service -> contact ---------------------------------------------------------------------------
async def fetch_media(sb: Sandbox, media_url_: str) -> tuple[bytes, str] | None:
    """Bytes and Content-Type of a MediaUrl; Twilio-hosted media is read from the sandbox's own store."""
    parts = urlsplit(media_url_)
    path = parts.path
    internal = parts.netloc in ("api.twilio.com", "mcs.us1.twilio.com")
    if media_url_.startswith(sb.base_url):
        internal = True
        path = "/" + path.lstrip("/").partition("/")[2]
    if internal:
        for pattern in _MEDIA_PATHS:
            m = pattern.match(path)
            if m and m.group("me") in sb.state.media:
                media = sb.state.media[m.group("me")]
                return media.data, media.content_type
        return None
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as client:
            resp = await client.get(media_url_)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    return resp.content, resp.headers.get("content-type", "application/octet-stream")


async def deliver_outbound(sb: Sandbox, msg: ApiMessage, is_template: bool) -> None:
    """Decide the fate of an outbound message and report it through status callbacks, in order. The delivery
    belongs to the state it was sent in: a reset while it runs (tests reset between cases) must not file the
    message into the fresh state's inboxes."""
    state = sb.state
    contact = contacts.key_of(state, bare(msg.to))
    verdict = rules.check_window(state.last_inbound.get((bare(msg.from_), contact)), msg.date_created, is_template)
    if verdict.ok:
        verdict = rules.check_interactive(msg.content_type, len(msg.actions or ()), approved=is_template)
    if verdict.ok and msg.media:
        items: list[tuple[str, int, str | None]] = []
        for media_ref in msg.media:
            fetched = await fetch_media(sb, media_ref)
            if fetched is None:
                verdict = rules.Verdict(False, rules.ERR_MEDIA, f"could not download {media_ref}")
                break
            data, ctype = fetched
            items.append((ctype, len(data), media_ref))
        else:
            verdict = rules.check_message_media(items)
    await _status(sb, msg, "queued")
    if verdict.ok and contact in state.unreachable:
        # Accepted by Twilio and sent, but WhatsApp cannot hand it to the user.
        msg.date_sent = sb.now()
        await _status(sb, msg, "sent")
        msg.error_code = rules.ERR_RECIPIENT
        msg.error_message = rules.ERROR_MESSAGES[rules.ERR_RECIPIENT]
        await _status(sb, msg, "undelivered", detail="the contact cannot be reached on WhatsApp")
        verdict = rules.Verdict(False, rules.ERR_RECIPIENT, "unreachable")
    elif not verdict.ok:
        msg.error_code = verdict.error_code
        msg.error_message = rules.ERROR_MESSAGES.get(verdict.error_code or 0, verdict.detail)
        await _status(sb, msg, "failed", detail=verdict.detail)
    else:
        msg.date_sent = sb.now()
        await _status(sb, msg, "sent")
        await _status(sb, msg, "delivered")
        if sb.state is state:
            typing_indicator.on_delivered(sb, msg)
    if sb.state is not state:
        return
    state.inboxes.setdefault(contact, []).append(msg.sid)
    sb.recorder.add(
        "contact.received" if verdict.ok else "contact.failed",
        message_sid=msg.sid,
        contact=contact,
        status=msg.status,
        error_code=msg.error_code,
        detail=verdict.detail,
    )


async def mark_read(sb: Sandbox, msg: ApiMessage) -> None:
    await _status(sb, msg, "read")
    sb.recorder.add("contact.read", message_sid=msg.sid, contact=contacts.key_of(sb.state, bare(msg.to)))


async def _status(sb: Sandbox, msg: ApiMessage, status: str, detail: str = "") -> None:
    await asyncio.sleep(STATUS_STEP_SECONDS)
    msg.status = status
    msg.date_updated = sb.now()
    callback = msg.status_callback
    if not callback:
        return
    params: list[tuple[str, str]] = [
        ("SmsSid", msg.sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("ChannelToAddress", bare(msg.to)),
        ("To", msg.to),
        ("ChannelPrefix", "whatsapp"),
        ("MessageSid", msg.sid),
        ("AccountSid", sb.state.account_sid),
        ("StructuredMessage", "false"),
        ("From", msg.from_),
        ("ApiVersion", API_VERSION),
        ("ChannelInstallSid", sb.seed.sid("XE", "whatsapp-install")),
    ]
    if msg.messaging_service_sid:
        params.append(("MessagingServiceSid", msg.messaging_service_sid))
    if status in ("failed", "undelivered") and msg.error_code:
        params.append(("ErrorCode", str(msg.error_code)))
        params.append(("ErrorMessage", msg.error_message or ""))
        params.append(("ChannelStatusMessage", detail or (msg.error_message or "")))
    if status in ("delivered", "read"):
        params.append(("EventType", status.upper()))
    sb.send_webhook("messaging.status", callback, params)


def inbox_entry(sb: Sandbox, msg: ApiMessage) -> dict[str, Any]:
    return {
        "sid": msg.sid,
        "from": bare(msg.from_),
        "body": msg.rendered_body if msg.rendered_body is not None else msg.body,
        "media_urls": list(msg.media),
        "content_sid": msg.content_sid,
        "content_type": msg.content_type,
        "actions": msg.actions,
        "content_variables": json.loads(msg.content_variables) if msg.content_variables else None,
        "rendered_body": msg.rendered_body,
        "status": msg.status,
        "error_code": msg.error_code,
        "date_sent": msg.date_sent.isoformat() if msg.date_sent else None,
    }
