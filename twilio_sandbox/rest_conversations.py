"""Conversations v1 under `/conversations`: conversations, participants, messages, conversation-scoped
webhooks and
the service webhook configuration — each at `/v1/...` (default service) and `/v1/Services/{IS}/...`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from twilio_sandbox import conversations_logic as logic
from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, not_found
from twilio_sandbox.formats import iso, page_v1, url
from twilio_sandbox.forms import Form, check_query, parse_json_object, read_form
from twilio_sandbox.state import Conversation, ConvMessage, Participant, ScopedWebhook

router = APIRouter(prefix="/conversations", dependencies=[Depends(require_auth)])
STATES = ("initializing", "inactive", "active", "closed")


def both(method: str, path: str, status_code: int = 200) -> Callable[[Any], Any]:
    """Register a handler at the default path and at the service-scoped path."""

    def deco(fn: Any) -> Any:
        router.add_api_route("/v1" + path, fn, methods=[method], status_code=status_code)
        router.add_api_route("/v1/Services/{ChatServiceSid}" + path, fn, methods=[method], status_code=status_code)
        return fn

    return deco


def _service(request: Request) -> tuple[Sandbox, str, bool]:
    sb = get_sb(request)
    sid = request.path_params.get("ChatServiceSid")
    if sid is None:
        return sb, sb.state.default_chat_service_sid, False
    if sid not in sb.state.chat_services:
        raise not_found("Service", sid)
    return sb, sid, True


def _base(service_sid: str, scoped: bool) -> str:
    return f"/v1/Services/{service_sid}" if scoped else "/v1"


def _conv(sb: Sandbox, service_sid: str, ref: str) -> Conversation:
    c = sb.state.conversations.get(ref)
    if c is None:
        c = next((x for x in sb.state.conversations.values() if x.unique_name == ref), None)
    if c is None or c.chat_service_sid != service_sid:
        raise not_found("Conversation", ref)
    return c


def _webhooks_enabled(request: Request) -> bool:
    value = request.headers.get("x-twilio-webhook-enabled")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise TwilioError(400, 20001, f"X-Twilio-Webhook-Enabled must be true or false, not {value!r}")
    return value.lower() == "true"


def _attributes(form: Form, default: str | None = "{}") -> str | None:
    value = form.get("Attributes")
    if value is None:
        return default
    parse_json_object("Attributes", value)
    return value


# --- views --------------------------------------------------------------------------------------------------
def conversation_json(sb: Sandbox, c: Conversation, scoped: bool) -> dict[str, Any]:
    base = f"{_base(c.chat_service_sid, scoped)}/Conversations/{c.sid}"
    return {
        "account_sid": sb.state.account_sid,
        "chat_service_sid": c.chat_service_sid,
        "messaging_service_sid": c.messaging_service_sid,
        "sid": c.sid,
        "friendly_name": c.friendly_name,
        "unique_name": c.unique_name,
        "attributes": c.attributes,
        "state": c.state,
        "date_created": iso(c.date_created),
        "date_updated": iso(c.date_updated),
        "timers": c.timers,
        "url": url("conversations", base),
        "links": {
            k: url("conversations", f"{base}/{v}")
            for k, v in (("participants", "Participants"), ("messages", "Messages"), ("webhooks", "Webhooks"))
        },
        "bindings": None,
    }


def participant_json(sb: Sandbox, p: Participant, service_sid: str, scoped: bool) -> dict[str, Any]:
    binding = None
    if p.address:
        binding = {
            "type": "whatsapp" if p.address.startswith("whatsapp:") else "sms",
            "address": p.address,
            "proxy_address": p.proxy_address,
        }
        if p.projected_address:
            binding["projected_address"] = p.projected_address
    out = {
        "account_sid": sb.state.account_sid,
        "conversation_sid": p.conversation_sid,
        "sid": p.sid,
        "identity": p.identity,
        "attributes": p.attributes,
        "messaging_binding": binding,
        "role_sid": p.role_sid,
        "date_created": iso(p.date_created),
        "date_updated": iso(p.date_updated),
        "url": url(
            "conversations",
            f"{_base(service_sid, scoped)}/Conversations/{p.conversation_sid}/Participants/{p.sid}",
        ),
        "last_read_message_index": p.last_read_message_index,
        "last_read_timestamp": p.last_read_timestamp,
    }
    if scoped:
        out["chat_service_sid"] = service_sid
    return out


def message_json(sb: Sandbox, m: ConvMessage, service_sid: str, scoped: bool) -> dict[str, Any]:
    base = f"{_base(service_sid, scoped)}/Conversations/{m.conversation_sid}/Messages/{m.sid}"
    out = {
        "account_sid": sb.state.account_sid,
        "conversation_sid": m.conversation_sid,
        "sid": m.sid,
        "index": m.index,
        "author": m.author,
        "body": m.body,
        "media": logic.media_list(sb, m),
        "attributes": m.attributes,
        "participant_sid": m.participant_sid,
        "date_created": iso(m.date_created),
        "date_updated": iso(m.date_updated),
        "url": url("conversations", base),
        "delivery": None,
        "links": {
            "delivery_receipts": url("conversations", f"{base}/Receipts"),
            "channel_metadata": url("conversations", f"{base}/ChannelMetadata"),
        },
        "content_sid": m.content_sid,
    }
    if scoped:
        out["chat_service_sid"] = service_sid
    return out


def webhook_json(sb: Sandbox, h: ScopedWebhook, service_sid: str, scoped: bool) -> dict[str, Any]:
    out = {
        "sid": h.sid,
        "account_sid": sb.state.account_sid,
        "conversation_sid": h.conversation_sid,
        "target": h.target,
        "url": url(
            "conversations",
            f"{_base(service_sid, scoped)}/Conversations/{h.conversation_sid}/Webhooks/{h.sid}",
        ),
        "configuration": {
            "url": h.url,
            "method": h.method,
            "filters": h.filters,
            "triggers": h.triggers,
            "flow_sid": h.flow_sid,
        },
        "date_created": iso(h.date_created),
        "date_updated": iso(h.date_updated),
    }
    if scoped:
        out["chat_service_sid"] = service_sid
    return out


# --- conversations ------------------------------------------------------------------------------------------
def _apply_conversation_form(sb: Sandbox, c: Conversation, form: Form) -> str | None:
    """Apply create/update fields; returns the previous state when it changed."""
    if form.has("FriendlyName"):
        c.friendly_name = form.get("FriendlyName")
    if form.has("UniqueName"):
        name = form.get("UniqueName") or None
        if name and any(x.unique_name == name and x.sid != c.sid for x in sb.state.conversations.values()):
            raise TwilioError(409, 50353, f"Conversation with provided unique name {name} already exists")
        c.unique_name = name
    attrs = _attributes(form, None)
    if attrs is not None:
        c.attributes = attrs
    if form.has("MessagingServiceSid"):
        c.messaging_service_sid = form.get("MessagingServiceSid")
    for key in ("Timers.Inactive", "Timers.Closed"):
        value = form.get(key)
        if value:
            c.timers["date_inactive" if key.endswith("Inactive") else "date_closed"] = value
    old = None
    state = form.get("State")
    if state is not None:
        if state not in STATES:
            raise TwilioError(400, 20001, f"Invalid State {state}")
        if state != c.state:
            old, c.state = c.state, state
    c.date_updated = sb.now()
    return old


@both("POST", "/Conversations", 201)
async def create_conversation(request: Request) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    form = await read_form(request)
    now = sb.now()
    c = Conversation(sb.sids.new("CH"), service_sid, None, None, "{}", "active", now, now)
    _apply_conversation_form(sb, c, form)
    sb.state.conversations[c.sid] = c
    sb.recorder.add("conversation.created", conversation_sid=c.sid)
    return conversation_json(sb, c, scoped)


@both("GET", "/Conversations")
async def list_conversations(request: Request) -> dict[str, Any]:
    check_query(request)
    sb, service_sid, scoped = _service(request)
    state = request.query_params.get("State")
    items = [
        conversation_json(sb, c, scoped)
        for c in sb.state.conversations.values()
        if c.chat_service_sid == service_sid and (state is None or c.state == state)
    ]
    return page_v1(request, "conversations", f"{_base(service_sid, scoped)}/Conversations", "conversations", items)


@both("GET", "/Conversations/{Sid}")
async def fetch_conversation(request: Request, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    return conversation_json(sb, _conv(sb, service_sid, Sid), scoped)


@both("POST", "/Conversations/{Sid}")
async def update_conversation(request: Request, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, Sid)
    form = await read_form(request)
    old = _apply_conversation_form(sb, c, form)
    if old is not None:
        enabled = _webhooks_enabled(request)
        logic.state_updated(sb, c, old, fire_service=enabled, fire_scoped=enabled)
    return conversation_json(sb, c, scoped)


@both("DELETE", "/Conversations/{Sid}", 204)
async def delete_conversation(request: Request, Sid: str) -> Response:
    sb, service_sid, _ = _service(request)
    c = _conv(sb, service_sid, Sid)
    del sb.state.conversations[c.sid]
    return Response(status_code=204)


# --- participants -------------------------------------------------------------------------------------------
def _participant(sb: Sandbox, c: Conversation, ref: str) -> Participant:
    for p in sb.state.participants.where("conversation_sid", c.sid):
        if ref in (p.sid, p.identity):
            return p
    raise not_found("Participant", ref)


@both("POST", "/Conversations/{ConversationSid}/Participants", 201)
async def create_participant(request: Request, ConversationSid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    form = await read_form(request)
    identity = form.get("Identity") or None
    address = form.get("MessagingBinding.Address") or None
    proxy = form.get("MessagingBinding.ProxyAddress") or None
    projected = form.get("MessagingBinding.ProjectedAddress") or None
    if identity and address:
        raise TwilioError(400, 50201, "Identity and MessagingBinding.Address cannot both be set")
    if not identity and not address and not projected:
        raise TwilioError(400, 50201, "Either Identity or MessagingBinding.Address is required")
    if address and not proxy:
        raise TwilioError(400, 50201, "MessagingBinding.ProxyAddress is required with MessagingBinding.Address")
    if address and proxy:
        if address == proxy:
            raise TwilioError(400, 50409, "Participant address and proxy address must differ")
        if address.split(":")[0] != proxy.split(":")[0] and (":" in address or ":" in proxy):
            raise TwilioError(400, 50414, "Participant address and proxy address must use the same channel")
        for p in sb.state.participants.where("address", address):
            other = sb.state.conversations.get(p.conversation_sid)
            if p.proxy_address == proxy and other and other.state != "closed":
                raise TwilioError(
                    409,
                    50416,
                    f"A binding for this participant and proxy address already exists in Conversation {other.sid}",
                )
    for p in sb.state.participants.where("conversation_sid", c.sid):
        if identity and p.identity == identity:
            raise TwilioError(409, 50433, f"Participant with identity {identity} already exists in {c.sid}")
        if address and p.address == address:
            raise TwilioError(409, 50416, f"Participant with address {address} already exists in {c.sid}")
    now = sb.now()
    p = Participant(
        sb.sids.new("MB"),
        c.sid,
        identity,
        _attributes(form) or "{}",
        now,
        now,
        address,
        proxy,
        projected,
        form.get("RoleSid"),
    )
    sb.state.participants[p.sid] = p
    enabled = _webhooks_enabled(request)
    logic.participant_added(sb, c, p, fire_service=enabled, fire_scoped=enabled)
    return participant_json(sb, p, service_sid, scoped)


@both("GET", "/Conversations/{ConversationSid}/Participants")
async def list_participants(request: Request, ConversationSid: str) -> dict[str, Any]:
    check_query(request)
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    items = [
        participant_json(sb, p, service_sid, scoped) for p in sb.state.participants.where("conversation_sid", c.sid)
    ]
    return page_v1(
        request,
        "conversations",
        f"{_base(service_sid, scoped)}/Conversations/{ConversationSid}/Participants",
        "participants",
        items,
    )


@both("GET", "/Conversations/{ConversationSid}/Participants/{Sid}")
async def fetch_participant(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    return participant_json(sb, _participant(sb, c, Sid), service_sid, scoped)


@both("POST", "/Conversations/{ConversationSid}/Participants/{Sid}")
async def update_participant(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    p = _participant(sb, c, Sid)
    form = await read_form(request)
    attrs = _attributes(form, None)
    if attrs is not None:
        p.attributes = attrs
    if form.has("Identity"):
        p.identity = form.get("Identity")
    if form.has("RoleSid"):
        p.role_sid = form.get("RoleSid")
    idx = form.int("LastReadMessageIndex", lo=0)
    if idx is not None:
        p.last_read_message_index = idx
    if form.has("LastReadTimestamp"):
        p.last_read_timestamp = form.get("LastReadTimestamp")
    p.date_updated = sb.now()
    return participant_json(sb, p, service_sid, scoped)


@both("DELETE", "/Conversations/{ConversationSid}/Participants/{Sid}", 204)
async def delete_participant(request: Request, ConversationSid: str, Sid: str) -> Response:
    sb, service_sid, _ = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    p = _participant(sb, c, Sid)
    del sb.state.participants[p.sid]
    return Response(status_code=204)


# --- messages -----------------------------------------------------------------------------------------------
@both("POST", "/Conversations/{ConversationSid}/Messages", 201)
async def create_message(request: Request, ConversationSid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    form = await read_form(request)
    content_sid = form.get("ContentSid") or None
    if content_sid and content_sid not in sb.state.templates:
        raise TwilioError(400, 21655, f"The ContentSid {content_sid} is invalid")
    if form.has("ContentVariables"):
        parse_json_object("ContentVariables", form.get("ContentVariables") or "")
    enabled = _webhooks_enabled(request)
    msg = logic.add_message(
        sb,
        c,
        author=form.get("Author") or "system",
        body=form.get("Body"),
        attributes=_attributes(form) or "{}",
        media_sids=form.getlist("MediaSid"),
        content_sid=content_sid,
        source="API",
        fire_service=enabled,
        fire_scoped=enabled or sb.seed.scoped_webhooks_fire_on_rest,
    )
    return message_json(sb, msg, service_sid, scoped)


@both("GET", "/Conversations/{ConversationSid}/Messages")
async def list_messages(request: Request, ConversationSid: str) -> dict[str, Any]:
    check_query(request)
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    order = request.query_params.get("Order", "asc")
    if order not in ("asc", "desc"):
        raise TwilioError(400, 20001, "Order must be asc or desc")
    msgs = sorted(
        sb.state.conv_messages.where("conversation_sid", c.sid),
        key=lambda m: m.index,
        reverse=order == "desc",
    )
    return page_v1(
        request,
        "conversations",
        f"{_base(service_sid, scoped)}/Conversations/{ConversationSid}/Messages",
        "messages",
        [message_json(sb, m, service_sid, scoped) for m in msgs],
    )


def _message(sb: Sandbox, c: Conversation, sid: str) -> ConvMessage:
    m = sb.state.conv_messages.get(sid)
    if m is None or m.conversation_sid != c.sid:
        raise not_found("Message", sid)
    return m


@both("GET", "/Conversations/{ConversationSid}/Messages/{Sid}")
async def fetch_message(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    return message_json(sb, _message(sb, c, Sid), service_sid, scoped)


@both("POST", "/Conversations/{ConversationSid}/Messages/{Sid}")
async def update_message(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    m = _message(sb, c, Sid)
    form = await read_form(request)
    if form.has("Body"):
        m.body = form.get("Body")
    if form.has("Author"):
        m.author = form.get("Author") or m.author
    attrs = _attributes(form, None)
    if attrs is not None:
        m.attributes = attrs
    m.date_updated = sb.now()
    return message_json(sb, m, service_sid, scoped)


@both("DELETE", "/Conversations/{ConversationSid}/Messages/{Sid}", 204)
async def delete_message(request: Request, ConversationSid: str, Sid: str) -> Response:
    sb, service_sid, _ = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    del sb.state.conv_messages[_message(sb, c, Sid).sid]
    return Response(status_code=204)


# --- conversation-scoped webhooks ---------------------------------------------------------------------------
MAX_SCOPED_WEBHOOKS = 5


def _apply_webhook_form(h: ScopedWebhook, form: Form) -> None:
    if form.has("Configuration.Url"):
        value = form.get("Configuration.Url") or None
        if value and not value.startswith(("http://", "https://")):
            raise TwilioError(400, 20001, f"Configuration.Url is not a valid URL: {value}")
        h.url = value
    method = form.get("Configuration.Method")
    if method is not None:
        if method.upper() not in ("GET", "POST"):
            raise TwilioError(400, 20001, "Configuration.Method must be GET or POST")
        h.method = method.upper()
    if form.has("Configuration.Filters"):
        h.filters = form.getlist("Configuration.Filters")
    if form.has("Configuration.Triggers"):
        h.triggers = form.getlist("Configuration.Triggers")
    if form.has("Configuration.FlowSid"):
        h.flow_sid = form.get("Configuration.FlowSid")


@both("POST", "/Conversations/{ConversationSid}/Webhooks", 201)
async def create_webhook(request: Request, ConversationSid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    form = await read_form(request)
    target = form.get("Target") or ""
    if target not in ("webhook", "trigger", "studio"):
        raise TwilioError(400, 20001, f"Invalid Target {target!r}")
    if len(sb.state.scoped_webhooks.where("conversation_sid", c.sid)) >= MAX_SCOPED_WEBHOOKS:
        raise TwilioError(400, 50518, f"Conversation {c.sid} already has {MAX_SCOPED_WEBHOOKS} webhooks")
    now = sb.now()
    h = ScopedWebhook(sb.sids.new("WH"), c.sid, target, None, "POST", [], [], None, now, now)
    _apply_webhook_form(h, form)
    if target in ("webhook", "trigger") and not h.url:
        raise TwilioError(400, 20001, "Configuration.Url is required for webhook targets")
    sb.state.scoped_webhooks[h.sid] = h
    return webhook_json(sb, h, service_sid, scoped)


@both("GET", "/Conversations/{ConversationSid}/Webhooks")
async def list_webhooks(request: Request, ConversationSid: str) -> dict[str, Any]:
    check_query(request)
    sb, service_sid, scoped = _service(request)
    c = _conv(sb, service_sid, ConversationSid)
    items = [
        webhook_json(sb, h, service_sid, scoped) for h in sb.state.scoped_webhooks.where("conversation_sid", c.sid)
    ]
    return page_v1(
        request,
        "conversations",
        f"{_base(service_sid, scoped)}/Conversations/{ConversationSid}/Webhooks",
        "webhooks",
        items,
    )


def _webhook(sb: Sandbox, c: Conversation, sid: str) -> ScopedWebhook:
    h = sb.state.scoped_webhooks.get(sid)
    if h is None or h.conversation_sid != c.sid:
        raise not_found("Webhook", sid)
    return h


@both("GET", "/Conversations/{ConversationSid}/Webhooks/{Sid}")
async def fetch_webhook(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    return webhook_json(sb, _webhook(sb, _conv(sb, service_sid, ConversationSid), Sid), service_sid, scoped)


@both("POST", "/Conversations/{ConversationSid}/Webhooks/{Sid}")
async def update_webhook(request: Request, ConversationSid: str, Sid: str) -> dict[str, Any]:
    sb, service_sid, scoped = _service(request)
    h = _webhook(sb, _conv(sb, service_sid, ConversationSid), Sid)
    _apply_webhook_form(h, await read_form(request))
    h.date_updated = sb.now()
    return webhook_json(sb, h, service_sid, scoped)


@both("DELETE", "/Conversations/{ConversationSid}/Webhooks/{Sid}", 204)
async def delete_webhook(request: Request, ConversationSid: str, Sid: str) -> Response:
    sb, service_sid, _ = _service(request)
    h = _webhook(sb, _conv(sb, service_sid, ConversationSid), Sid)
    del sb.state.scoped_webhooks[h.sid]
    return Response(status_code=204)


# --- service webhook configuration --------------------------------------------------------------------------
def _service_config_json(sb: Sandbox, service_sid: str) -> dict[str, Any]:
    s = sb.state.chat_services[service_sid]
    return {
        "account_sid": sb.state.account_sid,
        "chat_service_sid": s.sid,
        "pre_webhook_url": s.pre_webhook_url,
        "post_webhook_url": s.post_webhook_url,
        "filters": s.webhook_filters,
        "method": s.webhook_method,
        "url": url("conversations", f"/v1/Services/{s.sid}/Configuration/Webhooks"),
    }


@router.get("/v1/Services/{ChatServiceSid}/Configuration/Webhooks")
async def fetch_service_webhooks(request: Request, ChatServiceSid: str) -> dict[str, Any]:
    sb, service_sid, _ = _service(request)
    return _service_config_json(sb, service_sid)


@router.post("/v1/Services/{ChatServiceSid}/Configuration/Webhooks")
async def update_service_webhooks(request: Request, ChatServiceSid: str) -> dict[str, Any]:
    sb, service_sid, _ = _service(request)
    form = await read_form(request)
    s = sb.state.chat_services[service_sid]
    if form.has("PreWebhookUrl"):
        s.pre_webhook_url = form.get("PreWebhookUrl") or None
    if form.has("PostWebhookUrl"):
        s.post_webhook_url = form.get("PostWebhookUrl") or None
    if form.has("Filters"):
        s.webhook_filters = form.getlist("Filters")
    method = form.get("Method")
    if method is not None:
        if method.upper() not in ("GET", "POST"):
            raise TwilioError(400, 20001, "Method must be GET or POST")
        s.webhook_method = method.upper()
    return _service_config_json(sb, service_sid)
