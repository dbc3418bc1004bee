"""`POST /webhooks/{org}/conversations/{key}`: conversation-scoped Conversations webhook (rep messages)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from api.deps import NowDep, OrgDep, SignedFieldsDep, TemporalDep
from api.errors import bad_field
from api.parse import Ignored, parse_conversation_event
from api.responses import WEBHOOK_ERRORS, form_body, ignored, recorded
from api.signalling import signal_existing
from api.temporal import WorkflowNotFound
from contracts.ids import validate_key, workflow_id_for_key
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
    try:
        validate_key(key)
    except ValueError:
        raise bad_field("key", "not a conversation key (32 hex digits)") from None
    event = parse_conversation_event(fields, org, now)
    if isinstance(event, Ignored):
        return ignored(org.name, "conversations", event.reason)
    workflow_id = workflow_id_for_key(org.name, key)
    try:
        await signal_existing(client, org, workflow_id, SIGNAL_CONVERSATION_EVENT, event, event.dedup_id)
    except WorkflowNotFound:
        # Only a contact message can (re)start a conversation; a rep typing into a finished one is logged.
        return ignored(org.name, "conversations", f"conversation {workflow_id} is not running", logging.WARNING)
    return recorded()
