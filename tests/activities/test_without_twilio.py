"""What the sandbox cannot show, against a fake HTTP layer: bad input refused before any call, the AI joined as
the interaction's agent when Flex did not do it, and credentials never sent to a host that is not Twilio's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.twilio_activities import TwilioActivities
from contracts.activities import (
    AcceptAiReservationInput,
    CopyContactMediaInput,
    SendWhatsAppInput,
)
from tests.activities.fakes import SERVICE, WORKSPACE, Call, FakeClients, FakeHttp

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
