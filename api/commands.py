"""Operator commands as workflow updates: sent, validated by the workflow (a refusal leaves no history event), and
answered with what happened.

The workflow carries a command out in its main loop, after the step it is in (an AI turn can take a minute):
the API waits a short while for the outcome and otherwise answers 202 with where to read it later.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.logs import log_event
from api.temporal import ADMIN_DEADLINE, WorkflowNotFound, call
from contracts.signals import (
    REFUSED_ALREADY_HANDED_OFF,
    REFUSED_BAD_TEMPLATE_VARIABLES,
    REFUSED_NOTHING_TO_HAND_OFF,
    REFUSED_UNKNOWN_TEMPLATE,
    CommandOutcome,
)

# How long a request waits for the outcome before answering 202 (the command still runs).
OUTCOME_WAIT = timedelta(seconds=8)

# The workflow's refusals, as HTTP answers.
REFUSAL_STATUS = {
    REFUSED_NOTHING_TO_HAND_OFF: 409,
    REFUSED_ALREADY_HANDED_OFF: 409,
    REFUSED_UNKNOWN_TEMPLATE: 422,
    REFUSED_BAD_TEMPLATE_VARIABLES: 422,
}
# Outcomes that say the command could not be carried out after all.
CONFLICT_OUTCOMES = frozenset({"nothing_to_hand_off"})


class CommandStillRunning(Exception):
    """The workflow accepted the command and has not finished it yet."""


async def run_command(
    client: Client, workflow_id: str, update: str, payload: BaseModel, request_id: str
) -> CommandOutcome:
    """Send the update and wait briefly for its outcome. Refusals raise `ApiError` (409/422); a command still
    running raises `CommandStillRunning`."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        accepted: WorkflowUpdateHandle[CommandOutcome] = await call(
            handle.start_update(
                update,
                payload,
                id=request_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=CommandOutcome,
                rpc_timeout=ADMIN_DEADLINE,
            ),
            ADMIN_DEADLINE,
        )
    except WorkflowNotFound:
        raise ApiError(404, f"no running conversation {workflow_id}") from None
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    log_event("admin.command", workflow_id=workflow_id, update=update, request_id=request_id)
    return await command_outcome(accepted)


async def read_command(client: Client, workflow_id: str, request_id: str) -> CommandOutcome:
    """The outcome of a command accepted earlier (404 when the workflow knows no such command)."""
    handle = client.get_workflow_handle(workflow_id)
    return await command_outcome(handle.get_update_handle(request_id, result_type=CommandOutcome))


async def command_outcome(accepted: WorkflowUpdateHandle[CommandOutcome]) -> CommandOutcome:
    try:
        outcome = await asyncio.wait_for(accepted.result(rpc_timeout=OUTCOME_WAIT), OUTCOME_WAIT.total_seconds() + 1)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise CommandStillRunning from None
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(404, "no such command on this conversation") from None
        raise
    if outcome.outcome in CONFLICT_OUTCOMES:
        raise ApiError(409, outcome.detail or outcome.outcome)
    return outcome


def _refusal(exc: WorkflowUpdateFailedError) -> ApiError:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type in REFUSAL_STATUS:
        return ApiError(REFUSAL_STATUS[cause.type], cause.message)
    return ApiError(500, f"the conversation failed the command ({type(cause).__name__})")
