"""Content API through the official client: quick-reply content created and validated, submitted for WhatsApp
approval and decided; sent through Messages it shows buttons on the contact's phone, and a tap comes back as
Twilio sends it (ButtonPayload, ButtonText, Body)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from tests.sandbox.exercises import CSAT_TYPES, create_csat_content
from tests.sandbox.flow_helpers import route_inbound_to
from tests.sandbox.receiver import Receiver
from tests.sandbox.record_helpers import record

CONTACT = "+15551230055"


def _approve(client: Client, ctl: httpx.Client, sid: str, name: str = "csat_rating") -> None:
    client.content.v1.contents(sid).approval_create.create(
        ApprovalCreateList.ContentApprovalRequest({"name": name, "category": "UTILITY"})
    )
    ctl.post(f"/_sandbox/content/{sid}/approval", json={"status": "approved"}).raise_for_status()


def _send(client: Client, seed: dict[str, Any], receiver: Receiver, content_sid: str) -> Any:
    return client.messages.create(
        to=f"whatsapp:{CONTACT}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        content_sid=content_sid,
        content_variables=json.dumps({"1": "Ana"}),
        status_callback=receiver.url("/status"),
    )


def _final(receiver: Receiver, sid: str) -> dict[str, str]:
    hit = receiver.wait_for(
        lambda r: r.params.get("MessageSid") == sid and r.params.get("MessageStatus") in ("delivered", "failed")
    )
    return hit.params


def _contact_writes(ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver) -> None:
    route_inbound_to(ctl, seed, receiver.url("/wa"))
    ctl.post(f"/_sandbox/contacts/{CONTACT}/messages", json={"to": seed["whatsapp_numbers"][0], "body": "hi"})


def test_create_fetch_submit_and_decide(twilio_client: Client, ctl: httpx.Client) -> None:
    content = create_csat_content(twilio_client)
    fetched = twilio_client.content.v1.contents(content.sid).fetch()
    assert fetched.types["twilio/quick-reply"] == CSAT_TYPES["twilio/quick-reply"] and fetched.language == "en"
    assert content.sid in {c.sid for c in twilio_client.content.v1.contents.list()}
    approvals = twilio_client.content.v1.contents(content.sid).approval_fetch()
    assert approvals.fetch().whatsapp["status"] == "unsubmitted"
    submitted = twilio_client.content.v1.contents(content.sid).approval_create.create(
        ApprovalCreateList.ContentApprovalRequest({"name": "csat_rating", "category": "UTILITY"})
    )
    assert (submitted.status, submitted.content_type, submitted.name) == (
        "received",
        "twilio/quick-reply",
        "csat_rating",
    )
    with pytest.raises(TwilioRestException) as again:
        twilio_client.content.v1.contents(content.sid).approval_create.create(
            ApprovalCreateList.ContentApprovalRequest({"name": "csat_rating", "category": "UTILITY"})
        )
    assert again.value.status == 400
    assert ctl.post(f"/_sandbox/content/{content.sid}/approval", json={"status": "rejected"}).status_code == 400
    decided = ctl.post(f"/_sandbox/content/{content.sid}/approval", json={"status": "approved"}).json()
    assert decided["status"] == "approved" and approvals.fetch().whatsapp["status"] == "approved"
    assert [e["status"] for e in record(ctl, "content.approval")] == ["received", "approved"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"title": "x" * 21}, "at most 20"),
        ({"id": "y" * 201}, "at most 200"),
        ({"payload": "p"}, "unknown field"),
        ({"type": "URL"}, "QUICK_REPLY"),
    ],
)
def test_quick_reply_buttons_are_validated(
    seed: dict[str, Any], ctl: httpx.Client, change: dict[str, str], fragment: str
) -> None:
    action = {"type": "QUICK_REPLY", "title": "Yes", "id": "yes", **change}
    body = {"language": "en", "types": {"twilio/quick-reply": {"body": "Talk to a person?", "actions": [action]}}}
    answer = ctl.post("/content/v1/Content", json=body, auth=(seed["account_sid"], seed["auth_token"]))
    assert answer.status_code == 400 and fragment in answer.json()["message"], answer.text
    assert record(ctl, "content.created") == []


def test_content_bodies_that_are_refused(seed: dict[str, Any], ctl: httpx.Client) -> None:
    auth = (seed["account_sid"], seed["auth_token"])
    eleven = [{"title": f"b{i}", "id": f"b{i}"} for i in range(11)]
    for body in (
        {"language": "en", "types": {"twilio/quick-reply": {"body": "Pick", "actions": eleven}}},
        {"language": "en", "types": {"twilio/quick-reply": {"body": "x" * 1025, "actions": eleven[:1]}}},
        {"language": "en", "types": {"twilio/card": {"title": "t"}}},
        {"types": {"twilio/text": {"body": "no language"}}},
        {"language": "en", "types": {}},
    ):
        answer = ctl.post("/content/v1/Content", json=body, auth=auth)
        assert answer.status_code == 400, body
    assert ctl.post("/content/v1/Content", data={"language": "en"}, auth=auth).status_code == 400


def _ask_approval_of_new_content(
    ctl: httpx.Client, auth: tuple[str, str], content: dict[str, Any], name: str
) -> httpx.Response:
    """Creates the content and asks WhatsApp to approve it as a UTILITY template called `name`."""
    sid = ctl.post("/content/v1/Content", json=content, auth=auth).json()["sid"]
    return ctl.post(
        f"/content/v1/Content/{sid}/ApprovalRequests/whatsapp", json={"name": name, "category": "UTILITY"}, auth=auth
    )


def test_approval_requests_that_are_refused_or_rejected(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    auth = (seed["account_sid"], seed["auth_token"])
    content = create_csat_content(twilio_client)
    path = f"/content/v1/Content/{content.sid}/ApprovalRequests/whatsapp"
    for body in (
        {"name": "CSAT Rating", "category": "UTILITY"},
        {"name": "csat", "category": "PROMO"},
        {"name": "csat"},
    ):
        assert ctl.post(path, json=body, auth=auth).status_code == 400, body
    picker = {
        "language": "en",
        "types": {"twilio/list-picker": {"body": "Topic?", "button": "Topics", "items": [{"id": "a", "item": "A"}]}},
    }
    refused = _ask_approval_of_new_content(ctl, auth, picker, "menu")
    assert refused.status_code == 400 and "list-picker" in refused.json()["message"]
    ends_with_variable = {
        "language": "en",
        "variables": {"1": "Ana"},
        "types": {"twilio/text": {"body": "Thanks {{1}}"}},
    }
    rejected = _ask_approval_of_new_content(ctl, auth, ends_with_variable, "thanks")
    assert rejected.status_code == 201
    assert rejected.json()["status"] == "rejected" and "INVALID_FORMAT" in rejected.json()["rejection_reason"]


def test_quick_reply_in_session_and_a_tap(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    _contact_writes(ctl, seed, receiver)
    content = create_csat_content(twilio_client)
    sent = _send(twilio_client, seed, receiver, content.sid)
    assert _final(receiver, sent.sid)["MessageStatus"] == "delivered"
    shown = ctl.get(f"/_sandbox/contacts/{CONTACT}/inbox").json()["messages"][-1]
    assert (shown["content_type"], shown["body"]) == ("twilio/quick-reply", "Hi Ana, how did we do?")
    assert [a["title"] for a in shown["actions"]] == ["Great", "OK", "Bad"]
    tapped = ctl.post(f"/_sandbox/contacts/{CONTACT}/tap", json={"button": 2})
    assert tapped.status_code == 200, tapped.text
    hook = receiver.wait_for(lambda r: r.path == "/wa" and r.params.get("ButtonPayload") == "csat_3")
    p = hook.params
    assert hook.signature_valid
    assert (p["ButtonText"], p["Body"], p["MessageType"]) == ("OK", "OK", "interactive")
    assert (p["OriginalRepliedMessageSid"], p["From"]) == (sent.sid, f"whatsapp:{CONTACT}")
    assert p["MessageSid"] == tapped.json()["message_sid"]
    entry = record(ctl, "contact.sent")[-1]
    assert entry["button"] == {"index": 2, "id": "csat_3", "title": "OK"} and entry["replied_to"] == sent.sid


def test_quick_reply_rules_with_and_without_approval(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    auth = (seed["account_sid"], seed["auth_token"])
    four = [{"type": "QUICK_REPLY", "title": f"{n}", "id": f"r{n}"} for n in range(1, 5)]
    big = ctl.post(
        "/content/v1/Content",
        json={"language": "en", "types": {"twilio/quick-reply": {"body": "Rate 1-4", "actions": four}}},
        auth=auth,
    ).json()
    _contact_writes(ctl, seed, receiver)
    in_session = _send(twilio_client, seed, receiver, big["sid"])
    assert _final(receiver, in_session.sid)["ErrorCode"] == "63021"
    content = create_csat_content(twilio_client)
    ctl.post("/_sandbox/clock/advance", json={"seconds": 25 * 3600}).raise_for_status()
    closed = _send(twilio_client, seed, receiver, content.sid)
    assert _final(receiver, closed.sid)["ErrorCode"] == "63016"
    _approve(twilio_client, ctl, content.sid)
    template = _send(twilio_client, seed, receiver, content.sid)
    assert _final(receiver, template.sid)["MessageStatus"] == "delivered"
    ctl.post(f"/_sandbox/contacts/{CONTACT}/tap", json={"button": 1, "message_sid": template.sid}).raise_for_status()
    hook = receiver.wait_for(lambda r: r.path == "/wa" and r.params.get("ButtonPayload") == "csat_5")
    assert hook.params["MessageType"] == "button"


def test_taps_that_cannot_happen(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client, receiver: Receiver
) -> None:
    _contact_writes(ctl, seed, receiver)
    assert ctl.post(f"/_sandbox/contacts/{CONTACT}/tap", json={"button": 1}).status_code == 404
    sent = _send(twilio_client, seed, receiver, create_csat_content(twilio_client).sid)
    _final(receiver, sent.sid)
    assert ctl.post(f"/_sandbox/contacts/{CONTACT}/tap", json={"button": 4}).status_code == 400
    assert ctl.post(f"/_sandbox/contacts/{CONTACT}/tap", json={"button": 0}).status_code == 400
    assert [e for e in record(ctl, "contact.sent") if e.get("button")] == []
