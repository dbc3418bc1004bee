"""Admin API: list conversations (stuck first), read one, request a handoff, send a template. Bearer token."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError

from api.deps import AdminDep, OrgsDep, TemporalDep
from api.errors import ApiError, bad_field
from api.logs import log_event
from api.models import (
    ConversationDetail,
    ConversationPage,
    ErrorBody,
    HandoffBody,
    ListQuery,
    SignalAccepted,
    TemplateBody,
)
from api.temporal import ADMIN_DEADLINE, WorkflowNotFound, call
from api.visibility import Filters, list_page
from contracts.ids import parse_workflow_id
from contracts.signals import (
    QUERY_STATE,
    QUERY_TRANSCRIPT,
    SIGNAL_REQUEST_HANDOFF,
    SIGNAL_SEND_TEMPLATE,
    HandoffRequest,
    TemplateSendRequest,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body is not JSON"},
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "No such conversation or org"},
    422: {"model": ErrorBody, "description": "Invalid parameter (named in `field`)"},
    502: {"model": ErrorBody, "description": "The workflow did not answer a query"},
    503: {"model": ErrorBody, "description": "Admin API disabled, or Temporal unavailable"},
}
router = APIRouter(prefix="/conversations", tags=["admin"], dependencies=[AdminDep], responses=_ERRORS)

WorkflowIdPath = Annotated[
    str,
    Path(
        description="A conversation workflow id, wa-conv:{org}:{key}",
        pattern=r"^wa-conv:[a-z0-9][a-z0-9_-]{0,62}:[0-9a-f]{32}$",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Makes a retried request act once (the workflow de-duplicates on it)",
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
    ),
]


@router.get("", response_model=ConversationPage, summary="List conversations, stuck ones first")
async def list_conversations(
    client: TemporalDep, orgs: OrgsDep, query: Annotated[ListQuery, Query()]
) -> ConversationPage:
    if query.org is not None and orgs.get(query.org) is None:
        raise ApiError(404, f"unknown org {query.org!r}", field="org")
    filters = Filters(org=query.org, state=query.state, stuck=query.stuck)
    items, token = await list_page(client, filters, query.page_size, query.page_token)
    return ConversationPage(conversations=items, next_page_token=token)


@router.get("/{workflow_id}", response_model=ConversationDetail, summary="One conversation's state and transcript")
async def get_conversation(workflow_id: WorkflowIdPath, client: TemporalDep, orgs: OrgsDep) -> ConversationDetail:
    org, key = _known_conversation(workflow_id, orgs)
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await call(handle.describe(rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
        state = await call(handle.query(QUERY_STATE, rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
        transcript = await call(handle.query(QUERY_TRANSCRIPT, rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
    except WorkflowNotFound:
        raise ApiError(404, f"no conversation {workflow_id}") from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
        raise ApiError(502, f"the workflow did not answer the query ({type(exc).__name__})") from None
    return ConversationDetail(
        workflow_id=workflow_id,
        org=org,
        key=key,
        status=description.status.name if description.status else "UNKNOWN",
        state=state if isinstance(state, dict) else {"value": state},
        transcript=[line if isinstance(line, dict) else {"value": line} for line in (transcript or [])],
    )


@router.post(
    "/{workflow_id}/handoff",
    status_code=202,
    response_model=SignalAccepted,
    summary="Hand the conversation to a rep",
)
async def request_handoff(
    workflow_id: WorkflowIdPath,
    client: TemporalDep,
    orgs: OrgsDep,
    body: HandoffBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> SignalAccepted:
    _known_conversation(workflow_id, orgs)
    body = body or HandoffBody()
    request = HandoffRequest(request_id=_request_id(idempotency_key), reason=body.reason, summary=body.summary)
    await _signal(client, workflow_id, SIGNAL_REQUEST_HANDOFF, request)
    return SignalAccepted(workflow_id=workflow_id, request_id=request.request_id, signal=SIGNAL_REQUEST_HANDOFF)


@router.post(
    "/{workflow_id}/templates",
    status_code=202,
    response_model=SignalAccepted,
    summary="Send an approved template",
)
async def send_template(
    workflow_id: WorkflowIdPath,
    body: TemplateBody,
    client: TemporalDep,
    orgs: OrgsDep,
    idempotency_key: IdempotencyKey = None,
) -> SignalAccepted:
    org_name, _ = _known_conversation(workflow_id, orgs)
    org = orgs.get(org_name)
    assert org is not None
    if body.template_name not in org.config.templates:
        known = ", ".join(sorted(org.config.templates)) or "none configured"
        raise bad_field("template_name", f"no template of that name in org {org_name!r} (known: {known})")
    request = TemplateSendRequest(
        request_id=_request_id(idempotency_key), template_name=body.template_name, variables=body.variables
    )
    await _signal(client, workflow_id, SIGNAL_SEND_TEMPLATE, request)
    return SignalAccepted(workflow_id=workflow_id, request_id=request.request_id, signal=SIGNAL_SEND_TEMPLATE)


def _known_conversation(workflow_id: str, orgs: OrgsDep) -> tuple[str, str]:
    try:
        org, key = parse_workflow_id(workflow_id)
    except ValueError:
        raise bad_field("workflow_id", "not a conversation workflow id (wa-conv:{org}:{key})") from None
    if orgs.get(org) is None:
        raise ApiError(404, f"unknown org {org!r}")
    return org, key


def _request_id(idempotency_key: str | None) -> str:
    """The workflow de-duplicates on this id: a retried request with the same Idempotency-Key acts once."""
    return f"api-{idempotency_key}" if idempotency_key else f"api-{uuid.uuid4()}"


async def _signal(client: Client, workflow_id: str, signal: str, payload: HandoffRequest | TemplateSendRequest) -> None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        await call(handle.signal(signal, payload, rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
    except WorkflowNotFound:
        raise ApiError(404, f"no running conversation {workflow_id}") from None
    log_event("admin.signalled", workflow_id=workflow_id, signal=signal, request_id=payload.request_id)
