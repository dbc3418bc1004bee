"""Flex messaging transfers as the Flex UI performs them (`POST /_sandbox/reps/{name}/transfers`): a transfer
record, an invite on the same channel carrying the task's attributes and the target, the transferring rep's
participant closed (task completed, conversation active), TaskRouter events in that order; the `…/Transfers`
REST resource through the official client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.exercises import JsonBody
from tests.sandbox.flow_helpers import HANDOFF_ATTRIBUTES, WithRep, hand_to_rep
from tests.sandbox.receiver import Receiver
from tests.sandbox.record_helpers import record


def _transfer(ctl: httpx.Client, rep: str, **body: Any) -> dict[str, Any]:
    answer = ctl.post(f"/_sandbox/reps/{rep}/transfers", json=body)
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def _worker_sid(seed: dict[str, Any], name: str) -> str:
    return next(str(r["worker_sid"]) for r in seed["reps"] if r["name"] == name)


def _conv_identities(client: Client, seed: dict[str, Any], conversation_sid: str) -> set[str]:
    conv = client.conversations.v1.services(seed["conversations_service_sid"]).conversations(conversation_sid)
    return {p.identity for p in conv.participants.list()}


def test_rep_transfers_to_another_rep(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    held: WithRep = hand_to_rep(twilio_client, seed, receiver, ctl, rep="alice")
    ctl.post("/_sandbox/reps/bob/activity", json={"activity": "Available"}).raise_for_status()
    out = _transfer(ctl, "alice", conversation_sid=held.flow.conversation_sid, to_worker="bob", note="VIP customer")
    assert (out["from_task_sid"], out["to_type"], out["to_sid"]) == (held.task_sid, "worker", _worker_sid(seed, "bob"))
    assert out["transfer_sid"].startswith("UX") and out["status"] == "active"
    ws = held.flow.ws
    new_task = ws.tasks(out["new_task_sid"]).fetch()
    attrs = json.loads(new_task.attributes)
    # The original attributes (the service's own, the six handoff ones) travel with the transfer target.
    assert {k: attrs[k] for k in HANDOFF_ATTRIBUTES} == HANDOFF_ATTRIBUTES
    assert attrs["waHandoff"] == {"org": "acme"} and attrs["order_id"] == "42"
    assert (attrs["transferTargetType"], attrs["transferTargetSid"]) == ("worker", _worker_sid(seed, "bob"))
    assert attrs["flexInteractionChannelSid"] == held.flow.channel_sid and attrs[
        "flexChannelInviteSid"
    ] != held.attributes.get("flexChannelInviteSid")
    assert new_task.routing_target == _worker_sid(seed, "bob")
    old = ws.tasks(held.task_sid).fetch()
    assert (old.assignment_status, old.reason) == ("completed", "Participant closed")
    conv = twilio_client.conversations.v1.services(seed["conversations_service_sid"]).conversations(
        held.flow.conversation_sid
    )
    assert conv.fetch().state == "active"
    assert "alice" not in _conv_identities(twilio_client, seed, held.flow.conversation_sid)
    # TaskRouter events: the new task is created and offered before the old one ends (their order of occurrence;
    # webhooks of different tasks may arrive in any order), and each reaches the service.
    receiver.wait_for(
        lambda r: r.params.get("EventType") == "task.completed" and r.params.get("TaskSid") == held.task_sid
    )
    events = [
        (e["event_type"], "new" if e["task_sid"] == new_task.sid else "old")
        for e in record(ctl, "taskrouter.event")
        if e["task_sid"] == new_task.sid
        or (e["task_sid"] == held.task_sid and e["event_type"] in ("reservation.completed", "task.completed"))
    ]
    delivered = {(r.params["EventType"], r.params.get("TaskSid")) for r in receiver.of("/taskrouter")}
    assert {(t, new_task.sid if w == "new" else held.task_sid) for t, w in events} <= delivered
    assert events == [
        ("task.created", "new"),
        ("task-queue.entered", "new"),
        ("reservation.created", "new"),
        ("reservation.completed", "old"),
        ("task.completed", "old"),
    ]
    offered = ctl.get("/_sandbox/reps/bob/reservations", params={"status": "pending"}).json()["reservations"]
    assert [r["task_sid"] for r in offered] == [new_task.sid]
    ctl.post(f"/_sandbox/reps/bob/reservations/{offered[0]['reservation_sid']}/accept").raise_for_status()
    assert "bob" in _conv_identities(twilio_client, seed, held.flow.conversation_sid)
    channel = twilio_client.flex_api.v1.interaction(held.flow.interaction_sid).channels(held.flow.channel_sid)
    fetched = channel.transfers(out["transfer_sid"]).fetch()
    assert (fetched.status, fetched.type, fetched.to) == ("completed", "cold", _worker_sid(seed, "bob"))
    assert fetched._from == out["from_participant_sid"] and fetched.note_sid.startswith("KQ")
    entry = record(ctl, "flex.transfer")[0]
    assert (entry["rep"], entry["note"], entry["new_task_sid"]) == ("alice", "VIP customer", new_task.sid)
    assert [e["status"] for e in record(ctl, "flex.transfer.status")] == ["completed"]


def test_transfer_to_a_queue_is_not_offered_back_to_the_transferring_rep(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    held = hand_to_rep(twilio_client, seed, receiver, ctl, rep="alice")
    out = _transfer(ctl, "alice", task_sid=held.task_sid, to_queue="Everyone")
    new_task = held.flow.ws.tasks(out["new_task_sid"]).fetch()
    attrs = json.loads(new_task.attributes)
    assert (attrs["transferTargetType"], attrs["transferQueueName"]) == ("queue", "Everyone")
    assert attrs["ignoreWorkerContactUri"] == "client:alice"
    assert new_task.task_queue_sid == seed["human_queue_sid"] and new_task.assignment_status == "pending"
    assert ctl.get("/_sandbox/reps/alice/reservations", params={"status": "pending"}).json()["reservations"] == []
    ctl.post("/_sandbox/reps/bob/activity", json={"activity": "Available"}).raise_for_status()
    offered = ctl.get("/_sandbox/reps/bob/reservations", params={"status": "pending"}).json()["reservations"]
    assert [r["task_sid"] for r in offered] == [new_task.sid]


def test_a_rejected_rep_transfer_goes_to_the_next_available_rep(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    held = hand_to_rep(twilio_client, seed, receiver, ctl, rep="alice")
    ctl.post("/_sandbox/reps/bob/activity", json={"activity": "Available"}).raise_for_status()
    out = _transfer(ctl, "alice", task_sid=held.task_sid, to_worker=_worker_sid(seed, "bob"))
    offered = ctl.get("/_sandbox/reps/bob/reservations", params={"status": "pending"}).json()["reservations"]
    ctl.post(f"/_sandbox/reps/bob/reservations/{offered[0]['reservation_sid']}/reject").raise_for_status()
    next_offer = ctl.get("/_sandbox/reps/alice/reservations", params={"status": "pending"}).json()["reservations"]
    assert [r["task_sid"] for r in next_offer] == [out["new_task_sid"]]


def test_a_failed_transfer_and_refused_ones(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    held = hand_to_rep(twilio_client, seed, receiver, ctl, rep="alice")
    for body, status in [
        ({"task_sid": held.task_sid}, 400),
        ({"task_sid": held.task_sid, "to_queue": "Everyone", "to_worker": "bob"}, 400),
        ({"task_sid": held.task_sid, "to_worker": "alice"}, 400),
        ({"task_sid": held.task_sid, "to_queue": "Nobody"}, 404),
        ({"conversation_sid": "CH" + "0" * 32, "to_queue": "Everyone"}, 400),
    ]:
        answer = ctl.post("/_sandbox/reps/alice/transfers", json=body)
        assert answer.status_code == status, (body, answer.text)
    not_holder = ctl.post("/_sandbox/reps/bob/transfers", json={"task_sid": held.task_sid, "to_queue": "Everyone"})
    assert not_holder.status_code == 400 and "not assigned to bob" in not_holder.json()["message"]
    assert (
        record(ctl, "flex.transfer") == [] and held.flow.ws.tasks(held.task_sid).fetch().assignment_status == "assigned"
    )
    out = _transfer(ctl, "alice", task_sid=held.task_sid, to_queue="Everyone")
    held.flow.ws.tasks(out["new_task_sid"]).update(assignment_status="canceled", reason="contact left")
    channel = twilio_client.flex_api.v1.interaction(held.flow.interaction_sid).channels(held.flow.channel_sid)
    assert channel.transfers(out["transfer_sid"]).fetch().status == "failed"


def test_transfer_rest_resource(
    twilio_client: Client, seed: dict[str, Any], receiver: Receiver, ctl: httpx.Client
) -> None:
    held = hand_to_rep(twilio_client, seed, receiver, ctl, rep="alice")
    channel = twilio_client.flex_api.v1.interaction(held.flow.interaction_sid).channels(held.flow.channel_sid)
    agent = next(
        p
        for p in channel.participants.list()
        if p.type == "agent" and p.routing_properties["task_sid"] == held.task_sid
    )
    created = channel.transfers.create(JsonBody({"type": "cold", "from": agent.sid, "to": seed["human_queue_sid"]}))
    assert created.sid.startswith("UX") and (created.status, created._from, created.to) == (
        "active",
        agent.sid,
        seed["human_queue_sid"],
    )
    assert created.instance_sid.startswith("GO") and created.execution_sid.startswith("QW")
    # A REST record moves no task: alice still holds hers.
    assert held.flow.ws.tasks(held.task_sid).fetch().assignment_status == "assigned"
    updated = channel.transfers(created.sid).update(JsonBody({"status": "completed"}))
    assert updated.status == "completed" and channel.transfers(created.sid).fetch().status == "completed"
    for bad in ({"type": "hot"}, {"from": "UT" + "0" * 32}, {"note_sid": "x"}, {"status": "done"}):
        with pytest.raises(TwilioRestException) as refused:
            channel.transfers.create(JsonBody(bad))
        assert refused.value.status == 400, bad
    with pytest.raises(TwilioRestException) as missing:
        channel.transfers("UX" + "0" * 32).fetch()
    assert missing.value.status == 404
