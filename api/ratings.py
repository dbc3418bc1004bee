"""The contacts' ratings, read from Temporal: visibility finds the conversations with one (`CsatAt` is set), each
conversation's `state` query gives all of its ratings with their session, channel and the masked contact.

Visibility holds only a conversation's latest rating, so it can narrow by `since` (a conversation whose latest
rating is older has none since) but not by `until`: each rating is filtered by both afterwards. A conversation
whose state cannot be read (no worker, a query timeout) still shows its latest rating from visibility.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import hashlib
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from api.errors import ApiError, TemporalUnavailable, bad_field
from api.temporal import ADMIN_DEADLINE, WorkflowNotFound, call
from api.visibility import workflow_page
from contracts.csat import CSV_COLUMNS, CsatFilter, CsatRating
from contracts.ids import parse_workflow_id
from contracts.search_attributes import CSAT_AT, CSAT_SCORE
from contracts.signals import QUERY_STATE, WORKFLOW_NAME

# State queries in flight at once (each replays the conversation on a worker when it is not cached).
STATE_READS = 8
# An export reads every matching conversation: beyond this, narrow it with since/until or org.
EXPORT_MAX_CONVERSATIONS = 10_000


def visibility_query(flt: CsatFilter) -> str:
    parts = [f"WorkflowType = '{WORKFLOW_NAME}'", f"{CSAT_AT.name} IS NOT NULL"]
    if flt.org:
        parts.append(f"OrgId = '{flt.org}'")
    if flt.since is not None:
        parts.append(f"{CSAT_AT.name} >= '{_rfc3339(flt.since)}'")
    return " AND ".join(parts)


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fingerprint(flt: CsatFilter) -> str:
    return hashlib.sha256(repr((flt.org, flt.since, flt.until)).encode()).hexdigest()[:12]


def encode_token(flt: CsatFilter, temporal_token: bytes) -> str:
    data = {"f": _fingerprint(flt), "t": base64.b64encode(temporal_token).decode()}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_token(flt: CsatFilter, token: str | None) -> bytes | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        fingerprint, raw = data["f"], data["t"]
        temporal_token = base64.b64decode(raw)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise bad_field("page_token", "not a page token from this API") from None
    if fingerprint != _fingerprint(flt):
        raise bad_field("page_token", "belongs to a listing with other filters")
    return temporal_token


async def conversations_page(
    client: Client, flt: CsatFilter, page_size: int, temporal_token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    return await workflow_page(client, visibility_query(flt), page_size, temporal_token)


async def ratings_of(client: Client, executions: Iterable[WorkflowExecution], flt: CsatFilter) -> list[CsatRating]:
    """Every rating of these conversations that the filter takes, conversation by conversation, oldest first."""
    gate = asyncio.Semaphore(STATE_READS)

    async def one(execution: WorkflowExecution) -> list[CsatRating]:
        async with gate:
            return await _conversation_ratings(client, execution, flt)

    per_conversation = await asyncio.gather(*(one(e) for e in executions))
    return [rating for ratings in per_conversation for rating in ratings]


async def _conversation_ratings(client: Client, execution: WorkflowExecution, flt: CsatFilter) -> list[CsatRating]:
    try:
        org, _ = parse_workflow_id(execution.id)
    except ValueError:
        return []
    state = await _state(client, execution.id)
    if state is None:
        return [r for r in [_latest_from_visibility(org, execution)] if r is not None and flt.takes(r.at)]
    contact = state.get("contact_masked")
    out = []
    for raw in state.get("ratings") or []:
        rating = CsatRating(org=org, workflow_id=execution.id, contact=contact, **raw)
        if flt.takes(rating.at):
            out.append(rating)
    return sorted(out, key=lambda r: r.at)


async def _state(client: Client, workflow_id: str) -> dict[str, Any] | None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        state = await call(handle.query(QUERY_STATE, rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
    except (WorkflowNotFound, TemporalUnavailable, WorkflowQueryFailedError, WorkflowQueryRejectedError, RPCError):
        return None
    return state if isinstance(state, dict) else None


def _latest_from_visibility(org: str, execution: WorkflowExecution) -> CsatRating | None:
    attrs = execution.typed_search_attributes
    score, at = attrs.get(CSAT_SCORE), attrs.get(CSAT_AT)
    if score is None or at is None or not 1 <= score <= 5:
        return None
    return CsatRating(org=org, workflow_id=execution.id, score=score, at=at)


async def all_ratings(client: Client, flt: CsatFilter) -> list[CsatRating]:
    """Every rating the filter takes, oldest first (the export)."""
    executions: list[WorkflowExecution] = []
    token: bytes | None = None
    while True:
        page, token = await conversations_page(client, flt, 100, token)
        executions += page
        if len(executions) > EXPORT_MAX_CONVERSATIONS:
            raise ApiError(
                422, f"more than {EXPORT_MAX_CONVERSATIONS} rated conversations: narrow the export with since/until"
            )
        if token is None:
            break
    ratings = await ratings_of(client, executions, flt)
    return sorted(ratings, key=lambda r: (r.at, r.workflow_id))


def as_csv(ratings: Iterable[CsatRating]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in ratings:
        row = r.model_dump(mode="json")
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A spreadsheet reads a cell starting with = + - @ as a formula (a masked "+*********86" too): such cells
    get a leading apostrophe, which spreadsheets show as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
