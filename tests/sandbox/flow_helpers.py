"""Steps shared by the sandbox flow tests, done with the official `twilio` client only."""

from __future__ import annotations

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
        routing={
            "properties": {
                "workspace_sid": seed["workspace_sid"],
                "workflow_sid": seed["workflow_sid"],
                "task_channel_unique_name": "chat",
                "attributes": attributes,
            }
        },
    )
    task_sid = interaction.routing["properties"]["sid"]
    return Flow(ws, ai, conv.sid, interaction.sid, interaction.channel["sid"], task_sid)
