"""Admin API: list conversations (stuck first), read one, hand one to a rep, send a template. Bearer token."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError

from api.commands import CommandStillRunning, read_command, run_command
from api.deps import AdminDep, OrgsDep, TemporalDep
from api.errors import ApiError, bad_field
from api.models import (
    CommandAccepted,
    CommandResult,
    ConversationDetail,
    ConversationPage,
    ErrorBody,
    HandoffBody,
    ListQuery,
    TemplateBody,
)
from api.temporal import ADMIN_DEADLINE, WorkflowNotFound, call
from api.visibility import Filters, list_page
from contracts.ids import parse_workflow_id
from contracts.signals import (
    QUERY_STATE,
    QUERY_TRANSCRIPT,
    UPDATE_REQUEST_HANDOFF,
    UPDATE_SEND_TEMPLATE,
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


_COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": CommandAccepted, "description": "Accepted and still running: read the outcome at `poll`"},
    409: {"model": ErrorBody, "description": "Nothing to do: no open session, or already with the humans"},
}


@router.post(
    "/{workflow_id}/handoff",
    response_model=CommandResult,
    responses=_COMMAND_RESPONSES,
    summary="Hand the conversation to a rep",
)
async def request_handoff(
    workflow_id: WorkflowIdPath,
    client: TemporalDep,
    orgs: OrgsDep,
    body: HandoffBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult | JSONResponse:
    _known_conversation(workflow_id, orgs)
    body = body or HandoffBody()
    request = HandoffRequest(request_id=_request_id(idempotency_key), reason=body.reason, summary=body.summary)
    return await _command(client, workflow_id, UPDATE_REQUEST_HANDOFF, request, request.request_id)


@router.post(
    "/{workflow_id}/templates",
    response_model=CommandResult,
    responses=_COMMAND_RESPONSES,
    summary="Send an approved template",
)
async def send_template(
    workflow_id: WorkflowIdPath,
    body: TemplateBody,
    client: TemporalDep,
    orgs: OrgsDep,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult | JSONResponse:
    _known_conversation(workflow_id, orgs)
    request = TemplateSendRequest(
        request_id=_request_id(idempotency_key), template_name=body.template_name, variables=body.variables
    )
    return await _command(client, workflow_id, UPDATE_SEND_TEMPLATE, request, request.request_id)


@router.get(
    "/{workflow_id}/commands/{request_id}",
    response_model=CommandResult,
    responses=_COMMAND_RESPONSES,
    summary="The outcome of a command that answered 202",
)
async def get_command(
    workflow_id: WorkflowIdPath,
    request_id: Annotated[str, Path(pattern=r"^api-[A-Za-z0-9._:-]{1,128}$")],
    client: TemporalDep,
    orgs: OrgsDep,
) -> CommandResult | JSONResponse:
    _known_conversation(workflow_id, orgs)
    try:
        outcome = await read_command(client, workflow_id, request_id)
    except CommandStillRunning:
        return _still_running(workflow_id, request_id)
    return CommandResult(workflow_id=workflow_id, **outcome.model_dump())


async def _command(
    client: Client, workflow_id: str, update: str, payload: BaseModel, request_id: str
) -> CommandResult | JSONResponse:
    try:
        outcome = await run_command(client, workflow_id, update, payload, request_id)
    except CommandStillRunning:
        return _still_running(workflow_id, request_id)
    return CommandResult(workflow_id=workflow_id, **outcome.model_dump())


def _still_running(workflow_id: str, request_id: str) -> JSONResponse:
    accepted = CommandAccepted(
        workflow_id=workflow_id,
        request_id=request_id,
        poll=f"/conversations/{workflow_id}/commands/{request_id}",
    )
    return JSONResponse(accepted.model_dump(), status_code=202)


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
