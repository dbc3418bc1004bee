"""Programmable Messaging (Api 2010) under `/api`: Messages create/list/fetch and inbound media download."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from twilio_sandbox import content_types
from twilio_sandbox import whatsapp_sim as sim
from twilio_sandbox.addresses import bare, is_bsuid, is_phone, wa
from twilio_sandbox.auth import check_account, require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, found, not_found
from twilio_sandbox.formats import page_2010, rfc2822
from twilio_sandbox.forms import check_query, read_form
from twilio_sandbox.state import ApiMessage

router = APIRouter(prefix="/api", dependencies=[Depends(require_auth)])
ACC = "/2010-04-01/Accounts/{AccountSid}"
_background: set[asyncio.Task[None]] = set()


def _valid_recipient(sb: Sandbox, address: str) -> bool:
    """+E164, or the BSUID of a WhatsApp user the sandbox knows (assumed: see contacts.py)."""
    return is_phone(address) or (is_bsuid(address) and address in sb.state.contact_keys)


@router.post(ACC + "/Messages.json", status_code=201)
async def create_message(request: Request, AccountSid: str) -> dict[str, Any]:
    check_account(request, AccountSid)
    sb = get_sb(request)
    form = await read_form(request, required_codes={"To": 21604}, conditional_codes={"From": 21603, "Body": 21602})
    to = form.get("To") or ""
    from_ = form.get("From") or ""
    service = form.get("MessagingServiceSid")
    if not from_ and not service:
        raise TwilioError(400, 21603, "A 'From' phone number is required.")
    if not from_:
        # Messaging services are not emulated: the first sender stands in for the service's pool.
        from_ = wa(next(iter(sb.state.senders)))
    body = form.get("Body") or ""
    media_urls = form.getlist("MediaUrl")
    content_sid = form.get("ContentSid") or None
    if not body and not media_urls and not content_sid:
        raise TwilioError(400, 21602, "Message body is required.")
    if len(body) > 1600:
        raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media_urls) > 10:
        raise TwilioError(400, 21623, "Too many MediaUrl parameters: at most 10.")
    for u in media_urls:
        if not u.startswith(("http://", "https://")):
            raise TwilioError(400, 21620, f"Invalid media URL: {u}")
    if to.startswith("whatsapp:") != from_.startswith("whatsapp:"):
        raise TwilioError(400, 63007, "From and To must both be WhatsApp addresses (whatsapp:+E164).")
    if not to.startswith("whatsapp:") or not _valid_recipient(sb, bare(to)):
        raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if bare(from_) not in sb.state.senders:
        raise TwilioError(400, 63007, f"Twilio could not find a Channel with the specified From address: {from_}")
    status_callback = form.get("StatusCallback") or None
    if status_callback and not status_callback.startswith(("http://", "https://")):
        raise TwilioError(400, 21609, f"Invalid StatusCallback URL: {status_callback}")
    variables: dict[str, str] = {}
    raw_vars = form.get("ContentVariables")
    if raw_vars is not None:
        try:
            parsed = json.loads(raw_vars)
        except json.JSONDecodeError as exc:
            raise TwilioError(400, 21656, "The ContentVariables Parameter is invalid") from exc
        if not isinstance(parsed, dict):
            raise TwilioError(400, 21656, "The ContentVariables Parameter is invalid")
        variables = {str(k): str(v) for k, v in parsed.items()}
    shown: content_types.Rendered | None = None
    is_template = False
    if content_sid:
        tpl = sb.state.templates.get(content_sid)
        if tpl is None:
            raise TwilioError(400, 21655, f"The ContentSid is invalid: {content_sid}")
        shown = content_types.render(content_types.types_or_text(tpl.types, tpl.body), variables, tpl.variables)
        # An unapproved template is just free-form text to WhatsApp: it needs the window.
        is_template = tpl.approved
    now = sb.now()
    sender = sb.state.senders[bare(from_)]
    msg = ApiMessage(
        sid=sb.sids.new("MM" if media_urls else "SM"),
        direction="outbound-api",
        from_=from_,
        to=to,
        body=body,
        status="queued",
        date_created=now,
        date_updated=now,
        media=media_urls,
        content_sid=content_sid,
        content_variables=raw_vars,
        status_callback=status_callback or sender.status_callback_url,
        messaging_service_sid=service,
        rendered_body=shown.body if shown else None,
        content_type=shown.content_type if shown else None,
        actions=[dict(a) for a in shown.actions] if shown and shown.actions else None,
    )
    sb.state.api_messages[msg.sid] = msg
    sb.recorder.add(
        "messaging.created",
        message_sid=msg.sid,
        to=bare(to),
        body=body,
        content_sid=content_sid,
        media=media_urls,
    )
    task = asyncio.get_running_loop().create_task(sim.deliver_outbound(sb, msg, is_template))
    _background.add(task)
    task.add_done_callback(_background.discard)
    out = sim.message_json(sb, msg)
    out["status"] = "queued"
    return out


def _parse_date(value: str, name: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise TwilioError(400, 20001, f"Invalid {name}: {value!r} (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)")


def _message(sb: Sandbox, sid: str) -> ApiMessage:
    m = found(sb.state.api_messages, sid, "Message")
    return m


@router.get(ACC + "/Messages.json")
async def list_messages(request: Request, AccountSid: str) -> dict[str, Any]:
    check_account(request, AccountSid)
    check_query(request)
    sb = get_sb(request)
    qp = request.query_params
    msgs = sorted(sb.state.api_messages.values(), key=lambda m: m.date_created, reverse=True)
    if "To" in qp:
        msgs = [m for m in msgs if m.to == qp["To"]]
    if "From" in qp:
        msgs = [m for m in msgs if m.from_ == qp["From"]]
    for key, keep in (
        ("DateSent>", lambda d, b: d >= b),
        ("DateSent<", lambda d, b: d <= b),
        ("DateSent", lambda d, b: d.date() == b.date()),
    ):
        if key in qp:
            bound = _parse_date(qp[key], key)
            msgs = [m for m in msgs if keep(m.date_sent or m.date_created, bound)]
    return page_2010(
        request,
        f"/2010-04-01/Accounts/{AccountSid}/Messages.json",
        "messages",
        [sim.message_json(sb, m) for m in msgs],
    )


@router.get(ACC + "/Messages/{Sid}.json")
async def fetch_message(request: Request, AccountSid: str, Sid: str) -> dict[str, Any]:
    check_account(request, AccountSid)
    sb = get_sb(request)
    return sim.message_json(sb, _message(sb, Sid))


@router.get(ACC + "/Messages/{MessageSid}/Media.json")
async def list_media(request: Request, AccountSid: str, MessageSid: str) -> dict[str, Any]:
    check_account(request, AccountSid)
    sb = get_sb(request)
    m = _message(sb, MessageSid)
    items = [_media_json(sb, m, me) for me in m.media if me in sb.state.media]
    return page_2010(
        request, f"/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media.json", "media_list", items
    )


def _media_json(sb: Sandbox, m: ApiMessage, media_sid: str) -> dict[str, Any]:
    media = sb.state.media[media_sid]
    return {
        "account_sid": sb.state.account_sid,
        "content_type": media.content_type,
        "date_created": rfc2822(media.date_created),
        "date_updated": rfc2822(media.date_created),
        "parent_sid": m.sid,
        "sid": media.sid,
        "uri": f"/2010-04-01/Accounts/{sb.state.account_sid}/Messages/{m.sid}/Media/{media.sid}.json",
    }


@router.get(ACC + "/Messages/{MessageSid}/Media/{Sid}.json")
async def fetch_media_json(request: Request, AccountSid: str, MessageSid: str, Sid: str) -> dict[str, Any]:
    check_account(request, AccountSid)
    sb = get_sb(request)
    m = _message(sb, MessageSid)
    if Sid not in m.media:
        raise not_found("Media", Sid)
    return _media_json(sb, m, Sid)


@router.get(ACC + "/Messages/{MessageSid}/Media/{Sid}")
async def download_media(request: Request, AccountSid: str, MessageSid: str, Sid: str) -> Response:
    """The `MediaUrlN` of an inbound message: the bytes, behind Basic auth (HTTP auth on media URLs is on)."""
    check_account(request, AccountSid)
    sb = get_sb(request)
    m = _message(sb, MessageSid)
    if Sid not in m.media or Sid not in sb.state.media:
        raise not_found("Media", Sid)
    media = sb.state.media[Sid]
    return Response(media.data, media_type=media.content_type)
