"""WhatsApp username users (business-scoped user IDs): a username-only contact's inbound webhooks carry
`From=whatsapp:<BSUID>`, `ExternalUserId`, `ParentExternalUserId`, `ProfileUsername` [obs]; a contact known by
phone can later present a BSUID and stays one contact (one window, one inbox); sends `To=whatsapp:<BSUID>` reach a
known contact (assumed) and name an unknown one invalid (21211)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.flow_helpers import route_inbound_to
from tests.sandbox.receiver import Receiver
from tests.sandbox.record_helpers import record

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.99887766"
PHONE = "+15551230066"


def _route(ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver) -> None:
    route_inbound_to(ctl, seed, receiver.url("/wa"))


def _write(ctl: httpx.Client, seed: dict[str, Any], contact: str, body: str) -> dict[str, Any]:
    answer = ctl.post(
        f"/_sandbox/contacts/{contact}/messages",
        json={"to": seed["whatsapp_numbers"][0], "body": body, "profile_name": "Ana"},
    )
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def _hook(receiver: Receiver, message_sid: str) -> dict[str, str]:
    return receiver.wait_for(lambda r: r.path == "/wa" and r.params.get("MessageSid") == message_sid).params


def _send(client: Client, seed: dict[str, Any], receiver: Receiver, to: str, body: str) -> dict[str, str]:
    msg = client.messages.create(
        to=f"whatsapp:{to}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        body=body,
        status_callback=receiver.url("/st"),
    )
    return receiver.wait_for(
        lambda r: r.params.get("MessageSid") == msg.sid and r.params.get("MessageStatus") in ("delivered", "failed")
    ).params


def test_a_username_only_contact(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    _route(ctl, seed, receiver)
    ident = ctl.post(
        f"/_sandbox/contacts/{BSUID}/identity",
        json={"parent_bsuid": PARENT, "username": "ana.g", "phone_visible": False},
    )
    assert ident.status_code == 200, ident.text
    assert ident.json()["inbound_from"] == f"whatsapp:{BSUID}" and ident.json()["phone"] is None
    p = _hook(receiver, _write(ctl, seed, BSUID, "hola")["message_sid"])
    assert (p["From"], p["ExternalUserId"], p["ParentExternalUserId"], p["ProfileUsername"]) == (
        f"whatsapp:{BSUID}",
        BSUID,
        PARENT,
        "ana.g",
    )
    assert "WaId" not in p and p["ProfileName"] == "Ana"
    status = _send(twilio_client, seed, receiver, BSUID, "¡Hola, Ana!")
    assert (status["MessageStatus"], status["To"]) == ("delivered", f"whatsapp:{BSUID}")
    inbox = ctl.get(f"/_sandbox/contacts/{BSUID}/inbox").json()["messages"]
    assert [m["body"] for m in inbox] == ["¡Hola, Ana!"]
    # The window is the contact's: 24 h later a free-form send to the BSUID fails like any other.
    ctl.post("/_sandbox/clock/advance", json={"seconds": 24 * 3600 + 60}).raise_for_status()
    assert _send(twilio_client, seed, receiver, BSUID, "late")["ErrorCode"] == "63016"


def test_a_phone_contact_later_presents_a_bsuid_and_stays_one_contact(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    _route(ctl, seed, receiver)
    first = _hook(receiver, _write(ctl, seed, PHONE, "by phone")["message_sid"])
    assert (first["From"], first["WaId"]) == (f"whatsapp:{PHONE}", PHONE[1:]) and "ExternalUserId" not in first
    ctl.post(f"/_sandbox/contacts/{PHONE}/identity", json={"bsuid": BSUID}).raise_for_status()
    both = _hook(receiver, _write(ctl, seed, PHONE, "with a bsuid")["message_sid"])
    assert (both["From"], both["WaId"], both["ExternalUserId"]) == (f"whatsapp:{PHONE}", PHONE[1:], BSUID)
    ctl.post(
        f"/_sandbox/contacts/{BSUID}/identity", json={"username": "ana.g", "phone_visible": False}
    ).raise_for_status()
    hidden = _write(ctl, seed, BSUID, "number hidden")
    p = _hook(receiver, hidden["message_sid"])
    assert (p["From"], p["ExternalUserId"], p["ProfileUsername"]) == (f"whatsapp:{BSUID}", BSUID, "ana.g")
    assert "WaId" not in p
    # One contact: a send to either address lands in the same inbox, inside the same window.
    assert _send(twilio_client, seed, receiver, PHONE, "to the phone")["MessageStatus"] == "delivered"
    assert _send(twilio_client, seed, receiver, BSUID, "to the bsuid")["MessageStatus"] == "delivered"
    by_phone = ctl.get(f"/_sandbox/contacts/{PHONE}/inbox").json()["messages"]
    assert [m["body"] for m in by_phone] == ["to the phone", "to the bsuid"]
    assert by_phone == ctl.get(f"/_sandbox/contacts/{BSUID}/inbox").json()["messages"]
    # The typing indicator on the BSUID-addressed message shows in the contact's one chat.
    twilio_client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=hidden["message_sid"])
    assert ctl.get(f"/_sandbox/contacts/{PHONE}/typing").json()["chats"][0]["message_sid"] == hidden["message_sid"]
    assert {e["contact"] for e in record(ctl, "contact.sent")} == {PHONE}


def test_unknown_or_parent_bsuids_are_not_recipients(twilio_client: Client, seed: dict[str, Any]) -> None:
    for to in (BSUID, PARENT, "US-123"):
        with pytest.raises(TwilioRestException) as refused:
            twilio_client.messages.create(
                to=f"whatsapp:{to}", from_=f"whatsapp:{seed['whatsapp_numbers'][0]}", body="x"
            )
        assert (refused.value.status, refused.value.code) == (400, 21211), to


def test_identity_changes_that_are_refused(ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post(f"/_sandbox/contacts/{PHONE}/identity", json={"bsuid": BSUID}).raise_for_status()
    for contact, body, status in [
        ("+15551230067", {"bsuid": BSUID}, 409),
        (PHONE, {"bsuid": "13491208655302741918"}, 400),
        (PHONE, {"bsuid": PARENT}, 400),
        (PHONE, {"parent_bsuid": BSUID}, 400),
        ("+15551230068", {"phone_visible": False}, 400),
        ("US.555", {"phone_visible": True}, 400),
        ("not-an-address", {}, 400),
    ]:
        answer = ctl.post(f"/_sandbox/contacts/{contact}/identity", json=body)
        assert answer.status_code == status, (contact, body, answer.text)
    assert ctl.get(f"/_sandbox/contacts/{PHONE}/identity").json()["bsuid"] == BSUID
    assert ctl.get("/_sandbox/contacts/+15551230067/identity").json()["bsuid"] is None
