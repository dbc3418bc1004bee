"""`POST /webhooks/{org}/whatsapp/status/{key}`: the StatusCallback of a message the service sent."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import NowDep, OrgDep, SignedFieldsDep, TemporalDep
from api.parse import SIGNALLED_DELIVERY_STATUSES, parse_delivery_status, parse_key
from api.responses import WEBHOOK_ERRORS, form_body, ignored
from api.signalling import signal_running
from contracts.ids import workflow_id_for_key
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
    parse_key(key)
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
    # A late status for a finished conversation changes nothing.
    return await signal_running(
        client, org, "whatsapp_status", workflow_id, SIGNAL_DELIVERY_STATUS, status, status.message_sid
    )
