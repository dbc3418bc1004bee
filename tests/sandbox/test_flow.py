"""Acceptance: the whole AI → human handoff driven with the official client and the `/_sandbox` controls."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.flow_helpers import CONTACT, HANDOFF_ATTRIBUTES, routing_to, start_interaction
from tests.sandbox.receiver import Receiver


def test_handoff_from_ai_to_rep(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    attrs = {
        "name": "Ana",
        "from": f"whatsapp:{CONTACT}",
        "channelType": "whatsapp",
        "waHandoff": {"workflowId": "wa-conv:acme:" + "0" * 32, "org": "acme"},
        "order_id": "42",
    }
    flow = start_interaction(twilio_client, seed, receiver, attrs)

    # Routed to the AI queue; reservation.created reaches the receiver, signed.
    created = receiver.wait_for(lambda r: r.params.get("EventType") == "reservation.created")
    assert created.signature_valid
    assert created.params["WorkerSid"] == flow.ai_worker_sid
    assert created.params["TaskQueueSid"] == seed["ai_queue_sid"]
    assert json.loads(created.params["TaskAttributes"])["waHandoff"]["org"] == "acme"
    res_sid = created.params["ReservationSid"]
    task_ctx = flow.ws.tasks(flow.task_sid)
    task_ctx.reservations(res_sid).update(reservation_status="accepted")
    assert task_ctx.fetch().assignment_status == "assigned"

    # Attribute merge with If-Match on the ETag; a stale ETag is refused with 412.
    resp = task_ctx.fetch_with_http_info()
    etag = {k.lower(): v for k, v in resp.headers.items()}["etag"]
    merged = {**json.loads(resp.data.attributes), **HANDOFF_ATTRIBUTES}
    task_ctx.update(attributes=json.dumps(merged), if_match=etag)
    with pytest.raises(TwilioRestException) as stale:
        task_ctx.update(attributes=json.dumps({**merged, "x": 1}), if_match=etag)
    assert stale.value.status == 412 and stale.value.code == 20412
    assert json.loads(task_ctx.fetch().attributes)["order_id"] == "42"

    # Rejecting an accepted reservation is refused as TaskRouter refuses it.
    with pytest.raises(TwilioRestException) as refused:
        task_ctx.reservations(res_sid).update(reservation_status="rejected")
    assert refused.value.status == 400

    # Transfer: an invite creates the human task, routed to the human queue.
    channel = twilio_client.flex_api.v1.interaction(flow.interaction_sid).channels(flow.channel_sid)
    invite = channel.invites.create(routing=routing_to(seed, merged))
    human_task_sid = invite.routing["properties"]["sid"]
    assert human_task_sid != flow.task_sid
    human_task = flow.ws.tasks(human_task_sid).fetch()
    assert human_task.task_queue_sid == seed["human_queue_sid"]
    assert json.loads(human_task.attributes)["handoffSummary"] == HANDOFF_ATTRIBUTES["handoffSummary"]

    # Close the AI's interaction participant: its task completes, the conversation stays open.
    ai_parts = [
        p
        for p in channel.participants.list()
        if p.type == "agent" and (p.routing_properties or {}).get("task_sid") == flow.task_sid
    ]
    assert len(ai_parts) == 1
    channel.participants(ai_parts[0].sid).update(status="closed")
    assert task_ctx.fetch().assignment_status == "completed"
    conv = (
        twilio_client.conversations.v1.services(seed["conversations_service_sid"])
        .conversations(flow.conversation_sid)
        .fetch()
    )
    assert conv.state == "active"

    # A rep accepts; the rep's message fires onMessageAdded on the conversation-scoped webhook.
    pending = []
    for rep in seed["reps"]:
        pending += [
            (rep["name"], r)
            for r in ctl.get(f"/_sandbox/reps/{rep['name']}/reservations", params={"status": "pending"}).json()[
                "reservations"
            ]
        ]
    assert len(pending) == 1
    rep_name, reservation = pending[0]
    assert reservation["task_sid"] == human_task_sid
    assert reservation["conversation_sid"] == flow.conversation_sid
    ctl.post(f"/_sandbox/reps/{rep_name}/reservations/{reservation['reservation_sid']}/accept").raise_for_status()
    assert flow.ws.tasks(human_task_sid).fetch().assignment_status == "assigned"
    ctl.post(
        f"/_sandbox/reps/{rep_name}/messages",
        json={"conversation_sid": flow.conversation_sid, "body": "Hi Ana, I can help."},
    ).raise_for_status()
    added = receiver.wait_for(lambda r: r.path == "/conv" and r.params.get("EventType") == "onMessageAdded")
    assert added.signature_valid
    assert added.params["Author"] == rep_name
    assert added.params["Source"] == "SDK"
    assert added.params["Body"] == "Hi Ana, I can help."
    assert added.params["ConversationSid"] == flow.conversation_sid

    # The rep completes: wrapup then completed events for the human task.
    ctl.post(f"/_sandbox/reps/{rep_name}/tasks/{human_task_sid}/complete").raise_for_status()
    receiver.wait_for(
        lambda r: r.params.get("EventType") == "task.completed" and r.params.get("TaskSid") == human_task_sid
    )
    human_events = [
        r.params["EventType"] for r in receiver.of("/taskrouter") if r.params.get("TaskSid") == human_task_sid
    ]
    assert human_events.index("task.wrapup") < human_events.index("task.completed")
    assert all(r.signature_valid for r in receiver.received)


def test_pending_reservation_rejected_reroutes(twilio_client: Client, seed: dict[str, Any], receiver: Receiver) -> None:
    flow = start_interaction(twilio_client, seed, receiver, {"name": "Ana"})
    created = receiver.wait_for(lambda r: r.params.get("EventType") == "reservation.created")
    assert created.params["WorkerSid"] == flow.ai_worker_sid
    task_ctx = flow.ws.tasks(flow.task_sid)
    # Mark handed off while pending, then reject: the workflow routes the task to the human queue.
    attrs = json.loads(task_ctx.fetch().attributes)
    task_ctx.update(attributes=json.dumps({**attrs, **HANDOFF_ATTRIBUTES}))
    task_ctx.reservations(created.params["ReservationSid"]).update(reservation_status="rejected")
    task = task_ctx.fetch()
    assert task.task_queue_sid == seed["human_queue_sid"]
    assert task.assignment_status == "reserved"
    res = task_ctx.reservations.list(reservation_status="pending")
    rep_sids = {r["worker_sid"] for r in seed["reps"]}
    assert len(res) == 1 and res[0].worker_sid in rep_sids
    second = receiver.wait_for(
        lambda r: r.params.get("EventType") == "reservation.created" and r.params["ReservationSid"] == res[0].sid
    )
    assert second.params["TaskQueueSid"] == seed["human_queue_sid"]
    events = receiver.events()
    assert events.index("reservation.rejected") < events.index("task-queue.entered", events.index("task.updated"))


def test_service_can_call_back_while_handling_a_webhook(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver
) -> None:
    """A webhook handler that calls the sandbox's REST API before answering does not deadlock it."""
    accepted: list[str] = []

    def accept_inside_webhook(path: str) -> int:
        with receiver.lock:
            last = receiver.received[-1].params if receiver.received else {}
        if path == "/taskrouter" and last.get("EventType") == "reservation.created":
            ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
            ws.tasks(last["TaskSid"]).reservations(last["ReservationSid"]).update(reservation_status="accepted")
            accepted.append(last["ReservationSid"])
        return 204

    receiver.status_for = accept_inside_webhook
    flow = start_interaction(twilio_client, seed, receiver, {"name": "Ana"})
    receiver.wait_for(lambda r: r.params.get("EventType") == "reservation.accepted")
    assert len(accepted) == 1
    assert flow.ws.tasks(flow.task_sid).fetch().assignment_status == "assigned"
    events = receiver.events()
    assert events.index("reservation.created") < events.index("reservation.accepted")
