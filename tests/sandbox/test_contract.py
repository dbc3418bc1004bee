"""Contract: every request the official client sends and every response the sandbox gives, checked against
Twilio's OpenAPI documents in ../shared/twilio-oai with openapi-core."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.contract import OAI_DIR, capturing_client, validate_exchange
from tests.sandbox.flow_helpers import CONTACT, start_interaction
from tests.sandbox.receiver import Receiver

pytestmark = pytest.mark.skipif(not OAI_DIR.is_dir(), reason="../shared/twilio-oai not present")


def _exercise(client: Any, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client) -> None:
    """Call every operation the service uses (and a few error paths)."""
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    ws.fetch()
    ws.update(events_filter="task.created,reservation.created")
    ws.activities.list()
    ws.task_queues.list()
    ws.task_queues(seed["ai_queue_sid"]).fetch()
    ws.workflows.list()
    ws.workflows(seed["workflow_sid"]).fetch()
    ws.task_channels.list()
    ws.workers.list(friendly_name="alice")
    flow = start_interaction(client, seed, receiver, {"name": "Ana", "order_id": "42"})
    ws.workers(flow.ai_worker_sid).fetch()
    ws.workers(flow.ai_worker_sid).worker_channels.list()
    ws.workers(flow.ai_worker_sid).update(attributes='{"ai": true, "v": 2}')
    task = ws.tasks(flow.task_sid)
    res = task.reservations.list(reservation_status="pending")
    task.reservations(res[0].sid).fetch()
    task.reservations(res[0].sid).update(reservation_status="accepted")
    ws.workers(flow.ai_worker_sid).reservations.list()
    resp = task.fetch_with_http_info()
    etag = {k.lower(): v for k, v in resp.headers.items()}["etag"]
    attrs = {**json.loads(resp.data.attributes), "handedOff": True}
    task.update(attributes=json.dumps(attrs), if_match=etag)
    with pytest.raises(TwilioRestException):
        task.update(attributes="{}", if_match=etag)
    ws.tasks.list(assignment_status=["assigned"], evaluate_task_attributes="handedOff == true")
    ws.events.list(task_sid=flow.task_sid)
    interaction = client.flex_api.v1.interaction(flow.interaction_sid)
    interaction.fetch()
    channel = interaction.channels(flow.channel_sid)
    channel.fetch()
    interaction.channels.list()
    invite = channel.invites.create(
        routing={
            "properties": {
                "workspace_sid": seed["workspace_sid"],
                "workflow_sid": seed["workflow_sid"],
                "task_channel_unique_name": "chat",
                "attributes": attrs,
            }
        }
    )
    channel.invites.list()
    parts = channel.participants.list()
    agent = next(p for p in parts if p.type == "agent")
    channel.participants(agent.sid).update(status="closed")
    ext = channel.participants.create(type="external", media_properties={"identity": "observer"})
    assert ext.sid.startswith("UT")
    ws.tasks(invite.routing["properties"]["sid"]).fetch()
    svc = client.conversations.v1.services(seed["conversations_service_sid"])
    conv = svc.conversations(flow.conversation_sid)
    conv.fetch()
    conv.update(attributes='{"k": 1}', unique_name="wa-ana")
    svc.conversations("wa-ana").fetch()
    conv.participants.list()
    conv.webhooks.list()
    conv.messages.create(
        author="AI Support Agent", body="Hello", attributes='{"ai": true}', x_twilio_webhook_enabled="false"
    )
    conv.messages.list(order="desc")
    client.conversations.v1.conversations.create(friendly_name="default-service")
    mg = client.messages.create(
        to=f"whatsapp:{CONTACT}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        body="hello",
        status_callback=receiver.url("/status"),
    )
    client.messages(mg.sid).fetch()
    client.messages.list(to=f"whatsapp:{CONTACT}", limit=5)
    client.messages.create(
        to=f"whatsapp:{CONTACT}",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        content_sid=seed["templates"]["order_update"],
        content_variables=json.dumps({"1": "Ana", "2": "42"}),
    )
    client.content.v1.contents.list()
    client.content.v1.contents(seed["templates"]["welcome_back"]).fetch()
    with pytest.raises(TwilioRestException):
        ws.tasks("WT" + "0" * 32).fetch()


def test_sdk_requests_and_sandbox_responses_match_the_spec(
    sandbox_url: str, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    client, http = capturing_client(sandbox_url, seed)
    _exercise(client, seed, receiver, ctl)
    assert len(http.exchanges) > 50
    problems = [p for ex in http.exchanges for p in validate_exchange(ex)]
    assert problems == []


def test_pagination_follows_next_page_url(sandbox_url: str, seed: dict[str, Any]) -> None:
    client, http = capturing_client(sandbox_url, seed)
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    for i in range(5):
        ws.tasks.create(attributes=json.dumps({"n": i}), workflow_sid=seed["workflow_sid"], task_channel="chat")
    tasks = ws.tasks.list(page_size=2)
    assert sorted(json.loads(t.attributes)["n"] for t in tasks) == [0, 1, 2, 3, 4]
    pages = [ex for ex in http.exchanges if ex.method == "GET"]
    assert len(pages) == 3
    assert all(not validate_exchange(ex) for ex in http.exchanges)


def test_validator_catches_a_bad_response(sandbox_url: str, seed: dict[str, Any]) -> None:
    """The contract check can fail: a response with a malformed SID is reported."""
    client, http = capturing_client(sandbox_url, seed)
    client.taskrouter.v1.workspaces(seed["workspace_sid"]).fetch()
    ex = http.exchanges[0]
    ex.body = ex.body.replace(seed["workspace_sid"], "WS123")
    assert validate_exchange(ex)
