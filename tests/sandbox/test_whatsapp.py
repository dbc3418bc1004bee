"""The simulated WhatsApp: inbound webhooks and media, the 24 h window, templates, media limits, status callbacks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.flow_helpers import route_inbound_to
from tests.sandbox.receiver import Receiver
from twilio_rest.hosts import to_sandbox_url

CONTACT = "+15551230002"


def _send_inbound(ctl: httpx.Client, seed: dict[str, Any], body: str = "hi", **extra: Any) -> dict[str, Any]:
    resp = ctl.post(
        f"/_sandbox/contacts/{CONTACT}/messages",
        json={"to": seed["whatsapp_numbers"][0], "body": body, "profile_name": "Ana", **extra},
    )
    resp.raise_for_status()
    out: dict[str, Any] = resp.json()
    return out


def _statuses(receiver: Receiver, sid: str, final: str) -> list[dict[str, str]]:
    receiver.wait_for(lambda r: r.params.get("MessageSid") == sid and r.params.get("MessageStatus") == final)
    return [r.params for r in receiver.of("/status") if r.params.get("MessageSid") == sid]


def _send(client: Client, seed: dict[str, Any], receiver: Receiver, **kw: Any) -> Any:
    return client.messages.create(
        to=f"whatsapp:{CONTACT}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        status_callback=receiver.url("/status"),
        **kw,
    )


def test_inbound_message_webhook_is_signed_and_complete(
    ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    route_inbound_to(ctl, seed, receiver.url("/wa?org=acme"))
    out = _send_inbound(ctl, seed, "photo", media=[{"content_type": "image/jpeg", "size": 20000, "filename": "a.jpg"}])
    assert out["webhook_status"] == 204
    assert out["message_sid"].startswith("MM")
    hook = receiver.of("/wa")[0]
    assert hook.signature_valid and "?org=acme" in hook.url
    p = hook.params
    assert p["From"] == f"whatsapp:{CONTACT}" and p["To"] == f"whatsapp:{seed['whatsapp_numbers'][0]}"
    assert p["MessageSid"] == p["SmsMessageSid"] == out["message_sid"]
    assert (p["NumMedia"], p["ProfileName"], p["WaId"], p["AccountSid"]) == (
        "1",
        "Ana",
        CONTACT[1:],
        seed["account_sid"],
    )
    assert p["MediaContentType0"] == "image/jpeg"
    media_url = to_sandbox_url(p["MediaUrl0"], ctl.base_url.__str__())
    assert httpx.get(media_url).status_code == 401
    got = httpx.get(media_url, auth=(seed["account_sid"], seed["auth_token"]))
    assert got.status_code == 200 and len(got.content) == 20000
    assert got.headers["content-type"] == "image/jpeg" and got.content[:3] == b"\xff\xd8\xff"


def test_inbound_webhook_failure_is_reported_not_retried(
    ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    route_inbound_to(ctl, seed, receiver.url("/wa"))
    receiver.status_for = lambda path: 500
    assert _send_inbound(ctl, seed)["webhook_status"] == 500
    assert len(receiver.of("/wa")) == 1
    # A connection override asks for retries on 5xx, as Twilio honours it.
    route_inbound_to(ctl, seed, receiver.url("/wa2#rc=2&rp=5xx"))
    assert _send_inbound(ctl, seed)["webhook_status"] == 500
    tries = receiver.of("/wa2")
    assert len(tries) == 3 and all(t.signature_valid for t in tries)
    assert len({t.headers["i-twilio-idempotency-token"] for t in tries}) == 1


def test_window_open_at_23h59_closed_at_24h01_templates_pass(
    twilio_client: Client, ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    _send_inbound(ctl, seed)
    ctl.post("/_sandbox/clock/advance", json={"seconds": 23 * 3600 + 59 * 60}).raise_for_status()
    ok = _send(twilio_client, seed, receiver, body="still within the window")
    assert ok.status == "queued"
    assert [s["MessageStatus"] for s in _statuses(receiver, ok.sid, "delivered")] == ["queued", "sent", "delivered"]

    ctl.post("/_sandbox/clock/advance", json={"seconds": 2 * 60}).raise_for_status()
    late = _send(twilio_client, seed, receiver, body="too late")
    statuses = _statuses(receiver, late.sid, "failed")
    assert statuses[-1]["ErrorCode"] == "63016"
    assert all(r.signature_valid for r in receiver.of("/status"))
    assert twilio_client.messages(late.sid).fetch().error_code == 63016

    tpl = _send(
        twilio_client,
        seed,
        receiver,
        content_sid=seed["templates"]["order_update"],
        content_variables=json.dumps({"1": "Ana", "2": "42"}),
    )
    _statuses(receiver, tpl.sid, "delivered")
    inbox = ctl.get(f"/_sandbox/contacts/{CONTACT}/inbox").json()["messages"]
    by_sid = {m["sid"]: m for m in inbox}
    assert by_sid[ok.sid]["status"] == "delivered"
    assert (by_sid[late.sid]["status"], by_sid[late.sid]["error_code"]) == ("failed", 63016)
    assert by_sid[tpl.sid]["rendered_body"] == "Hi Ana, your order 42 has shipped."


def test_free_form_without_any_inbound_fails(twilio_client: Client, seed: dict[str, Any], receiver: Receiver) -> None:
    msg = _send(twilio_client, seed, receiver, body="cold message")
    assert _statuses(receiver, msg.sid, "failed")[-1]["ErrorCode"] == "63016"


def _upload(ctl: httpx.Client, seed: dict[str, Any], ctype: str, size: int) -> str:
    resp = ctl.post(
        f"/mcs/v1/Services/{seed['conversations_service_sid']}/Media",
        content=b"x" * size,
        headers={"Content-Type": ctype},
        auth=(seed["account_sid"], seed["auth_token"]),
    )
    assert resp.status_code == 201, resp.text
    media = resp.json()
    assert media["sid"].startswith("ME") and media["size"] == size
    url: str = media["links"]["content_direct_temporary"]
    return url


@pytest.mark.parametrize(
    ("ctype", "size", "code"),
    [
        ("image/jpeg", 1_000_000, None),
        ("image/jpeg", 6 * 1024 * 1024, "63034"),
        ("image/jpeg", 17 * 1024 * 1024, "11751"),
        ("application/zip", 1000, "63021"),
        ("image/webp", 600 * 1024, "63034"),
        ("application/pdf", 2_000_000, None),
        ("application/pdf", 17 * 1024 * 1024, "11751"),
        ("video/mp4", 17 * 1024 * 1024, "11751"),
    ],
)
def test_outbound_media_rules(
    twilio_client: Client,
    ctl: httpx.Client,
    seed: dict[str, Any],
    receiver: Receiver,
    ctype: str,
    size: int,
    code: str | None,
) -> None:
    _send_inbound(ctl, seed)
    media_url = _upload(ctl, seed, ctype, size)
    assert httpx.get(to_sandbox_url(media_url, str(ctl.base_url))).content == b"x" * size
    msg = _send(twilio_client, seed, receiver, media_url=[media_url])
    assert msg.sid.startswith("MM")
    final = _statuses(receiver, msg.sid, "failed" if code else "delivered")[-1]
    assert final.get("ErrorCode") == code
    if code:
        assert final["ErrorMessage"] and twilio_client.messages(msg.sid).fetch().error_code == int(code)


def test_rest_validation_errors(twilio_client: Client, ctl: httpx.Client, seed: dict[str, Any]) -> None:
    frm = f"whatsapp:{seed['whatsapp_numbers'][0]}"
    with pytest.raises(TwilioRestException) as unknown:
        twilio_client.messages.create(to=f"whatsapp:{CONTACT}", from_=frm, content_sid="HX" + "0" * 32)
    assert (unknown.value.status, unknown.value.code) == (400, 21655)
    with pytest.raises(TwilioRestException) as no_body:
        twilio_client.messages.create(to=f"whatsapp:{CONTACT}", from_=frm)
    assert no_body.value.code == 21602
    with pytest.raises(TwilioRestException) as bad_from:
        twilio_client.messages.create(to=f"whatsapp:{CONTACT}", from_="whatsapp:+15550000000", body="x")
    assert bad_from.value.code == 63007
    auth = (seed["account_sid"], seed["auth_token"])
    path = f"/api/2010-04-01/Accounts/{seed['account_sid']}/Messages.json"
    no_to = ctl.post(path, data={"From": frm, "Body": "x"}, auth=auth)
    assert (no_to.status_code, no_to.json()["code"]) == (400, 21604)
    no_from = ctl.post(path, data={"To": f"whatsapp:{CONTACT}", "Body": "x"}, auth=auth)
    assert (no_from.status_code, no_from.json()["code"]) == (400, 21603)
    only_empty = ctl.post(path, data={"To": f"whatsapp:{CONTACT}", "From": frm, "Body": ""}, auth=auth)
    assert only_empty.json()["code"] == 21602
    since = ctl.get("/_sandbox/clock").json()["now"]
    sent = twilio_client.messages.create(to=f"whatsapp:{CONTACT}", from_=frm, body="x")
    start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    listed = twilio_client.messages.list(to=f"whatsapp:{CONTACT}", date_sent_after=start - timedelta(minutes=1))
    assert [m.sid for m in listed] == [sent.sid]
    assert twilio_client.messages.list(to=f"whatsapp:{CONTACT}", date_sent_after=start + timedelta(days=1)) == []
    bad_date = ctl.get(path, params={"DateSent>": "yesterday"}, auth=auth)
    assert bad_date.status_code == 400
    bad_vars = ctl.post(
        path,
        data={
            "From": frm,
            "To": f"whatsapp:{CONTACT}",
            "ContentSid": seed["templates"]["order_update"],
            "ContentVariables": "{nope",
        },
        auth=auth,
    )
    assert bad_vars.json()["code"] == 21656


def test_unreachable_contact_gets_undelivered(
    twilio_client: Client, ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    _send_inbound(ctl, seed)
    ctl.post(f"/_sandbox/contacts/{CONTACT}/reachability", json={"unreachable": True}).raise_for_status()
    msg = _send(twilio_client, seed, receiver, body="are you there?")
    statuses = _statuses(receiver, msg.sid, "undelivered")
    assert [s["MessageStatus"] for s in statuses] == ["queued", "sent", "undelivered"]
    assert statuses[-1]["ErrorCode"] == "63024"
    inbox = ctl.get(f"/_sandbox/contacts/{CONTACT}/inbox").json()["messages"]
    assert (inbox[-1]["status"], inbox[-1]["error_code"]) == ("undelivered", 63024)
