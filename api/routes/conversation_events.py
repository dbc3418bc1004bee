"""`POST /webhooks/{org}/conversations/{key}`: conversation-scoped Conversations webhook (rep messages)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import NowDep, OrgDep, SignedFieldsDep, TemporalDep
from api.parse import Ignored, parse_conversation_event, parse_key
from api.responses import WEBHOOK_ERRORS, form_body, ignored
from api.signalling import signal_running
from contracts.ids import workflow_id_for_key
from contracts.signals import SIGNAL_CONVERSATION_EVENT

router = APIRouter(prefix="/webhooks/{org}", tags=["webhooks"], responses=WEBHOOK_ERRORS)


@router.post(
    "/conversations/{key}",
    openapi_extra=form_body(
        "Conversations post-event webhook fields",
        ["EventType", "AccountSid", "ConversationSid"],
        [
            "MessageSid",
            "Author",
            "Body",
            "Media",
            "Attributes",
            "ParticipantSid",
            "Source",
            "DateCreated",
            "ChatServiceSid",
        ],
    ),
    status_code=204,
    summary="Conversations event of one conversation's Flex thread",
)
async def conversation_event(
    key: str, org: OrgDep, fields: SignedFieldsDep, client: TemporalDep, now: NowDep
) -> Response:
    parse_key(key)
    event = parse_conversation_event(fields, org, now)
    if isinstance(event, Ignored):
        return ignored(org.name, "conversations", event.reason)
    workflow_id = workflow_id_for_key(org.name, key)
    # A rep typing into a finished conversation is logged, not signalled.
    return await signal_running(
        client, org, "conversations", workflow_id, SIGNAL_CONVERSATION_EVENT, event, event.dedup_id
    )
