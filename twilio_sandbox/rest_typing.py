"""Messaging (`messaging.twilio.com`) under `/messaging`: the WhatsApp typing indicator, v2 (form, the version
Twilio's docs page describes) and v3 (JSON, in the OpenAPI documents and the 9.13 client). Both answer
`{"success": true}`; what the contact's phone shows is in `typing_indicator.py`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from twilio_sandbox import typing_indicator
from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import get_sb
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.forms import read_form, read_json

router = APIRouter(prefix="/messaging", dependencies=[Depends(require_auth)])
V3_WHATSAPP_KEYS = {"channel", "messageId"}


@router.post("/v2/Indicators/Typing.json")
async def typing_v2(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    form = await read_form(request)
    if form.get("channel") != "whatsapp":
        raise TwilioError(400, 20001, f"channel must be whatsapp, not {form.get('channel')!r}")
    typing_indicator.show(sb, form.get("messageId") or "", api="v2")
    return {"success": True}


@router.post("/v3/Indicators/Typing.json")
async def typing_v3(request: Request) -> dict[str, Any]:
    sb = get_sb(request)
    body = await read_json(request)
    channel = body.get("channel")
    if channel == "APPLE":
        raise TwilioError(400, 20001, "channel APPLE (Apple Messages for Business) is not emulated by this sandbox")
    if channel != "WHATSAPP":
        raise TwilioError(400, 20001, f"channel must be WHATSAPP or APPLE, not {channel!r}")
    extra = sorted(set(body) - V3_WHATSAPP_KEYS)
    if extra:
        raise TwilioError(400, 20001, f"Unknown field(s) for a WHATSAPP typing indicator: {', '.join(extra)}")
    message_id = body.get("messageId")
    if not isinstance(message_id, str):
        raise TwilioError(400, 20001, "messageId is required")
    typing_indicator.show(sb, message_id, api="v3")
    return {"success": True}
