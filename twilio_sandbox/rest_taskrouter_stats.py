"""TaskRouter statistics under `/taskrouter`: TaskQueue (one, all, bulk), workspace, workers, one worker and
workflow; real-time, cumulative and combined (`…/Statistics`).

`app.py` includes this router before `rest_taskrouter`'s: the literal paths `…/TaskQueues/Statistics`,
`POST …/TaskQueues/RealTimeStatistics` and `…/Workers/{Statistics,RealTimeStatistics,CumulativeStatistics}` have
the shape of `…/TaskQueues/{Sid}` and `…/Workers/{Sid}`, and the first route that matches wins."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, error_response, found, not_found
from twilio_sandbox.formats import page_v1, url
from twilio_sandbox.forms import check_query, read_json
from twilio_sandbox.ratelimit import RateLimit
from twilio_sandbox.state import TaskQueue, Worker
from twilio_sandbox.taskrouter_stats import Statistics, Window, parse_window

router = APIRouter(prefix="/taskrouter", dependencies=[Depends(require_auth)])
WS = "/v1/Workspaces/{WorkspaceSid}"
QUEUE_SID = re.compile(r"^WQ[0-9a-fA-F]{32}$")
BULK_MAX_QUEUES = 50
# "Bulk retrieval … is rate limited to 5 requests per second" (taskqueue-statistics docs).
BULK_LIMIT = ("bulk-queue-real-time-statistics", 5, 1.0)


def _sb(request: Request, workspace_sid: str) -> Sandbox:
    check_query(request)
    sb = get_sb(request)
    if workspace_sid != sb.state.workspace.sid:
        raise not_found("Workspace", workspace_sid)
    return sb


def _stats(request: Request, sb: Sandbox) -> Statistics:
    ref = request.query_params.get("TaskChannel")
    channel = sb.engine.channel_name(ref) if ref else None
    return Statistics(sb.state, sb.engine, sb.now(), channel)


def _window(request: Request, sb: Sandbox) -> Window:
    return parse_window(request.query_params, sb.now())


def _head(sb: Sandbox, path: str | None, **sids: str) -> dict[str, Any]:
    head: dict[str, Any] = {"account_sid": sb.state.account_sid, "workspace_sid": sb.state.workspace.sid, **sids}
    if path is not None:
        head["url"] = url("taskrouter", f"/v1/Workspaces/{sb.state.workspace.sid}{path}")
    return head


def _queue(sb: Sandbox, sid: str) -> TaskQueue:
    q: TaskQueue = found(sb.state.queues, sid, "TaskQueue")
    return q


# --- task queues --------------------------------------------------------------------------------------------------
@router.get(WS + "/TaskQueues/Statistics")
async def list_queue_statistics(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    stats, window = _stats(request, sb), _window(request, sb)
    name = request.query_params.get("FriendlyName")
    items = [
        {
            **_head(sb, None, task_queue_sid=q.sid),
            "realtime": stats.queue_realtime(q),
            "cumulative": stats.queue_cumulative(q, window),
        }
        for q in sb.state.queues.values()
        if name is None or q.friendly_name == name
    ]
    return page_v1(
        request, "taskrouter", f"/v1/Workspaces/{WorkspaceSid}/TaskQueues/Statistics", "task_queues_statistics", items
    )


def _bulk_queue_sids(body: dict[str, Any]) -> list[str]:
    # The docs' example sends `queueSids`, their parameter table says `QueueSids`: both are accepted.
    sids = body.get("queueSids", body.get("QueueSids"))
    if not isinstance(sids, list) or not all(isinstance(s, str) for s in sids):
        raise TwilioError(400, 20001, "QueueSids must be a list of TaskQueue SIDs")
    if not 1 <= len(sids) <= BULK_MAX_QUEUES:
        raise TwilioError(400, 20001, f"QueueSids must hold 1 to {BULK_MAX_QUEUES} TaskQueue SIDs, not {len(sids)}")
    bad = [s for s in sids if not QUEUE_SID.match(s)]
    if bad:
        raise TwilioError(400, 20001, f"Invalid TaskQueue SID(s) in QueueSids: {', '.join(bad)}")
    return sids


def _bulk_item(stats: Statistics, sb: Sandbox, sid: str) -> dict[str, Any]:
    """Documented: a valid SID that is not a queue of this workspace comes back "with zero values"."""
    queue = sb.state.queues.get(sid)
    figures = stats.queue_realtime(queue) if queue is not None else None
    keys = (
        "total_available_workers",
        "total_eligible_workers",
        "total_tasks",
        "longest_task_waiting_age",
        "longest_task_waiting_sid",
        "tasks_by_status",
        "tasks_by_priority",
        "activity_statistics",
    )
    if figures is None:
        zero: dict[str, Any] = {k: 0 for k in keys}
        zero.update(
            longest_task_waiting_sid=None,
            tasks_by_status={"reserved": 0, "pending": 0, "assigned": 0, "wrapping": 0},
            tasks_by_priority={},
            activity_statistics=[],
        )
        figures = zero
    return {"task_queue_sid": sid, **{k: figures[k] for k in keys}}


@router.post(WS + "/TaskQueues/RealTimeStatistics")
async def bulk_queue_statistics(request: Request, WorkspaceSid: str) -> JSONResponse:
    sb = _sb(request, WorkspaceSid)
    name, limit, per = BULK_LIMIT
    if not sb.rate_limits.setdefault(name, RateLimit(limit, per)).allow():
        return error_response(
            429, 20429, f"Too Many Requests: at most {limit} bulk statistics requests a second", {"Retry-After": "1"}
        )
    sids = _bulk_queue_sids(await read_json(request))
    stats = _stats(request, sb)
    data = [_bulk_item(stats, sb, sid) for sid in sids]
    body = {
        **_head(sb, "/TaskQueues/RealTimeStatistics"),
        "task_queue_data": data,
        "task_queue_response_count": len(data),
    }
    return JSONResponse(body)


@router.get(WS + "/TaskQueues/{TaskQueueSid}/RealTimeStatistics")
async def queue_real_time(request: Request, WorkspaceSid: str, TaskQueueSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    q = _queue(sb, TaskQueueSid)
    head = _head(sb, f"/TaskQueues/{q.sid}/RealTimeStatistics", task_queue_sid=q.sid)
    return {**head, **_stats(request, sb).queue_realtime(q)}


@router.get(WS + "/TaskQueues/{TaskQueueSid}/CumulativeStatistics")
async def queue_cumulative(request: Request, WorkspaceSid: str, TaskQueueSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    q = _queue(sb, TaskQueueSid)
    head = _head(sb, f"/TaskQueues/{q.sid}/CumulativeStatistics", task_queue_sid=q.sid)
    return {**head, **_stats(request, sb).queue_cumulative(q, _window(request, sb))}


@router.get(WS + "/TaskQueues/{TaskQueueSid}/Statistics")
async def queue_statistics(request: Request, WorkspaceSid: str, TaskQueueSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    q = _queue(sb, TaskQueueSid)
    stats, window = _stats(request, sb), _window(request, sb)
    head = _head(sb, f"/TaskQueues/{q.sid}/Statistics", task_queue_sid=q.sid)
    return {**head, "realtime": stats.queue_realtime(q), "cumulative": stats.queue_cumulative(q, window)}


# --- workspace ----------------------------------------------------------------------------------------------------
@router.get(WS + "/RealTimeStatistics")
async def workspace_real_time(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    return {**_head(sb, "/RealTimeStatistics"), **_stats(request, sb).workspace_realtime()}


@router.get(WS + "/CumulativeStatistics")
async def workspace_cumulative(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    return {**_head(sb, "/CumulativeStatistics"), **_stats(request, sb).workspace_cumulative(_window(request, sb))}


@router.get(WS + "/Statistics")
async def workspace_statistics(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    stats, window = _stats(request, sb), _window(request, sb)
    return {
        **_head(sb, "/Statistics"),
        "realtime": stats.workspace_realtime(),
        "cumulative": stats.workspace_cumulative(window),
    }


# --- workers ------------------------------------------------------------------------------------------------------
def _workers(request: Request, sb: Sandbox, stats: Statistics) -> list[Worker]:
    """The workers `Workers/Statistics` is asked about: `TaskQueueSid`/`TaskQueueName` (eligible for that queue),
    `FriendlyName`."""
    qp = request.query_params
    workers = list(sb.state.workers.values())
    queue: TaskQueue | None = None
    if "TaskQueueSid" in qp:
        queue = _queue(sb, qp["TaskQueueSid"])
    elif "TaskQueueName" in qp:
        queue = next((q for q in sb.state.queues.values() if q.friendly_name == qp["TaskQueueName"]), None)
        if queue is None:
            raise not_found("TaskQueue", qp["TaskQueueName"])
    if queue is not None:
        eligible = {w.sid for w in stats.eligible(queue)}
        workers = [w for w in workers if w.sid in eligible]
    if "FriendlyName" in qp:
        workers = [w for w in workers if w.friendly_name == qp["FriendlyName"]]
    return workers


@router.get(WS + "/Workers/RealTimeStatistics")
async def workers_real_time(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    return {
        **_head(sb, "/Workers/RealTimeStatistics"),
        **_stats(request, sb).workers_realtime(list(sb.state.workers.values())),
    }


@router.get(WS + "/Workers/CumulativeStatistics")
async def workers_cumulative(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    figures = _stats(request, sb).workers_cumulative(list(sb.state.workers.values()), _window(request, sb))
    return {**_head(sb, "/Workers/CumulativeStatistics"), **figures}


@router.get(WS + "/Workers/Statistics")
async def workers_statistics(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    stats, window = _stats(request, sb), _window(request, sb)
    workers = _workers(request, sb, stats)
    return {
        **_head(sb, "/Workers/Statistics"),
        "realtime": stats.workers_realtime(workers),
        "cumulative": stats.workers_cumulative(workers, window),
    }


@router.get(WS + "/Workers/{WorkerSid}/Statistics")
async def worker_statistics(request: Request, WorkspaceSid: str, WorkerSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    worker: Worker = found(sb.state.workers, WorkerSid, "Worker")
    cumulative = _stats(request, sb).workers_cumulative([worker], _window(request, sb))
    return {**_head(sb, f"/Workers/{worker.sid}/Statistics", worker_sid=worker.sid), "cumulative": cumulative}


# --- workflows ----------------------------------------------------------------------------------------------------
def _workflow_sid(sb: Sandbox, sid: str) -> str:
    found(sb.state.workflows, sid, "Workflow")
    return sid


@router.get(WS + "/Workflows/{WorkflowSid}/RealTimeStatistics")
async def workflow_real_time(request: Request, WorkspaceSid: str, WorkflowSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    sid = _workflow_sid(sb, WorkflowSid)
    head = _head(sb, f"/Workflows/{sid}/RealTimeStatistics", workflow_sid=sid)
    return {**head, **_stats(request, sb).workflow_realtime(sid)}


@router.get(WS + "/Workflows/{WorkflowSid}/CumulativeStatistics")
async def workflow_cumulative(request: Request, WorkspaceSid: str, WorkflowSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    sid = _workflow_sid(sb, WorkflowSid)
    head = _head(sb, f"/Workflows/{sid}/CumulativeStatistics", workflow_sid=sid)
    return {**head, **_stats(request, sb).workflow_cumulative(sid, _window(request, sb))}


@router.get(WS + "/Workflows/{WorkflowSid}/Statistics")
async def workflow_statistics(request: Request, WorkspaceSid: str, WorkflowSid: str) -> dict[str, Any]:
    sb = _sb(request, WorkspaceSid)
    sid = _workflow_sid(sb, WorkflowSid)
    stats, window = _stats(request, sb), _window(request, sb)
    head = _head(sb, f"/Workflows/{sid}/Statistics", workflow_sid=sid)
    return {**head, "realtime": stats.workflow_realtime(sid), "cumulative": stats.workflow_cumulative(sid, window)}
