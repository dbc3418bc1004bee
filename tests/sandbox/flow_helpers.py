"""Steps shared by the sandbox flow tests, done with the official `twilio` client only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twilio.rest import Client

from tests.sandbox.receiver import Receiver

CONTACT = "+15551230001"


@dataclass
class Flow:
    ws: Any
    ai_worker_sid: str
    conversation_sid: str
    interaction_sid: str
    channel_sid: str
    task_sid: str


def provision_ai(client: Client, seed: dict[str, Any]) -> str:
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    worker = ws.workers.create(
        friendly_name="AI Support Agent",
        attributes='{"ai": true}',
        activity_sid=seed["activities"]["Available"],
    )
    ws.workers(worker.sid).worker_channels("chat").update(capacity=50)
    return str(worker.sid)


def routing_to(seed: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    """An interaction's or invite's `routing`: a task on the seed's workflow with these attributes."""
    return {
        "properties": {
            "workspace_sid": seed["workspace_sid"],
            "workflow_sid": seed["workflow_sid"],
            "task_channel_unique_name": "chat",
            "attributes": attributes,
        }
    }


def start_interaction(client: Client, seed: dict[str, Any], receiver: Receiver, attributes: dict[str, Any]) -> Flow:
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    ws.update(event_callback_url=receiver.url("/taskrouter"))
    ai = provision_ai(client, seed)
    svc = client.conversations.v1.services(seed["conversations_service_sid"])
    conv = svc.conversations.create(friendly_name="Ana", attributes="{}")
    svc.conversations(conv.sid).participants.create(identity=f"whatsapp:{CONTACT}")
    svc.conversations(conv.sid).webhooks.create(
        target="webhook",
        configuration_url=receiver.url("/conv"),
        configuration_method="post",
        configuration_filters=["onMessageAdded"],
    )
    interaction = client.flex_api.v1.interaction.create(
        channel={
            "type": "whatsapp",
            "initiated_by": "customer",
            "properties": {"media_channel_sid": conv.sid},
        },
        routing=routing_to(seed, attributes),
    )
    task_sid = interaction.routing["properties"]["sid"]
    return Flow(ws, ai, conv.sid, interaction.sid, interaction.channel["sid"], task_sid)


HANDOFF_ATTRIBUTES = {
    "handedOff": True,
    "handoffReason": "wants a refund",
    "handoffSummary": "Ana wants a refund for order 42.",
    "handoffSentiment": "negative",
    "handoffLanguage": "en",
    "handoffTimestamp": "2026-11-25T14:00:00Z",
}


@dataclass
class WithRep:
    flow: Flow
    rep: str
    task_sid: str
    attributes: dict[str, Any]


def hand_to_rep(client: Client, seed: dict[str, Any], receiver: Receiver, ctl: Any, rep: str = "alice") -> WithRep:
    """AI accepts, hands off as the service does (invite on the channel, AI participant closed), `rep` accepts;
    the other reps are set Offline first so the reservation goes to `rep`."""
    for other in seed["reps"]:
        if other["name"] != rep:
            ctl.post(f"/_sandbox/reps/{other['name']}/activity", json={"activity": "Offline"}).raise_for_status()
    flow = start_interaction(client, seed, receiver, {"name": "Ana", "order_id": "42", "waHandoff": {"org": "acme"}})
    ai_res = flow.ws.tasks(flow.task_sid).reservations.list()[0]
    flow.ws.tasks(flow.task_sid).reservations(ai_res.sid).update(reservation_status="accepted")
    attributes = {**json.loads(flow.ws.tasks(flow.task_sid).fetch().attributes), **HANDOFF_ATTRIBUTES}
    channel = client.flex_api.v1.interaction(flow.interaction_sid).channels(flow.channel_sid)
    invite = channel.invites.create(routing=routing_to(seed, attributes))
    ai_part = next(
        p for p in channel.participants.list() if (p.routing_properties or {}).get("task_sid") == flow.task_sid
    )
    channel.participants(ai_part.sid).update(status="closed")
    task_sid = invite.routing["properties"]["sid"]
    pending = ctl.get(f"/_sandbox/reps/{rep}/reservations", params={"status": "pending"}).json()["reservations"]
    assert [r["task_sid"] for r in pending] == [task_sid]
    ctl.post(f"/_sandbox/reps/{rep}/reservations/{pending[0]['reservation_sid']}/accept").raise_for_status()
    return WithRep(flow, rep, task_sid, json.loads(flow.ws.tasks(task_sid).fetch().attributes))


def waiting_human_tasks(client: Client, seed: dict[str, Any], ctl: Any, priorities: list[int]) -> list[str]:
    """alice and bob offline, then one handed-off task per priority, all waiting in the human queue: their SIDs."""
    for rep in ("alice", "bob"):
        ctl.post(f"/_sandbox/reps/{rep}/activity", json={"activity": "Offline"}).raise_for_status()
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    return [
        ws.tasks.create(
            attributes=json.dumps({"handedOff": True, "n": n}),
            workflow_sid=seed["workflow_sid"],
            task_channel="chat",
            priority=priority,
        ).sid
        for n, priority in enumerate(priorities)
    ]


def route_inbound_to(ctl: Any, seed: dict[str, Any], webhook_url: str) -> None:
    """Points the incoming-message webhook of the seed's WhatsApp number at `webhook_url`."""
    ctl.post(
        "/_sandbox/senders", json={"number": seed["whatsapp_numbers"][0], "webhook_url": webhook_url}
    ).raise_for_status()
