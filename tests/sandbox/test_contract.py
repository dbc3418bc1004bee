"""Contract: every request the official client sends and every response the sandbox gives, checked against
Twilio's OpenAPI documents in ../shared/twilio-oai with openapi-core."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.contract import OAI_DIR, SHARED_OAI_DIR, capturing_client, validate_exchange
from tests.sandbox.exercises import (
    JsonBody,
    exercise_content,
    exercise_etags,
    exercise_statistics,
    exercise_typing,
)
from tests.sandbox.flow_helpers import CONTACT, routing_to, start_interaction
from tests.sandbox.receiver import Receiver


def test_vendored_specs_match_the_shared_copy() -> None:
    if not SHARED_OAI_DIR.is_dir():
        pytest.skip("no ../shared/twilio-oai next to this clone to compare with")
    for spec in sorted(SHARED_OAI_DIR.glob("*.json")):
        assert (OAI_DIR / spec.name).read_bytes() == spec.read_bytes(), f"{spec.name} differs from the shared copy"


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
    assert interaction.update(webhook_ttid="flex_interactionwebhook_1").webhook_ttid == "flex_interactionwebhook_1"
    channel = interaction.channels(flow.channel_sid)
    channel.fetch()
    interaction.channels.list()
    invite = channel.invites.create(routing=routing_to(seed, attrs))
    channel.invites.list()
    parts = channel.participants.list()
    agent = next(p for p in parts if p.type == "agent")
    channel.participants(agent.sid).update(status="closed")
    transfer = channel.transfers.create(JsonBody({"type": "cold", "from": agent.sid, "to": seed["human_queue_sid"]}))
    channel.transfers(transfer.sid).fetch()
    channel.transfers(transfer.sid).update(JsonBody({"status": "completed"}))
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


def _conversation_family(root: Any, contact: str) -> None:
    """Every conversation sub-resource operation, on one root (default or service-scoped)."""
    root.conversations.list()
    conv = root.conversations(root.conversations.create(friendly_name="family").sid)
    conv.fetch()
    conv.update(friendly_name="family 2", state="inactive")
    conv.participants.list()
    conv.messages.list()
    conv.webhooks.list()
    part = conv.participants.create(identity=contact, attributes="{}")
    conv.participants(part.sid).fetch()
    conv.participants(part.sid).update(attributes='{"x": 1}')
    msg = conv.messages.create(author=contact, body="m")
    conv.messages(msg.sid).fetch()
    conv.messages(msg.sid).update(body="edited")
    hook = conv.webhooks.create(
        target="webhook", configuration_url="https://example.com/h", configuration_filters=["onMessageAdded"]
    )
    conv.webhooks(hook.sid).fetch()
    conv.webhooks(hook.sid).update(configuration_filters=["onMessageAdded", "onParticipantAdded"])
    conv.webhooks(hook.sid).delete()
    conv.messages(msg.sid).delete()
    conv.participants(part.sid).delete()
    conv.delete()


def _exercise_the_rest(client: Any, seed: dict[str, Any], ctl: httpx.Client) -> None:
    tr = client.taskrouter.v1
    tr.workspaces.list()
    ws = tr.workspaces(seed["workspace_sid"])
    ws.activities(seed["activities"]["Offline"]).fetch()
    ws.task_channels("chat").fetch()
    ws.task_queues(seed["human_queue_sid"]).update(friendly_name="Humans")
    ws.workflows(seed["workflow_sid"]).update(friendly_name="Routing", task_reservation_timeout=300)
    alice = next(r["worker_sid"] for r in seed["reps"] if r["name"] == "alice")
    ws.workers(alice).worker_channels("chat").fetch()
    task = ws.tasks.create(attributes='{"handedOff": true}', workflow_sid=seed["workflow_sid"], task_channel="chat")
    res = ws.tasks(task.sid).reservations.list()[0]
    ws.workers(res.worker_sid).reservations(res.sid).fetch()
    ws.workers(res.worker_sid).reservations(res.sid).update(reservation_status="rejected")
    ws.events(ws.events.list(limit=1)[0].sid).fetch()
    ws.tasks(task.sid).delete()
    svc = client.conversations.v1.services(seed["conversations_service_sid"])
    _conversation_family(svc, "whatsapp:+15550000001")
    _conversation_family(client.conversations.v1, "whatsapp:+15550000002")
    svc.configuration.webhooks().fetch()
    svc.configuration.webhooks().update(post_webhook_url="https://example.com/post", filters=["onMessageAdded"])
    client.content.v1.contents(seed["templates"]["order_update"]).approval_fetch().fetch()
    inbound = ctl.post(
        f"/_sandbox/contacts/{CONTACT}/messages",
        json={"to": seed["whatsapp_numbers"][0], "body": "pic", "media": [{"content_type": "image/png", "size": 10}]},
    )
    mm = inbound.json()["message_sid"]
    media = client.messages(mm).media.list()
    client.messages(mm).media(media[0].sid).fetch()
    conv = svc.conversations.create(friendly_name="for-interaction")
    interaction = client.flex_api.v1.interaction.create(
        channel={"type": "whatsapp", "initiated_by": "customer", "properties": {"media_channel_sid": conv.sid}},
        routing={
            "properties": {
                "workspace_sid": seed["workspace_sid"],
                "task_channel_unique_name": "chat",
                "workflow_sid": seed["workflow_sid"],
                "attributes": {"a": 1},
            }
        },
    )
    client.flex_api.v1.interaction(interaction.sid).channels(interaction.channel["sid"]).update(status="closed")


def _covered_routes(exchanges: list[Any]) -> set[tuple[str, str]]:
    from urllib.parse import urlsplit

    from twilio_rest.hosts import PRODUCT_PREFIXES

    routes = _spec_routes()
    covered: set[tuple[str, str]] = set()
    for ex in exchanges:
        parts = urlsplit(ex.url)
        path = f"/{PRODUCT_PREFIXES[parts.netloc]}{parts.path}"
        for (method, template), pattern in routes.items():
            if method == ex.method and pattern.fullmatch(path):
                covered.add((method, template))
    return covered


def _spec_routes() -> dict[tuple[str, str], Any]:
    import re

    from fastapi.routing import APIRoute

    from twilio_sandbox import rest_mcs
    from twilio_sandbox.app import REST_MODULES

    out: dict[tuple[str, str], Any] = {}
    modules = [m for m in REST_MODULES if m is not rest_mcs]  # media bytes: no OpenAPI document describes them
    for route in [r for m in modules for r in m.router.routes]:
        if not isinstance(route, APIRoute):
            continue
        if route.path.endswith("/Media/{Sid}"):  # raw media bytes: not an OpenAPI operation
            continue
        pattern = re.compile(re.sub(r"\{[^}]+\}", "[^/]+", route.path))
        for method in route.methods or ():
            out[(method, route.path)] = pattern
    return out


def test_sdk_requests_and_sandbox_responses_match_the_spec(
    sandbox_url: str, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    client, http = capturing_client(sandbox_url, seed)
    _exercise(client, seed, receiver, ctl)
    _exercise_the_rest(client, seed, ctl)
    exercise_statistics(client, seed, ctl)
    exercise_typing(client, seed, ctl)
    exercise_etags(client, seed)
    exercise_content(client, seed, ctl)
    problems = [p for ex in http.exchanges for p in validate_exchange(ex)]
    assert problems == []
    # Every Twilio operation the sandbox serves was exercised and checked.
    routes = _spec_routes()
    assert len(routes) > 80
    missing = sorted(set(routes) - _covered_routes(http.exchanges))
    assert missing == [], missing


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
