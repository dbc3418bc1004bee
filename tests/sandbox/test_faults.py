"""Fault injection: REST 5xx/429 with Retry-After, latency, webhook drop/duplicate/reorder — seeded, reproducible."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.polling import eventually_sync
from tests.sandbox.flow_helpers import route_inbound_to
from tests.sandbox.receiver import Receiver


def _outcomes(ctl: httpx.Client, seed: dict[str, Any], n: int) -> list[int]:
    auth = (seed["account_sid"], seed["auth_token"])
    return [ctl.get(f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}", auth=auth).status_code for _ in range(n)]


def test_429_carries_retry_after_and_clears(twilio_client: Client, ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post("/_sandbox/faults", json={"rest_429_rate": 1.0, "retry_after_seconds": 7}).raise_for_status()
    with pytest.raises(TwilioRestException) as exc:
        twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"]).fetch()
    assert (exc.value.status, exc.value.code) == (429, 20429)
    assert twilio_client.http_client.last_response_headers["retry-after"] == "7"
    # The control API itself is never faulted.
    assert ctl.get("/_sandbox/seed").status_code == 200
    ctl.delete("/_sandbox/faults").raise_for_status()
    assert twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"]).fetch().sid == seed["workspace_sid"]


def test_5xx_rate_is_seeded_and_reproducible(ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 0.5, "seed": 3}).raise_for_status()
    first = _outcomes(ctl, seed, 30)
    ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 0.5, "seed": 3}).raise_for_status()
    assert _outcomes(ctl, seed, 30) == first
    assert set(first) == {200, 503}
    injected = [
        e for e in ctl.get("/_sandbox/record", params={"kind": "rest"}).json()["entries"] if e.get("injected") == "5xx"
    ]
    assert len(injected) == 2 * first.count(503)


def test_faults_can_target_paths(ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 1.0, "paths": ["/conversations/"]}).raise_for_status()
    assert set(_outcomes(ctl, seed, 3)) == {200}
    auth = (seed["account_sid"], seed["auth_token"])
    assert ctl.get("/conversations/v1/Conversations", auth=auth).status_code == 503


def test_latency_is_recorded(ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post("/_sandbox/faults", json={"latency_max_ms": 30, "seed": 5}).raise_for_status()
    _outcomes(ctl, seed, 3)
    entries = ctl.get("/_sandbox/record", params={"kind": "rest"}).json()["entries"]
    assert all("injected_latency_ms" in e for e in entries[-3:])


def _inbound(ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver, n: int) -> list[dict[str, Any]]:
    route_inbound_to(ctl, seed, receiver.url("/wa"))
    return [
        ctl.post(
            "/_sandbox/contacts/+15550009999/messages", json={"to": seed["whatsapp_numbers"][0], "body": f"m{i}"}
        ).json()
        for i in range(n)
    ]


def test_webhook_duplicates_share_the_idempotency_token(
    ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    ctl.post("/_sandbox/faults", json={"webhook_duplicate_rate": 1.0}).raise_for_status()
    _inbound(ctl, seed, receiver, 2)
    # A contact's message returns once its webhook is answered; the duplicate follows it.
    got = eventually_sync("both webhooks delivered twice", lambda: receiver.of("/wa"), lambda got: len(got) >= 4)
    assert [r.params["Body"] for r in got] == ["m0", "m0", "m1", "m1"]
    assert got[0].headers["i-twilio-idempotency-token"] == got[1].headers["i-twilio-idempotency-token"]
    assert got[0].headers["i-twilio-idempotency-token"] != got[2].headers["i-twilio-idempotency-token"]
    assert all(r.signature_valid for r in got)


def test_webhook_drop_is_recorded(ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver) -> None:
    ctl.post("/_sandbox/faults", json={"webhook_drop_rate": 1.0}).raise_for_status()
    outs = _inbound(ctl, seed, receiver, 2)
    assert [o["webhook_status"] for o in outs] == [None, None]
    assert receiver.of("/wa") == []
    assert len(ctl.get("/_sandbox/record", params={"kind": "webhook.dropped"}).json()["entries"]) == 2


def test_webhook_reorder_still_delivers_everything(ctl: httpx.Client, seed: dict[str, Any], receiver: Receiver) -> None:
    ctl.post("/_sandbox/faults", json={"webhook_reorder": True, "seed": 2}).raise_for_status()
    _inbound(ctl, seed, receiver, 5)
    assert sorted(r.params["Body"] for r in receiver.of("/wa")) == [f"m{i}" for i in range(5)]


def test_bad_fault_config_is_refused(ctl: httpx.Client) -> None:
    assert ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 2}).status_code == 400
    assert ctl.post("/_sandbox/faults", json={"nonsense": 1}).status_code == 400


def test_5xx_after_effect_keeps_the_effect(twilio_client: Client, ctl: httpx.Client, seed: dict[str, Any]) -> None:
    ctl.post("/_sandbox/faults", json={"rest_5xx_after_effect_rate": 1.0, "paths": ["/conversations/"]})
    svc = twilio_client.conversations.v1.services(seed["conversations_service_sid"])
    with pytest.raises(TwilioRestException) as exc:
        svc.conversations.create(friendly_name="lost response")
    assert exc.value.status == 502
    ctl.delete("/_sandbox/faults").raise_for_status()
    assert [c.friendly_name for c in svc.conversations.list()] == ["lost response"]
    entry = ctl.get("/_sandbox/record", params={"kind": "rest"}).json()["entries"][-2]
    assert entry["injected"] == "5xx-after-effect"
