"""`POST /webhooks/{org}/whatsapp/status/{key}`: the StatusCallback of a message the service sent."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from api.deps import NowDep, OrgDep, SignedFieldsDep, TemporalDep
from api.errors import bad_field
from api.parse import SIGNALLED_DELIVERY_STATUSES, parse_delivery_status
from api.responses import WEBHOOK_ERRORS, form_body, ignored, recorded
from api.signalling import signal_existing
from api.temporal import WorkflowNotFound
from contracts.ids import validate_key, workflow_id_for_key
from contracts.signals import SIGNAL_DELIVERY_STATUS

router = APIRouter(prefix="/webhooks/{org}", tags=["webhooks"], responses=WEBHOOK_ERRORS)


@router.post(
    "/whatsapp/status/{key}",
    openapi_extra=form_body(
        "Twilio message StatusCallback fields",
        ["MessageSid", "AccountSid", "MessageStatus"],
        ["ErrorCode", "ChannelStatusMessage", "From", "To"],
    ),
    status_code=204,
    summary="Delivery status of a sent WhatsApp message",
)
async def whatsapp_status(key: str, org: OrgDep, fields: SignedFieldsDep, client: TemporalDep, now: NowDep) -> Response:
    try:
        validate_key(key)
    except ValueError:
        raise bad_field("key", "not a conversation key (32 hex digits)") from None
    status = parse_delivery_status(fields, org, now)
    if status.status not in SIGNALLED_DELIVERY_STATUSES:
        # Each signal is a billed action on Temporal Cloud and only a failure changes anything in the workflow:
        # it reads back the status of every send still pending after `delivery_check_seconds` (one batched
        # fetch), so anything else (queued, sent, delivered, read, canceled, …) needs no signal.
        return ignored(
            org.name,
            "whatsapp_status",
            f"status {status.status!r} needs no signal: the workflow reads back statuses of its sends (delivery check)",
        )
    workflow_id = workflow_id_for_key(org.name, key)
    try:
        await signal_existing(client, org, workflow_id, SIGNAL_DELIVERY_STATUS, status, status.message_sid)
    except WorkflowNotFound:
        # A late status for a finished conversation changes nothing any more.
        return ignored(org.name, "whatsapp_status", f"conversation {workflow_id} is not running", logging.WARNING)
    return recorded()
