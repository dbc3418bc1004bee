"""A parsed webhook → a signal to an existing workflow, or signal-with-start for contact messages."""

from __future__ import annotations

import logging

from fastapi import Response
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from api.contact_routing import ContactRouting
from api.logs import log_event
from api.responses import ignored, recorded
from api.temporal import WEBHOOK_DEADLINE, WorkflowNotFound, call
from config.orgs import Org
from config.settings import Settings
from contracts.contacts import mask_address
from contracts.ids import workflow_id_for_key
from contracts.search_attributes import ORG_ID
from contracts.signals import SIGNAL_CONTACT_MESSAGE, WORKFLOW_NAME, ContactMessage, ConversationStart


async def signal_with_start(
    client: Client, settings: Settings, org: Org, message: ContactMessage, routing: ContactRouting
) -> str:
    """Start the conversation workflow if none is running (a closed one restarts), then signal the message."""
    key = await call(routing.conversation_key(client, org.name, message))
    workflow_id = workflow_id_for_key(org.name, key)
    start = ConversationStart(
        org=org.name,
        key=key,
        business_number=message.business_number,
        contact_address=message.contact_address,
        policy=org.policy(),
    )
    await call(
        client.start_workflow(
            WORKFLOW_NAME,
            start,
            id=workflow_id,
            task_queue=settings.task_queue,
            # A conversation closed when idle starts again on the next message; a running one gets the signal.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=SIGNAL_CONTACT_MESSAGE,
            start_signal_args=[message],
            search_attributes=TypedSearchAttributes([SearchAttributePair(ORG_ID, org.name)]),
            static_summary=f"WhatsApp conversation ({org.name})",
            rpc_timeout=WEBHOOK_DEADLINE,
        )
    )
    log_event(
        "webhook.signalled",
        org=org.name,
        workflow_id=workflow_id,
        signal=SIGNAL_CONTACT_MESSAGE,
        sid=message.message_sid,
        contact=mask_address(message.contact_address),
        media=len(message.media),
    )
    return workflow_id


async def signal_existing(
    client: Client, org: Org, workflow_id: str, signal: str, payload: BaseModel, sid: str
) -> None:
    """Signal a running workflow; raises `WorkflowNotFound` if it has finished or never existed."""
    handle = client.get_workflow_handle(workflow_id)
    await call(handle.signal(signal, payload, rpc_timeout=WEBHOOK_DEADLINE))
    log_event("webhook.signalled", org=org.name, workflow_id=workflow_id, signal=signal, sid=sid)


async def signal_running(
    client: Client, org: Org, endpoint: str, workflow_id: str, signal: str, payload: BaseModel, sid: str
) -> Response:
    """Signal a running workflow (204); an event for one that has finished or never existed is ignored (2xx):
    only a contact message starts a conversation."""
    try:
        await signal_existing(client, org, workflow_id, signal, payload, sid)
    except WorkflowNotFound:
        return ignored(org.name, endpoint, f"conversation {workflow_id} is not running", logging.WARNING)
    return recorded()
