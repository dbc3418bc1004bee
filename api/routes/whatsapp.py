"""`POST /webhooks/{org}/whatsapp`: inbound WhatsApp message → signal-with-start of its workflow."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ContactRoutingDep, NowDep, OrgDep, SettingsDep, SignedFieldsDep, TemporalDep
from api.parse import parse_contact_message
from api.responses import WEBHOOK_ERRORS, form_body, twiml_ok
from api.signalling import signal_with_start

router = APIRouter(prefix="/webhooks/{org}", tags=["webhooks"], responses=WEBHOOK_ERRORS)


@router.post(
    "/whatsapp",
    openapi_extra=form_body(
        "Twilio Messaging inbound message fields",
        ["MessageSid", "AccountSid", "From", "To"],
        [
            "Body",
            "NumMedia",
            "MediaUrl0",
            "MediaContentType0",
            "ProfileName",
            "WaId",
            "ExternalUserId",
            "ParentExternalUserId",
            "ProfileUsername",
            "ButtonPayload",
            "ButtonText",
        ],
    ),
    summary="Inbound WhatsApp message (Twilio Messaging webhook)",
)
async def inbound_whatsapp(
    org: OrgDep,
    fields: SignedFieldsDep,
    client: TemporalDep,
    settings: SettingsDep,
    now: NowDep,
    routing: ContactRoutingDep,
) -> Response:
    message = parse_contact_message(fields, org, now)
    await signal_with_start(client, settings, org, message, routing)
    # Empty TwiML: the reply (if any) is sent by the workflow, not in this response.
    return twiml_ok()
