"""Decision logic of the handoff and send activities against a fake HTTP layer (sandbox-independent)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.twilio_activities import TwilioActivities
from contracts.activities import (
    AcceptAiReservationInput,
    CopyContactMediaInput,
    HandToHumansInput,
    PostToFlexInput,
    SendWhatsAppInput,
)
from tests.activities.fakes import ACCOUNT, SERVICE, WORKFLOW, WORKSPACE, Call, FakeClients, FakeHttp

KD, UO, UT = "KD" + "1" * 32, "UO" + "2" * 32, "UT" + "3" * 32
WT, WR, WK = "WT" + "4" * 32, "WR" + "5" * 32, "WK" + "6" * 32
CH = "CH" + "7" * 32
CHANNEL = f"/v1/Interactions/{KD}/Channels/{UO}"
RES = f"/v1/Workspaces/{WORKSPACE}/Tasks/{WT}/Reservations/{WR}"
TASKS = f"/v1/Workspaces/{WORKSPACE}/Tasks"


def page(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: items, "meta": {"key": key, "page": 0, "page_size": 50, "next_page_url": None}}


def ok(body: Any) -> Any:
    return lambda call: (200, body, {})


def recording(into: list[Call], status: int, make: Any) -> Any:
    """A handler that records the call and answers `make(n)` (n = calls so far)."""

    def handle(call: Call) -> tuple[int, Any, dict[str, str]]:
        into.append(call)
        return status, make(len(into)), {}

    return handle


class Flex:
    """Just enough of TaskRouter + Interactions for hand_to_humans."""

    def __init__(self, reservation_status: str) -> None:
        self.reservation_status = reservation_status
        self.invites: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self.http = FakeHttp()
        r = self.http.routes
        r[("GET", RES)] = lambda c: (200, self.reservation(), {})
        r[("POST", RES)] = self.update_reservation
        r[("GET", f"{CHANNEL}/Invites")] = lambda c: (200, page("invites", self.invites), {})
        r[("POST", f"{CHANNEL}/Invites")] = self.invite
        r[("GET", TASKS)] = ok(page("tasks", []))
        r[("GET", f"{CHANNEL}/Participants")] = ok(
            page("participants", [{"sid": UT, "type": "agent", "routing_properties": {"task_sid": WT}}])
        )
        r[("POST", f"{CHANNEL}/Participants/{UT}")] = self.close

    def reservation(self) -> dict[str, Any]:
        return {"sid": WR, "task_sid": WT, "worker_sid": WK, "reservation_status": self.reservation_status}

    def update_reservation(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        self.reservation_status = str(call.data["ReservationStatus"])
        return 200, self.reservation(), {}

    def invite(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        routing = json.loads(str(call.data["Routing"]))
        props = {**routing["properties"], "sid": "WT" + f"{len(self.invites) + 10:032d}"}
        invite = {"sid": "KG" + f"{len(self.invites):032d}", "routing": {"properties": props}}
        self.invites.append(invite)
        return 200, invite, {}

    def close(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        self.closed.append(str(call.data["Status"]))
        return 200, {"sid": UT, "type": "agent"}, {}


def hand_inp(**kw: Any) -> HandToHumansInput:
    base: dict[str, Any] = {
        "org": "acme",
        "workspace_sid": WORKSPACE,
        "workflow_sid": WORKFLOW,
        "task_sid": WT,
        "reservation_sid": WR,
        "interaction_sid": KD,
        "channel_sid": UO,
        "ai_participant_sid": UT,
        "task_attributes": {"handedOff": True, "order_id": 7, "waHandoff": {"sessionId": "k-1"}},
    }
    return HandToHumansInput(**{**base, **kw})


def test_pending_reservation_is_rejected_not_transferred() -> None:
    flex = Flex("pending")
    result = TwilioActivities(FakeClients(flex.http)).hand_to_humans(hand_inp())
    assert result.path == "rejected"
    assert flex.reservation_status == "rejected"
    assert not flex.invites and not flex.closed


def test_accepted_reservation_is_transferred_by_invite_then_ai_closed() -> None:
    flex = Flex("accepted")
    acts = TwilioActivities(FakeClients(flex.http))
    result = acts.hand_to_humans(hand_inp())
    assert result.path == "transferred"
    assert len(flex.invites) == 1
    props = flex.invites[0]["routing"]["properties"]
    assert props["workspace_sid"] == WORKSPACE and props["workflow_sid"] == WORKFLOW
    assert props["task_channel_unique_name"] == "chat"
    assert props["attributes"]["handedOff"] is True and props["attributes"]["order_id"] == 7
    assert result.human_task_sid == props["sid"] and result.invite_sid == flex.invites[0]["sid"]
    assert flex.closed == ["closed"]
    assert flex.reservation_status == "accepted"  # never rejected once accepted
    # Retry after a timeout: finds the invite, creates nothing.
    again = acts.hand_to_humans(hand_inp())
    assert again.path == "transferred" and again.human_task_sid == result.human_task_sid
    assert len(flex.invites) == 1


def test_gone_reservation_needs_nothing() -> None:
    flex = Flex("timeout")
    result = TwilioActivities(FakeClients(flex.http)).hand_to_humans(hand_inp())
    assert result.path == "rejected" and not flex.invites


def test_post_to_flex_finds_its_own_message() -> None:
    http = FakeHttp()
    msgs = f"/v1/Services/{SERVICE}/Conversations/{CH}/Messages"
    posted: list[Call] = []
    existing = {"sid": "IM" + "9" * 32, "attributes": json.dumps({"waHandoffId": "note-1"})}
    http.routes[("GET", msgs)] = ok(page("messages", [existing]))
    http.routes[("POST", msgs)] = recording(posted, 201, lambda n: {"sid": "IM" + "8" * 32})
    acts = TwilioActivities(FakeClients(http))
    inp = PostToFlexInput(
        org="acme",
        conversations_service_sid=SERVICE,
        conversation_sid=CH,
        author="system",
        body="n",
        idempotency_id="",
    )
    assert acts.post_to_flex(inp.model_copy(update={"idempotency_id": "note-1"})).message_sid == existing["sid"]
    assert not posted
    new = acts.post_to_flex(inp.model_copy(update={"idempotency_id": "note-2", "attributes": {"kind": "note"}}))
    assert new.message_sid == "IM" + "8" * 32
    assert posted[0].headers["X-Twilio-Webhook-Enabled"] == "false"
    assert json.loads(str(posted[0].data["Attributes"])) == {"kind": "note", "waHandoffId": "note-2"}
    with pytest.raises(ApplicationError) as info:
        acts.post_to_flex(inp.model_copy(update={"body": None}))
    assert info.value.non_retryable


def _send_inp(**kw: Any) -> SendWhatsAppInput:
    base: dict[str, Any] = {
        "org": "acme",
        "from_number": "+14155238886",
        "to_number": "+34600111222",
        "body": "hola",
        "status_callback_url": "https://service.example/webhooks/acme/whatsapp/status/k",
        "idempotency_id": "send-1",
    }
    return SendWhatsAppInput(**{**base, **kw})


def test_send_whatsapp_shapes_and_in_process_idempotency() -> None:
    http = FakeHttp()
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    sent: list[Call] = []
    http.routes[("POST", path)] = recording(sent, 201, lambda n: {"sid": f"SM{n:032d}", "status": "queued"})
    acts = TwilioActivities(FakeClients(http))
    first = acts.send_whatsapp(_send_inp())
    assert acts.send_whatsapp(_send_inp()) == first
    assert len(sent) == 1
    d = sent[0].data
    assert d["To"] == "whatsapp:+34600111222" and d["From"] == "whatsapp:+14155238886"
    assert d["StatusCallback"].endswith("/status/k") and d["Body"] == "hola"
    acts.send_whatsapp(
        _send_inp(body=None, content_sid="HX" + "a" * 32, content_variables={"1": "Ana"}, idempotency_id="t-1")
    )
    assert sent[1].data["ContentSid"] == "HX" + "a" * 32
    assert json.loads(str(sent[1].data["ContentVariables"])) == {"1": "Ana"}
    assert "Body" not in sent[1].data


def test_send_whatsapp_retry_finds_the_message_a_lost_attempt_sent() -> None:
    http = FakeHttp()
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    earlier = {
        "sid": "SM" + "e" * 32,
        "status": "sent",
        "body": "hola",
        "direction": "outbound-api",
        "date_created": "Wed, 25 Nov 2026 13:00:05 +0000",
    }
    http.routes[("GET", path)] = ok({"messages": [earlier], "next_page_uri": None, "page": 0, "page_size": 50})
    http.routes[("POST", path)] = ok({"sid": "SM" + "f" * 32, "status": "queued"})
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=2, scheduled_time=datetime(2026, 11, 25, 13, 0, tzinfo=UTC))
    fresh = TwilioActivities(FakeClients(http))  # a new worker: empty in-process map
    result = env.run(fresh.send_whatsapp, _send_inp())
    assert result.message_sid == earlier["sid"]
    assert not [c for c in http.calls if c.method == "POST"]
    # A different text is not "ours": it is sent.
    other = env.run(fresh.send_whatsapp, _send_inp(body="adiós", idempotency_id="send-2"))
    assert other.message_sid == "SM" + "f" * 32
    lists = [c for c in http.calls if c.method == "GET"]
    assert lists[0].params["To"] == "whatsapp:+34600111222"


def test_send_whatsapp_rejects_bad_input() -> None:
    acts = TwilioActivities(FakeClients(FakeHttp()))
    for bad in (_send_inp(body=None), _send_inp(content_sid="HX" + "a" * 32)):
        with pytest.raises(ApplicationError) as info:
            acts.send_whatsapp(bad)
        assert info.value.non_retryable


def test_accept_joins_the_ai_as_agent_participant_when_flex_did_not() -> None:
    flex = Flex("pending")
    created: list[Call] = []
    flex.http.routes[("GET", f"{CHANNEL}/Participants")] = ok(page("participants", []))
    flex.http.routes[("POST", f"{CHANNEL}/Participants")] = recording(
        created, 200, lambda n: {"sid": UT, "type": "agent"}
    )
    result = TwilioActivities(FakeClients(flex.http)).accept_ai_reservation(
        AcceptAiReservationInput(
            org="acme",
            workspace_sid=WORKSPACE,
            task_sid=WT,
            reservation_sid=WR,
            worker_sid=WK,
            interaction_sid=KD,
            channel_sid=UO,
        )
    )
    assert (result.accepted, result.reservation_status, result.participant_sid) == (True, "accepted", UT)
    assert flex.reservation_status == "accepted"
    assert created[0].data["Type"] == "agent"
    assert json.loads(str(created[0].data["RoutingProperties"])) == {
        "task_sid": WT,
        "worker_sid": WK,
        "reservation_sid": WR,
    }


def test_media_download_never_sends_credentials_to_a_foreign_host() -> None:
    acts = TwilioActivities(FakeClients(FakeHttp()))
    with pytest.raises(ApplicationError) as info:
        acts.copy_contact_media_to_flex(
            CopyContactMediaInput(
                org="acme",
                conversations_service_sid=SERVICE,
                media_url="https://evil.example/steal.jpg",
                content_type="image/jpeg",
            )
        )
    assert info.value.non_retryable and "evil.example" in str(info.value)
    # An unsupported type is refused before any download is even attempted.
    refused = acts.copy_contact_media_to_flex(
        CopyContactMediaInput(
            org="acme",
            conversations_service_sid=SERVICE,
            media_url="https://evil.example/x.exe",
            content_type="application/x-msdownload",
        )
    )
    assert refused.media_sid is None and refused.refused_reason
