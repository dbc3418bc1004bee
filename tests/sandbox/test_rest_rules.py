"""Twilio's errors and the sandbox's strict checks: auth, 404, unknown params, JSON params, TaskRouter rules."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from twilio_rest.client import build_client


def _auth(seed: dict[str, Any]) -> tuple[str, str]:
    return seed["account_sid"], seed["auth_token"]


def test_auth_token_and_api_key_accepted_wrong_refused(
    sandbox_url: str, seed: dict[str, Any], api_key_client: Client, ctl: httpx.Client
) -> None:
    assert api_key_client.taskrouter.v1.workspaces(seed["workspace_sid"]).fetch().sid == seed["workspace_sid"]
    bad = build_client(seed["account_sid"], "wrong-token", sandbox_base_url=sandbox_url)
    with pytest.raises(TwilioRestException) as exc:
        bad.taskrouter.v1.workspaces(seed["workspace_sid"]).fetch()
    assert (exc.value.status, exc.value.code) == (401, 20003)
    resp = ctl.get(f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}")
    assert resp.status_code == 401
    assert resp.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    other_account = ctl.get("/api/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json", auth=_auth(seed))
    assert other_account.status_code == 401


def test_not_found_is_20404(twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    with pytest.raises(TwilioRestException) as exc:
        twilio_client.conversations.v1.services(seed["conversations_service_sid"]).conversations(
            "CH" + "0" * 32
        ).fetch()
    assert (exc.value.status, exc.value.code) == (404, 20404)
    assert ctl.get("/nope/v1/x", auth=_auth(seed)).json()["code"] == 20404


def test_unknown_and_malformed_params_are_refused(seed: dict[str, Any], ctl: httpx.Client) -> None:
    base = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/Tasks"
    typo = ctl.post(base, data={"Atributes": "{}", "WorkflowSid": seed["workflow_sid"]}, auth=_auth(seed))
    assert typo.status_code == 400 and "Atributes" in typo.json()["message"]
    bad_json = ctl.post(base, data={"Attributes": "{not json", "WorkflowSid": seed["workflow_sid"]}, auth=_auth(seed))
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["message"]
    bad_query = ctl.get(base, params={"AssignmentStatuz": "pending"}, auth=_auth(seed))
    assert bad_query.status_code == 400
    missing = ctl.post(f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/Workers", data={}, auth=_auth(seed))
    assert missing.status_code == 400 and "FriendlyName" in missing.json()["message"]
    flex = ctl.post("/flex-api/v1/Interactions", data={"Channel": "[1]", "Routing": "{}"}, auth=_auth(seed))
    assert flex.status_code == 400
    wf = ctl.post(
        f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/Workflows/{seed['workflow_sid']}",
        data={"Configuration": json.dumps({"task_routing": {"filters": [{"expression": "a ==="}]}})},
        auth=_auth(seed),
    )
    assert wf.status_code == 400 and "expression" in wf.json()["message"]


def test_task_status_transitions_and_if_match(twilio_client: Client, seed: dict[str, Any]) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    # No AI worker: the task waits, pending, in the AI queue.
    task = ws.tasks.create(attributes='{"a": 1}', workflow_sid=seed["workflow_sid"], task_channel="chat")
    assert (task.assignment_status, task.task_queue_sid) == ("pending", seed["ai_queue_sid"])
    with pytest.raises(TwilioRestException) as illegal:
        ws.tasks(task.sid).update(assignment_status="completed", reason="done")
    assert illegal.value.status == 400
    with pytest.raises(TwilioRestException) as no_reason:
        ws.tasks(task.sid).update(assignment_status="canceled")
    assert no_reason.value.status == 400
    ws.tasks(task.sid).update(attributes='{"a": 2}', if_match="*")
    with pytest.raises(TwilioRestException) as stale:
        ws.tasks(task.sid).update(attributes='{"a": 3}', if_match="0")
    assert stale.value.status == 412
    assert json.loads(ws.tasks(task.sid).fetch().attributes) == {"a": 2}
    canceled = ws.tasks(task.sid).update(assignment_status="canceled", reason="test")
    assert canceled.assignment_status == "canceled"
    assert ws.tasks.list(assignment_status=["canceled"])[0].sid == task.sid


def test_reservation_timeout_reroutes_by_clock(twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    task = ws.tasks.create(attributes='{"handedOff": true}', workflow_sid=seed["workflow_sid"], task_channel="chat")
    first = ws.tasks(task.sid).reservations.list()[0]
    assert first.reservation_status == "pending"
    ctl.post("/_sandbox/clock/advance", json={"seconds": 121}).raise_for_status()
    res = {r.sid: r for r in ws.tasks(task.sid).reservations.list()}
    assert res[first.sid].reservation_status == "timeout"
    others = [r for r in res.values() if r.sid != first.sid]
    assert len(others) == 1 and others[0].worker_sid != first.worker_sid
    # The timed-out rep went to the workspace's timeout activity (Offline).
    assert ws.workers(first.worker_sid).fetch().activity_name == "Offline"
    types = [e.event_type for e in ws.events.list(task_sid=task.sid)]
    assert "reservation.timeout" in types


def test_capacity_limits_reservations(twilio_client: Client, seed: dict[str, Any]) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    worker = ws.workers.create(
        friendly_name="AI Support Agent", attributes='{"ai": true}', activity_sid=seed["activities"]["Available"]
    )
    assert ws.workers(worker.sid).worker_channels("chat").fetch().configured_capacity == 1
    t1 = ws.tasks.create(attributes="{}", workflow_sid=seed["workflow_sid"], task_channel="chat")
    t2 = ws.tasks.create(attributes="{}", workflow_sid=seed["workflow_sid"], task_channel="chat")
    assert ws.tasks(t1.sid).fetch().assignment_status == "reserved"
    assert ws.tasks(t2.sid).fetch().assignment_status == "pending"
    ws.workers(worker.sid).worker_channels("chat").update(capacity=5)
    assert ws.tasks(t2.sid).fetch().assignment_status == "reserved"
    assert ws.workers.list(friendly_name="AI Support Agent")[0].sid == worker.sid
    with pytest.raises(TwilioRestException) as dup:
        ws.workers.create(friendly_name="AI Support Agent")
    assert dup.value.status == 409


def test_binding_pair_in_use_is_50416(twilio_client: Client, seed: dict[str, Any]) -> None:
    svc = twilio_client.conversations.v1.services(seed["conversations_service_sid"])
    a = svc.conversations.create(friendly_name="a")
    b = svc.conversations.create(friendly_name="b")
    proxy = f"whatsapp:{seed['whatsapp_numbers'][0]}"
    svc.conversations(a.sid).participants.create(
        messaging_binding_address="whatsapp:+15550001111", messaging_binding_proxy_address=proxy
    )
    with pytest.raises(TwilioRestException) as exc:
        svc.conversations(b.sid).participants.create(
            messaging_binding_address="whatsapp:+15550001111", messaging_binding_proxy_address=proxy
        )
    assert (exc.value.status, exc.value.code) == (409, 50416)
    svc.conversations(a.sid).update(state="closed")
    p = svc.conversations(b.sid).participants.create(
        messaging_binding_address="whatsapp:+15550001111", messaging_binding_proxy_address=proxy
    )
    assert p.messaging_binding["address"] == "whatsapp:+15550001111"


def test_rest_messages_fire_webhooks_only_when_enabled(
    twilio_client: Client, seed: dict[str, Any], receiver: Any
) -> None:
    svc = twilio_client.conversations.v1.services(seed["conversations_service_sid"])
    conv = svc.conversations.create(friendly_name="x")
    svc.conversations(conv.sid).webhooks.create(
        target="webhook", configuration_url=receiver.url("/c"), configuration_filters=["onMessageAdded"]
    )
    svc.conversations(conv.sid).messages.create(author="system", body="quiet")
    svc.conversations(conv.sid).messages.create(author="system", body="loud", x_twilio_webhook_enabled="true")
    hook = receiver.wait_for(lambda r: r.path == "/c")
    assert hook.params["Body"] == "loud" and hook.params["Source"] == "API"
    assert [r.params["Body"] for r in receiver.of("/c")] == ["loud"]
