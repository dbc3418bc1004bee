"""Listing conversations from Temporal visibility, stuck ones first, with an opaque page token.

SQL visibility (dev server, PostgreSQL) has no ORDER BY, so "stuck first" is two queries run one after
the other (`HandoffStuck = true`, then not stuck); the page token records which one and Temporal's own
token within it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecution

from api.errors import TemporalUnavailable, bad_field
from api.models import ConversationSummary
from api.temporal import ADMIN_DEADLINE, call
from contracts.ids import parse_workflow_id
from contracts.search_attributes import (
    CONVERSATION_STATE,
    FLEX_TASK_SID,
    HANDOFF_REQUESTED_AT,
    HANDOFF_STUCK,
    WINDOW_EXPIRES_AT,
)
from contracts.signals import WORKFLOW_NAME

_STUCK = "HandoffStuck = true"
_NOT_STUCK = "(HandoffStuck = false OR HandoffStuck IS NULL)"


@dataclass(frozen=True)
class Filters:
    org: str | None  # validated org name (a known org)
    state: str | None  # one of ConversationStateName
    stuck: bool | None

    def phases(self) -> list[str]:
        base = [f"WorkflowType = '{WORKFLOW_NAME}'"]
        if self.org:
            base.append(f"OrgId = '{self.org}'")
        if self.state:
            base.append(f"ConversationState = '{self.state}'")
        stuck_parts = {True: [_STUCK], False: [_NOT_STUCK], None: [_STUCK, _NOT_STUCK]}[self.stuck]
        return [" AND ".join([*base, part]) for part in stuck_parts]

    def fingerprint(self) -> str:
        return hashlib.sha256(repr((self.org, self.state, self.stuck)).encode()).hexdigest()[:12]


def encode_token(filters: Filters, phase: int, temporal_token: bytes | None) -> str:
    data = {
        "f": filters.fingerprint(),
        "p": phase,
        "t": base64.b64encode(temporal_token).decode() if temporal_token else None,
    }
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_token(filters: Filters, token: str | None) -> tuple[int, bytes | None]:
    if not token:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        phase, raw = data["p"], data["t"]
        fingerprint = data["f"]
        temporal_token = base64.b64decode(raw) if raw else None
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise bad_field("page_token", "not a page token from this API") from None
    if fingerprint != filters.fingerprint():
        raise bad_field("page_token", "belongs to a listing with other filters")
    if not isinstance(phase, int) or not 0 <= phase < len(filters.phases()):
        raise bad_field("page_token", "not a page token from this API")
    return phase, temporal_token


async def list_page(
    client: Client, filters: Filters, page_size: int, token: str | None
) -> tuple[list[ConversationSummary], str | None]:
    phases = filters.phases()
    phase, temporal_token = decode_token(filters, token)
    items: list[ConversationSummary] = []
    while phase < len(phases):
        page, temporal_token = await workflow_page(client, phases[phase], page_size - len(items), temporal_token)
        items.extend(summary(w) for w in page)
        if temporal_token:
            if len(items) >= page_size:
                return items, encode_token(filters, phase, temporal_token)
            continue
        phase += 1
    return items, None


async def workflow_page(
    client: Client, query: str, page_size: int, temporal_token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    """One page of a visibility query and the token of the next (None after the last); a token Temporal
    refuses is the caller's `page_token` at fault (422)."""
    iterator = client.list_workflows(
        query, page_size=page_size, next_page_token=temporal_token, rpc_timeout=ADMIN_DEADLINE
    )
    try:
        await call(iterator.fetch_next_page(), ADMIN_DEADLINE)
    except TemporalUnavailable as exc:
        if temporal_token and exc.reason == "INVALID_ARGUMENT":
            raise bad_field("page_token", "refused by Temporal (expired or tampered with)") from None
        raise
    return list(iterator.current_page or []), iterator.next_page_token or None


def summary(execution: WorkflowExecution) -> ConversationSummary:
    attrs = execution.typed_search_attributes
    try:
        org, key = parse_workflow_id(execution.id)
    except ValueError:
        org, key = "", ""
    return ConversationSummary(
        workflow_id=execution.id,
        org=org,
        key=key,
        status=execution.status.name if execution.status else "UNKNOWN",
        state=attrs.get(CONVERSATION_STATE),
        stuck=bool(attrs.get(HANDOFF_STUCK)),
        handoff_requested_at=attrs.get(HANDOFF_REQUESTED_AT),
        window_expires_at=attrs.get(WINDOW_EXPIRES_AT),
        flex_task_sid=attrs.get(FLEX_TASK_SID),
        started_at=execution.start_time,
        closed_at=execution.close_time,
    )
