"""`POST /webhooks/{org}/taskrouter`: workspace events, routed by the task's `waHandoff.workflowId`.

Only the event types the workflow can act on are signalled (`rules.taskrouter_filter`); the others
(task.created, task.updated, …) of our tasks are answered 2xx and ignored: each signal is a billed action.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import NowDep, OrgDep, SignedFieldsDep, TemporalDep
from api.parse import Ignored, parse_taskrouter_event
from api.responses import WEBHOOK_ERRORS, form_body, ignored
from api.signalling import signal_running
from contracts.signals import SIGNAL_TASKROUTER_EVENT

router = APIRouter(prefix="/webhooks/{org}", tags=["webhooks"], responses=WEBHOOK_ERRORS)


@router.post(
    "/taskrouter",
    openapi_extra=form_body(
        "TaskRouter event callback fields",
        ["Sid", "EventType", "AccountSid", "WorkspaceSid"],
        [
            "TaskSid",
            "TaskAttributes",
            "TaskAssignmentStatus",
            "TaskQueueSid",
            "ReservationSid",
            "WorkerSid",
            "WorkerName",
            "Timestamp",
        ],
    ),
    status_code=204,
    summary="TaskRouter workspace event callback",
)
async def taskrouter_event(org: OrgDep, fields: SignedFieldsDep, client: TemporalDep, now: NowDep) -> Response:
    routed = parse_taskrouter_event(fields, org, now)
    if isinstance(routed, Ignored):
        return ignored(org.name, "taskrouter", routed.reason)
    return await signal_running(
        client, org, "taskrouter", routed.workflow_id, SIGNAL_TASKROUTER_EVENT, routed.event, routed.event.event_sid
    )
