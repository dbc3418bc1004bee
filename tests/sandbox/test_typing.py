"""The WhatsApp typing indicator, v2 (form) and v3 (JSON) through the official client: 200 {"success": true}, the
inbound message marked read, the indicator shown until the reply is delivered or 25 s pass, all in the record
and in `GET /_sandbox/contacts/{c}/typing`; bad input refused and nothing recorded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.messaging.v3.typing_indicator import TypingIndicatorList

from tests.sandbox.receiver import Receiver
from tests.sandbox.record_helpers import record, wait_for_record

CONTACT = "+15551230077"


def _inbound(ctl: httpx.Client, seed: dict[str, Any], body: str = "hola") -> str:
    out = ctl.post(f"/_sandbox/contacts/{CONTACT}/messages", json={"to": seed["whatsapp_numbers"][0], "body": body})
    out.raise_for_status()
    sid: str = out.json()["message_sid"]
    return sid


def _typing(ctl: httpx.Client) -> dict[str, Any]:
    view: dict[str, Any] = ctl.get(f"/_sandbox/contacts/{CONTACT}/typing").json()
    return view


def test_v2_shows_typing_marks_read_and_ends_when_the_reply_is_delivered(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    sm = _inbound(ctl, seed)
    result = twilio_client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=sm)
    assert result.success is True
    shown = record(ctl, "whatsapp.typing")
    assert [(e["message_sid"], e["api"], e["window_open"], e["contact"]) for e in shown] == [(sm, "v2", True, CONTACT)]
    assert [e["message_sid"] for e in record(ctl, "whatsapp.inbound_read")] == [sm]
    chat = _typing(ctl)["chats"][0]
    assert chat["typing"] is True and chat["message_sid"] == sm and _typing(ctl)["read_inbound"] == [sm]
    reply = twilio_client.messages.create(
        to=f"whatsapp:{CONTACT}", from_=f"whatsapp:{seed['whatsapp_numbers'][0]}", body="¡Hola!"
    )
    ended = wait_for_record(ctl, "whatsapp.typing.ended")
    assert (ended["reason"], ended["reply_sid"], ended["message_sid"]) == ("reply", reply.sid, sm)
    chat = _typing(ctl)["chats"][0]
    assert chat["typing"] is False and chat["ended_by"] == "reply"


def test_v3_indicator_disappears_after_25_seconds(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    sm = _inbound(ctl, seed)
    request = TypingIndicatorList.TypingIndicatorRequest({"channel": "WHATSAPP", "messageId": sm})
    assert twilio_client.messaging.v3.typing_indicator.create(request).success is True
    ctl.post("/_sandbox/clock/advance", json={"seconds": 24}).raise_for_status()
    assert _typing(ctl)["chats"][0]["typing"] is True
    ctl.post("/_sandbox/clock/advance", json={"seconds": 1}).raise_for_status()
    chat = _typing(ctl)["chats"][0]
    assert (chat["typing"], chat["ended_by"], chat["api"]) == (False, "timeout", "v3")
    assert [e["reason"] for e in record(ctl, "whatsapp.typing.ended")] == ["timeout"]


def test_a_second_call_restarts_the_25_seconds_and_outside_the_window_is_recorded(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    first = _inbound(ctl, seed, "one")
    twilio_client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=first)
    ctl.post("/_sandbox/clock/advance", json={"seconds": 20}).raise_for_status()
    second = _inbound(ctl, seed, "two")
    twilio_client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=second)
    ctl.post("/_sandbox/clock/advance", json={"seconds": 20}).raise_for_status()
    chat = _typing(ctl)["chats"][0]
    assert chat["typing"] is True and chat["message_sid"] == second
    assert record(ctl, "whatsapp.typing")[-1]["replaces"] == first
    ctl.post("/_sandbox/clock/advance", json={"seconds": 25 * 3600}).raise_for_status()
    twilio_client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=second)
    assert record(ctl, "whatsapp.typing")[-1]["window_open"] is False


@pytest.mark.parametrize(
    ("version", "payload", "status"),
    [
        ("v2", {"channel": "whatsapp", "messageId": "IM" + "0" * 32}, 400),
        ("v2", {"channel": "sms", "messageId": "<inbound>"}, 400),
        ("v2", {"channel": "whatsapp"}, 400),
        ("v2", {"channel": "whatsapp", "messageId": "<outbound>"}, 400),
        ("v2", {"channel": "whatsapp", "messageId": "SM" + "0" * 32}, 404),
        ("v3", {"channel": "whatsapp", "messageId": "<inbound>"}, 400),
        ("v3", {"channel": "APPLE", "from": "apple:x", "to": "apple:urn:mbid:y"}, 400),
        ("v3", {"channel": "WHATSAPP", "messageId": "<inbound>", "event": "START"}, 400),
        ("v3", {"channel": "WHATSAPP", "messageId": "MM12"}, 400),
    ],
)
def test_bad_typing_requests_are_refused_and_change_nothing(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, version: str, payload: dict[str, str], status: int
) -> None:
    sids = {"<inbound>": _inbound(ctl, seed)}
    sids["<outbound>"] = twilio_client.messages.create(
        to=f"whatsapp:{CONTACT}", from_=f"whatsapp:{seed['whatsapp_numbers'][0]}", body="x"
    ).sid
    body = {k: sids.get(v, v) for k, v in payload.items()}
    auth = (seed["account_sid"], seed["auth_token"])
    path = f"/messaging/{version}/Indicators/Typing.json"
    answer = ctl.post(path, data=body, auth=auth) if version == "v2" else ctl.post(path, json=body, auth=auth)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"code", "message", "more_info", "status"} and answer.json()["status"] == status
    assert record(ctl, "whatsapp.typing") == [] and _typing(ctl)["read_inbound"] == []
