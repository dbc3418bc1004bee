"""TaskRouter v1 under `/taskrouter`: workspace, activities, task channels, queues, workflows, workers
(+channels),
tasks (ETag / If-Match), reservations, events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import JSONResponse

from twilio_sandbox import expressions
from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.engine import TASK_STATUSES, attrs_for_matching, loads_attrs
from twilio_sandbox.errors import TwilioError, found, not_found
from twilio_sandbox.etags import check_if_match, etag, list_etag, with_etag
from twilio_sandbox.formats import iso, page_v1, url
from twilio_sandbox.forms import check_query, parse_json_object, read_form
from twilio_sandbox.state import Activity, Reservation, Task, TaskQueue, Worker, Workflow
from twilio_sandbox.task_ordering import order_tasks, parse_ordering

router = APIRouter(prefix="/taskrouter", dependencies=[Depends(require_auth)])
WS = "/v1/Workspaces/{WorkspaceSid}"


def _u(path: str) -> str:
    return url("taskrouter", path)


def _ws(request: Request, workspace_sid: str) -> Sandbox:
    sb = get_sb(request)
    if workspace_sid != sb.state.workspace.sid:
        raise not_found("Workspace", workspace_sid)
    return sb


# --- views --------------------------------------------------------------------------------------------------
def workspace_json(sb: Sandbox) -> dict[str, Any]:
    ws = sb.state.workspace
    acts = sb.state.activities
    base = f"/v1/Workspaces/{ws.sid}"
    return {
        "account_sid": sb.state.account_sid,
        "date_created": iso(ws.date_created),
        "date_updated": iso(ws.date_updated),
        "default_activity_name": acts[ws.default_activity_sid].friendly_name,
        "default_activity_sid": ws.default_activity_sid,
        "event_callback_url": ws.event_callback_url,
        "events_filter": ws.events_filter,
        "friendly_name": ws.friendly_name,
        "multi_task_enabled": ws.multi_task_enabled,
        "sid": ws.sid,
        "timeout_activity_name": acts[ws.timeout_activity_sid].friendly_name,
        "timeout_activity_sid": ws.timeout_activity_sid,
        "prioritize_queue_order": ws.prioritize_queue_order,
        "url": _u(base),
        "links": {
            k: _u(f"{base}/{v}")
            for k, v in {
                "activities": "Activities",
                "task_queues": "TaskQueues",
                "workers": "Workers",
                "workflows": "Workflows",
                "tasks": "Tasks",
                "events": "Events",
                "task_channels": "TaskChannels",
                "statistics": "Statistics",
                "real_time_statistics": "RealTimeStatistics",
                "cumulative_statistics": "CumulativeStatistics",
            }.items()
        },
    }


def activity_json(sb: Sandbox, a: Activity) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    return {
        "account_sid": sb.state.account_sid,
        "available": a.available,
        "date_created": iso(a.date_created),
        "date_updated": iso(a.date_updated),
        "friendly_name": a.friendly_name,
        "sid": a.sid,
        "workspace_sid": ws,
        "url": _u(f"/v1/Workspaces/{ws}/Activities/{a.sid}"),
        "links": {"workspace": _u(f"/v1/Workspaces/{ws}")},
    }


def channel_json(sb: Sandbox, c: Any) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    return {
        "account_sid": sb.state.account_sid,
        "date_created": iso(c.date_created),
        "date_updated": iso(c.date_updated),
        "friendly_name": c.friendly_name,
        "sid": c.sid,
        "unique_name": c.unique_name,
        "workspace_sid": ws,
        "channel_optimized_routing": c.channel_optimized_routing,
        "url": _u(f"/v1/Workspaces/{ws}/TaskChannels/{c.sid}"),
        "links": {"workspace": _u(f"/v1/Workspaces/{ws}")},
    }


def queue_json(sb: Sandbox, q: TaskQueue) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    base = f"/v1/Workspaces/{ws}/TaskQueues/{q.sid}"
    return {
        "account_sid": sb.state.account_sid,
        "assignment_activity_sid": None,
        "assignment_activity_name": None,
        "date_created": iso(q.date_created),
        "date_updated": iso(q.date_updated),
        "friendly_name": q.friendly_name,
        "max_reserved_workers": q.max_reserved_workers,
        "reservation_activity_sid": None,
        "reservation_activity_name": None,
        "sid": q.sid,
        "target_workers": q.target_workers,
        "task_order": q.task_order,
        "url": _u(base),
        "workspace_sid": ws,
        "links": {
            "statistics": _u(f"{base}/Statistics"),
            "real_time_statistics": _u(f"{base}/RealTimeStatistics"),
            "cumulative_statistics": _u(f"{base}/CumulativeStatistics"),
            "list_statistics": _u(f"/v1/Workspaces/{ws}/TaskQueues/Statistics"),
            "workspace": _u(f"/v1/Workspaces/{ws}"),
        },
    }


def workflow_json(sb: Sandbox, w: Workflow) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    base = f"/v1/Workspaces/{ws}/Workflows/{w.sid}"
    return {
        "account_sid": sb.state.account_sid,
        "assignment_callback_url": w.assignment_callback_url,
        "configuration": w.configuration,
        "date_created": iso(w.date_created),
        "date_updated": iso(w.date_updated),
        "document_content_type": "application/json",
        "fallback_assignment_callback_url": w.fallback_assignment_callback_url,
        "friendly_name": w.friendly_name,
        "sid": w.sid,
        "task_reservation_timeout": w.task_reservation_timeout,
        "workspace_sid": ws,
        "url": _u(base),
        "links": {
            "statistics": _u(f"{base}/Statistics"),
            "real_time_statistics": _u(f"{base}/RealTimeStatistics"),
            "cumulative_statistics": _u(f"{base}/CumulativeStatistics"),
            "workspace": _u(f"/v1/Workspaces/{ws}"),
        },
    }


def worker_json(sb: Sandbox, w: Worker) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    base = f"/v1/Workspaces/{ws}/Workers/{w.sid}"
    act = sb.state.activities[w.activity_sid]
    return {
        "account_sid": sb.state.account_sid,
        "activity_name": act.friendly_name,
        "activity_sid": act.sid,
        "attributes": w.attributes,
        "available": act.available,
        "date_created": iso(w.date_created),
        "date_status_changed": iso(w.date_status_changed),
        "date_updated": iso(w.date_updated),
        "friendly_name": w.friendly_name,
        "sid": w.sid,
        "workspace_sid": ws,
        "url": _u(base),
        "links": {
            "channels": _u(f"{base}/Channels"),
            "reservations": _u(f"{base}/Reservations"),
            "statistics": _u(f"{base}/Statistics"),
            "workspace": _u(f"/v1/Workspaces/{ws}"),
            "worker_channels": _u(f"{base}/Channels"),
            "activity": _u(f"/v1/Workspaces/{ws}/Activities/{act.sid}"),
        },
    }


def worker_channel_json(sb: Sandbox, w: Worker, name: str) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    ch = next(c for c in sb.state.task_channels.values() if c.unique_name == name)
    cap = w.capacity.get(name, 1)
    load = sb.engine.worker_load(w, name)
    return {
        "account_sid": sb.state.account_sid,
        "assigned_tasks": load,
        "available": w.channel_available.get(name, True),
        "available_capacity_percentage": max(0, int(100 * (cap - load) / cap)) if cap else 0,
        "configured_capacity": cap,
        "date_created": iso(w.date_created),
        "date_updated": iso(w.date_updated),
        "sid": w.channel_sids[name],
        "task_channel_sid": ch.sid,
        "task_channel_unique_name": name,
        "worker_sid": w.sid,
        "workspace_sid": ws,
        "url": _u(f"/v1/Workspaces/{ws}/Workers/{w.sid}/Channels/{ch.sid}"),
    }


def task_json(sb: Sandbox, t: Task) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    base = f"/v1/Workspaces/{ws}/Tasks/{t.sid}"
    q = sb.state.queues.get(t.task_queue_sid or "")
    wf = sb.state.workflows.get(t.workflow_sid or "")
    ch = next(c for c in sb.state.task_channels.values() if c.unique_name == t.task_channel)
    return {
        "account_sid": sb.state.account_sid,
        "age": sb.engine.age(t),
        "assignment_status": t.assignment_status,
        "attributes": t.attributes,
        "addons": "{}",
        "date_created": iso(t.date_created),
        "date_updated": iso(t.date_updated),
        "task_queue_entered_date": iso(t.task_queue_entered_date),
        "priority": t.priority,
        "reason": t.reason,
        "sid": t.sid,
        "task_queue_sid": q.sid if q else None,
        "task_queue_friendly_name": q.friendly_name if q else None,
        "task_channel_sid": ch.sid,
        "task_channel_unique_name": ch.unique_name,
        "timeout": t.timeout,
        "workflow_sid": t.workflow_sid,
        "workflow_friendly_name": wf.friendly_name if wf else None,
        "workspace_sid": ws,
        "url": _u(base),
        "links": {
            "task_queue": _u(f"/v1/Workspaces/{ws}/TaskQueues/{t.task_queue_sid}"),
            "workflow": _u(f"/v1/Workspaces/{ws}/Workflows/{t.workflow_sid}"),
            "workspace": _u(f"/v1/Workspaces/{ws}"),
            "reservations": _u(f"{base}/Reservations"),
        },
        "virtual_start_time": iso(t.virtual_start_time or t.date_created),
        "ignore_capacity": t.ignore_capacity,
        "routing_target": t.routing_target,
    }


def reservation_json(sb: Sandbox, r: Reservation, via_worker: bool = False) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    w = sb.state.workers[r.worker_sid]
    path = (
        f"/v1/Workspaces/{ws}/Workers/{w.sid}/Reservations/{r.sid}"
        if via_worker
        else f"/v1/Workspaces/{ws}/Tasks/{r.task_sid}/Reservations/{r.sid}"
    )
    return {
        "account_sid": sb.state.account_sid,
        "date_created": iso(r.date_created),
        "date_updated": iso(r.date_updated),
        "reservation_status": r.status,
        "sid": r.sid,
        "task_sid": r.task_sid,
        "worker_name": w.friendly_name,
        "worker_sid": w.sid,
        "workspace_sid": ws,
        "url": _u(path),
        "links": {
            "task": _u(f"/v1/Workspaces/{ws}/Tasks/{r.task_sid}"),
            "worker": _u(f"/v1/Workspaces/{ws}/Workers/{w.sid}"),
            "workspace": _u(f"/v1/Workspaces/{ws}"),
        },
    }


def event_json(sb: Sandbox, e: Any) -> dict[str, Any]:
    ws = sb.state.workspace.sid
    return {
        "account_sid": sb.state.account_sid,
        "actor_sid": sb.state.account_sid,
        "actor_type": "account",
        "actor_url": url("api", f"/2010-04-01/Accounts/{sb.state.account_sid}.json"),
        "description": e.description,
        "event_data": e.data,
        "event_date": iso(e.event_date),
        "event_date_ms": int(e.event_date.timestamp() * 1000),
        "event_type": e.event_type,
        "resource_sid": e.resource_sid,
        "resource_type": e.resource_type,
        "resource_url": _u(f"/v1/Workspaces/{ws}"),
        "sid": e.sid,
        "source": "twilio",
        "source_ip_address": "127.0.0.1",
        "url": _u(f"/v1/Workspaces/{ws}/Events/{e.sid}"),
        "workspace_sid": ws,
    }


def _task_response(sb: Sandbox, t: Task, status: int = 200) -> JSONResponse:
    return with_etag(task_json(sb, t), etag(t.revision), status)


def _worker_response(sb: Sandbox, w: Worker, status: int = 200) -> JSONResponse:
    return with_etag(worker_json(sb, w), etag(w.revision), status)


def _json_or_400(name: str, value: str | None) -> dict[str, Any]:
    return parse_json_object(name, value) if value is not None else {}


# --- workspace ----------------------------------------------------------------------------------------------
@router.get("/v1/Workspaces/{Sid}")
async def fetch_workspace(request: Request, Sid: str) -> dict[str, Any]:
    check_query(request)
    return workspace_json(_ws(request, Sid))


@router.get("/v1/Workspaces")
async def list_workspaces(request: Request) -> dict[str, Any]:
    check_query(request)
    sb = get_sb(request)
    items = [workspace_json(sb)]
    name = request.query_params.get("FriendlyName")
    items = [i for i in items if name is None or i["friendly_name"] == name]
    return page_v1(request, "taskrouter", "/v1/Workspaces", "workspaces", items)


@router.post("/v1/Workspaces/{Sid}")
async def update_workspace(request: Request, Sid: str) -> dict[str, Any]:
    sb = _ws(request, Sid)
    form = await read_form(request)
    ws = sb.state.workspace
    for name, attr in (
        ("DefaultActivitySid", "default_activity_sid"),
        ("TimeoutActivitySid", "timeout_activity_sid"),
    ):
        value = form.get(name)
        if value is not None:
            if value not in sb.state.activities:
                raise TwilioError(400, 20001, f"{name} {value} is not an activity of this workspace")
            setattr(ws, attr, value)
    if form.has("EventCallbackUrl"):
        value = form.get("EventCallbackUrl") or None
        if value and not value.startswith(("http://", "https://")):
            raise TwilioError(400, 20001, f"EventCallbackUrl is not a valid URL: {value}")
        ws.event_callback_url = value
    if form.has("EventsFilter"):
        ws.events_filter = form.get("EventsFilter") or None
    if form.has("FriendlyName"):
        ws.friendly_name = form.get("FriendlyName") or ws.friendly_name
    multi = form.bool("MultiTaskEnabled")
    if multi is not None:
        ws.multi_task_enabled = multi
    order = form.get("PrioritizeQueueOrder")
    if order is not None:
        if order not in ("FIFO", "LIFO"):
            raise TwilioError(400, 20001, "PrioritizeQueueOrder must be FIFO or LIFO")
        ws.prioritize_queue_order = order
    ws.date_updated = sb.now()
    return workspace_json(sb)


# --- activities, channels, queues, workflows ----------------------------------------------------------------
@router.get(WS + "/Activities")
async def list_activities(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    name = request.query_params.get("FriendlyName")
    avail = request.query_params.get("Available")
    items = [
        activity_json(sb, a)
        for a in sb.state.activities.values()
        if (name is None or a.friendly_name == name) and (avail is None or str(a.available).lower() == avail.lower())
    ]
    return page_v1(request, "taskrouter", f"/v1/Workspaces/{WorkspaceSid}/Activities", "activities", items)


@router.get(WS + "/Activities/{Sid}")
async def fetch_activity(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    a = found(sb.state.activities, Sid, "Activity")
    return activity_json(sb, a)


@router.get(WS + "/TaskChannels")
async def list_task_channels(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    items = [channel_json(sb, c) for c in sb.state.task_channels.values()]
    return page_v1(request, "taskrouter", f"/v1/Workspaces/{WorkspaceSid}/TaskChannels", "channels", items)


@router.get(WS + "/TaskChannels/{Sid}")
async def fetch_task_channel(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    for c in sb.state.task_channels.values():
        if Sid in (c.sid, c.unique_name):
            return channel_json(sb, c)
    raise not_found("TaskChannel", Sid)


@router.get(WS + "/TaskQueues")
async def list_queues(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    name = request.query_params.get("FriendlyName")
    worker_sid = request.query_params.get("WorkerSid")
    qs = [q for q in sb.state.queues.values() if name is None or q.friendly_name == name]
    if worker_sid is not None:
        w = sb.state.workers.get(worker_sid)
        attrs = loads_attrs(w.attributes) if w else {}
        qs = [q for q in qs if w is not None and expressions.evaluate(q.target_workers or "1==1", attrs)]
    return page_v1(
        request,
        "taskrouter",
        f"/v1/Workspaces/{WorkspaceSid}/TaskQueues",
        "task_queues",
        [queue_json(sb, q) for q in qs],
    )


@router.get(WS + "/TaskQueues/{Sid}")
async def fetch_queue(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    q = found(sb.state.queues, Sid, "TaskQueue")
    return queue_json(sb, q)


@router.post(WS + "/TaskQueues/{Sid}")
async def update_queue(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    q = found(sb.state.queues, Sid, "TaskQueue")
    form = await read_form(request)
    target = form.get("TargetWorkers")
    if target is not None:
        try:
            expressions.check(target)
        except expressions.ExpressionError as exc:
            raise TwilioError(400, 20001, f"Invalid TargetWorkers expression: {exc}") from exc
        q.target_workers = target
    q.friendly_name = form.get("FriendlyName") or q.friendly_name
    q.date_updated = sb.now()
    sb.engine.assign()
    return queue_json(sb, q)


def _check_workflow_config(text: str) -> None:
    config = parse_json_object("Configuration", text)
    routing = config.get("task_routing")
    if not isinstance(routing, dict):
        raise TwilioError(400, 20001, "Configuration must contain a task_routing object")
    for flt in routing.get("filters", []):
        try:
            expressions.check(str(flt.get("expression", "1==1")))
        except expressions.ExpressionError as exc:
            raise TwilioError(400, 20001, f"Invalid filter expression {flt.get('expression')!r}: {exc}") from exc


@router.get(WS + "/Workflows")
async def list_workflows(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    name = request.query_params.get("FriendlyName")
    items = [workflow_json(sb, w) for w in sb.state.workflows.values() if name is None or w.friendly_name == name]
    return page_v1(request, "taskrouter", f"/v1/Workspaces/{WorkspaceSid}/Workflows", "workflows", items)


@router.get(WS + "/Workflows/{Sid}")
async def fetch_workflow(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    w = found(sb.state.workflows, Sid, "Workflow")
    return workflow_json(sb, w)


@router.post(WS + "/Workflows/{Sid}")
async def update_workflow(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    w = found(sb.state.workflows, Sid, "Workflow")
    form = await read_form(request)
    config = form.get("Configuration")
    if config is not None:
        _check_workflow_config(config)
        w.configuration = config
    w.friendly_name = form.get("FriendlyName") or w.friendly_name
    timeout = form.int("TaskReservationTimeout", lo=1, hi=86400)
    if timeout is not None:
        w.task_reservation_timeout = timeout
    if form.has("AssignmentCallbackUrl"):
        w.assignment_callback_url = form.get("AssignmentCallbackUrl") or None
    w.date_updated = sb.now()
    if form.bool("ReEvaluateTasks"):
        for t in sb.state.tasks.values():
            if t.workflow_sid == w.sid and t.assignment_status == "pending":
                sb.engine.route(t)
        sb.engine.assign()
    return workflow_json(sb, w)


# --- workers ------------------------------------------------------------------------------------------------
def _worker(sb: Sandbox, sid: str) -> Worker:
    w = found(sb.state.workers, sid, "Worker")
    return w


@router.get(WS + "/Workers")
async def list_workers(request: Request, WorkspaceSid: str) -> JSONResponse:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    qp = request.query_params
    ws: list[Worker] = list(sb.state.workers.values())
    if "FriendlyName" in qp:
        ws = [w for w in ws if w.friendly_name == qp["FriendlyName"]]
    if "ActivitySid" in qp:
        ws = [w for w in ws if w.activity_sid == qp["ActivitySid"]]
    if "ActivityName" in qp:
        ws = [w for w in ws if sb.state.activities[w.activity_sid].friendly_name == qp["ActivityName"]]
    if "Available" in qp:
        want = qp["Available"].lower() in ("true", "1")
        ws = [w for w in ws if sb.engine.worker_available(w) == want]
    if "TargetWorkersExpression" in qp:
        try:
            ws = [w for w in ws if expressions.evaluate(qp["TargetWorkersExpression"], loads_attrs(w.attributes))]
        except expressions.ExpressionError as exc:
            raise TwilioError(400, 20001, f"Invalid TargetWorkersExpression: {exc}") from exc
    if "TaskQueueSid" in qp:
        q = sb.state.queues.get(qp["TaskQueueSid"])
        ws = [w for w in ws if q and expressions.evaluate(q.target_workers or "1==1", loads_attrs(w.attributes))]
    body = page_v1(
        request,
        "taskrouter",
        f"/v1/Workspaces/{WorkspaceSid}/Workers",
        "workers",
        [worker_json(sb, w) for w in ws],
    )
    return with_etag(body, list_etag((w.sid, w.revision) for w in ws))


@router.post(WS + "/Workers", status_code=201)
async def create_worker(request: Request, WorkspaceSid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    form = await read_form(request)
    name = form.get("FriendlyName") or ""
    if any(w.friendly_name == name for w in sb.state.workers.values()):
        raise TwilioError(409, 20409, f"A Worker with FriendlyName {name!r} already exists")
    attrs = form.get("Attributes", "{}") or "{}"
    parse_json_object("Attributes", attrs)
    activity_sid = form.get("ActivitySid") or sb.state.workspace.default_activity_sid
    if activity_sid not in sb.state.activities:
        raise TwilioError(400, 20001, f"ActivitySid {activity_sid} not found")
    now = sb.now()
    w = Worker(sb.sids.new("WK"), name, attrs, activity_sid, now, now, now)
    sb.init_worker_channels(w)
    sb.state.workers[w.sid] = w
    sb.engine.emit("worker.created", "Worker created", worker=w)
    sb.engine.assign()
    return _worker_response(sb, w, 201)


@router.get(WS + "/Workers/{Sid}")
async def fetch_worker(request: Request, WorkspaceSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    return _worker_response(sb, _worker(sb, Sid))


@router.post(WS + "/Workers/{Sid}")
async def update_worker(request: Request, WorkspaceSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    w = _worker(sb, Sid)
    form = await read_form(request)
    check_if_match(request, etag(w.revision), f"worker {w.sid}")
    attrs = form.get("Attributes")
    if attrs is not None:
        parse_json_object("Attributes", attrs)
    activity = form.get("ActivitySid")
    if activity is not None and activity not in sb.state.activities:
        raise TwilioError(400, 20001, f"Activity {activity} not found")
    reject_pending = form.bool("RejectPendingReservations")
    name = form.get("FriendlyName")
    if name and name != w.friendly_name:
        w.friendly_name = name
        sb.engine.touch_worker(w)
    if attrs is not None:
        w.attributes = attrs
        sb.engine.touch_worker(w)
        sb.engine.emit("worker.attributes.update", "Worker attributes updated", worker=w)
    if activity is not None:
        if reject_pending:
            for r in sb.state.reservations.where("worker_sid", w.sid):
                if r.status == "pending":
                    sb.engine.update_reservation(r, "rejected")
        sb.engine.set_activity(w, activity)
    sb.engine.assign()
    return _worker_response(sb, w)


def _channel_name(sb: Sandbox, sid: str) -> str:
    for c in sb.state.task_channels.values():
        if sid in (c.sid, c.unique_name):
            return str(c.unique_name)
    for w in sb.state.workers.values():
        for name, wc in w.channel_sids.items():
            if wc == sid:
                return name
    raise not_found("WorkerChannel", sid)


@router.get(WS + "/Workers/{WorkerSid}/Channels")
async def list_worker_channels(request: Request, WorkspaceSid: str, WorkerSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    w = _worker(sb, WorkerSid)
    items = [worker_channel_json(sb, w, name) for name in w.capacity]
    return page_v1(
        request,
        "taskrouter",
        f"/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels",
        "channels",
        items,
    )


@router.get(WS + "/Workers/{WorkerSid}/Channels/{Sid}")
async def fetch_worker_channel(request: Request, WorkspaceSid: str, WorkerSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    return worker_channel_json(sb, _worker(sb, WorkerSid), _channel_name(sb, Sid))


@router.post(WS + "/Workers/{WorkerSid}/Channels/{Sid}")
async def update_worker_channel(request: Request, WorkspaceSid: str, WorkerSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    w = _worker(sb, WorkerSid)
    name = _channel_name(sb, Sid)
    form = await read_form(request)
    cap = form.int("Capacity", lo=0, hi=1000)
    if cap is not None:
        w.capacity[name] = cap
    avail = form.bool("Available")
    if avail is not None:
        w.channel_available[name] = avail
    w.date_updated = sb.now()
    sb.engine.emit("worker.capacity.update", "Worker channel capacity updated", worker=w)
    sb.engine.assign()
    return worker_channel_json(sb, w, name)


# --- tasks --------------------------------------------------------------------------------------------------
def _task(sb: Sandbox, sid: str) -> Task:
    t = found(sb.state.tasks, sid, "Task")
    return t


@router.post(WS + "/Tasks", status_code=201)
async def create_task(request: Request, WorkspaceSid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    form = await read_form(request)
    attrs = _json_or_400("Attributes", form.get("Attributes", "{}") or "{}")
    t = sb.engine.create_task(
        attributes=attrs,
        workflow_sid=form.get("WorkflowSid"),
        task_channel=form.get("TaskChannel"),
        priority=form.int("Priority", 0, lo=0) or 0,
        timeout=form.int("Timeout", 86400, lo=1, hi=1209600) or 86400,
        task_queue_sid=form.get("TaskQueueSid"),
    )
    return _task_response(sb, t, 201)


@router.get(WS + "/Tasks")
async def list_tasks(request: Request, WorkspaceSid: str) -> JSONResponse:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    qp = request.query_params
    ordering = parse_ordering(qp.get("Ordering"))
    ts: list[Task] = list(sb.state.tasks.values())
    statuses = [s for v in qp.getlist("AssignmentStatus") for s in v.split(",") if s]
    for s in statuses:
        if s not in TASK_STATUSES:
            raise TwilioError(400, 20001, f"Invalid AssignmentStatus {s}")
    if statuses:
        ts = [t for t in ts if t.assignment_status in statuses]
    if "WorkflowSid" in qp:
        ts = [t for t in ts if t.workflow_sid == qp["WorkflowSid"]]
    if "WorkflowName" in qp:
        wf_sids = {w.sid for w in sb.state.workflows.values() if w.friendly_name == qp["WorkflowName"]}
        ts = [t for t in ts if t.workflow_sid in wf_sids]
    if "TaskQueueSid" in qp:
        ts = [t for t in ts if t.task_queue_sid == qp["TaskQueueSid"]]
    if "TaskQueueName" in qp:
        q_sids = {q.sid for q in sb.state.queues.values() if q.friendly_name == qp["TaskQueueName"]}
        ts = [t for t in ts if t.task_queue_sid in q_sids]
    if "RoutingTarget" in qp:
        ts = [t for t in ts if t.routing_target == qp["RoutingTarget"]]
    if "Priority" in qp:
        ts = [t for t in ts if str(t.priority) == qp["Priority"]]
    if "EvaluateTaskAttributes" in qp:
        try:
            ts = [t for t in ts if expressions.evaluate(qp["EvaluateTaskAttributes"], attrs_for_matching(t.attributes))]
        except expressions.ExpressionError as exc:
            raise TwilioError(400, 20001, f"Invalid EvaluateTaskAttributes expression: {exc}") from exc
    ts = order_tasks(ts, ordering)
    body = page_v1(
        request, "taskrouter", f"/v1/Workspaces/{WorkspaceSid}/Tasks", "tasks", [task_json(sb, t) for t in ts]
    )
    return with_etag(body, list_etag((t.sid, t.revision) for t in ts))


@router.get(WS + "/Tasks/{Sid}")
async def fetch_task(request: Request, WorkspaceSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    return _task_response(sb, _task(sb, Sid))


@router.post(WS + "/Tasks/{Sid}")
async def update_task(request: Request, WorkspaceSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    t = _task(sb, Sid)
    form = await read_form(request)
    check_if_match(request, etag(t.revision), f"task {t.sid}")
    attrs = form.get("Attributes")
    if attrs is not None:
        sb.engine.update_attributes(t, parse_json_object("Attributes", attrs))
    priority = form.int("Priority", lo=0)
    if priority is not None:
        t.priority = priority
        t.revision += 1
    status = form.get("AssignmentStatus")
    if status is not None:
        if status not in TASK_STATUSES:
            raise TwilioError(400, 20001, f"Invalid AssignmentStatus {status}")
        sb.engine.update_status(t, status, form.get("Reason"))
    elif form.has("Reason"):
        t.reason = form.get("Reason")
    return _task_response(sb, t)


@router.delete(WS + "/Tasks/{Sid}", status_code=204)
async def delete_task(request: Request, WorkspaceSid: str, Sid: str) -> Response:
    sb = _ws(request, WorkspaceSid)
    t = _task(sb, Sid)
    check_if_match(request, etag(t.revision), f"task {t.sid}")
    res = sb.engine.active_reservation(t)
    if res is not None:
        sb.engine.set_reservation_status(res, "canceled")
    del sb.state.tasks[Sid]
    sb.engine.emit("task.deleted", "Task deleted", task=t)
    return Response(status_code=204)


# --- reservations -------------------------------------------------------------------------------------------
def _reservations(
    sb: Sandbox, request: Request, *, task_sid: str | None = None, worker_sid: str | None = None
) -> list[Reservation]:
    qp = request.query_params
    if task_sid is not None:
        rs = sb.state.reservations.where("task_sid", task_sid)
    elif worker_sid is not None:
        rs = sb.state.reservations.where("worker_sid", worker_sid)
    else:
        rs = list(sb.state.reservations.values())
    rs = [r for r in rs if worker_sid is None or r.worker_sid == worker_sid]
    if "ReservationStatus" in qp:
        rs = [r for r in rs if r.status == qp["ReservationStatus"]]
    if "WorkerSid" in qp:
        rs = [r for r in rs if r.worker_sid == qp["WorkerSid"]]
    return rs


async def _update_reservation(request: Request, sb: Sandbox, r: Reservation) -> None:
    form = await read_form(request)
    check_if_match(request, etag(r.revision), f"reservation {r.sid}")
    status = form.get("ReservationStatus")
    instruction = form.get("Instruction")
    if status is None and instruction in ("accept", "reject"):
        status = "accepted" if instruction == "accept" else "rejected"
    if status is None:
        raise TwilioError(400, 20001, "ReservationStatus or Instruction is required")
    activity = form.get("WorkerActivitySid")
    if activity is not None and activity not in sb.state.activities:
        raise TwilioError(400, 20001, f"WorkerActivitySid {activity} is not an activity of this workspace")
    sb.engine.update_reservation(r, status)
    if activity is not None:
        sb.engine.set_activity(sb.state.workers[r.worker_sid], activity)


def _reservation_list(request: Request, path: str, rs: list[Reservation], via_worker: bool) -> JSONResponse:
    sb = get_sb(request)
    body = page_v1(request, "taskrouter", path, "reservations", [reservation_json(sb, r, via_worker) for r in rs])
    return with_etag(body, list_etag((r.sid, r.revision) for r in rs))


@router.get(WS + "/Tasks/{TaskSid}/Reservations")
async def list_task_reservations(request: Request, WorkspaceSid: str, TaskSid: str) -> JSONResponse:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    _task(sb, TaskSid)
    rs = _reservations(sb, request, task_sid=TaskSid)
    return _reservation_list(request, f"/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations", rs, False)


def _reservation(sb: Sandbox, sid: str, *, task_sid: str | None = None, worker_sid: str | None = None) -> Reservation:
    r = sb.state.reservations.get(sid)
    if r is None or (task_sid and r.task_sid != task_sid) or (worker_sid and r.worker_sid != worker_sid):
        raise not_found("Reservation", sid)
    return r


@router.get(WS + "/Tasks/{TaskSid}/Reservations/{Sid}")
async def fetch_task_reservation(request: Request, WorkspaceSid: str, TaskSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    r = _reservation(sb, Sid, task_sid=TaskSid)
    return with_etag(reservation_json(sb, r), etag(r.revision))


@router.post(WS + "/Tasks/{TaskSid}/Reservations/{Sid}")
async def update_task_reservation(request: Request, WorkspaceSid: str, TaskSid: str, Sid: str) -> JSONResponse:
    sb = _ws(request, WorkspaceSid)
    r = _reservation(sb, Sid, task_sid=TaskSid)
    await _update_reservation(request, sb, r)
    return with_etag(reservation_json(sb, r), etag(r.revision))


@router.get(WS + "/Workers/{WorkerSid}/Reservations")
async def list_worker_reservations(request: Request, WorkspaceSid: str, WorkerSid: str) -> JSONResponse:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    _worker(sb, WorkerSid)
    rs = _reservations(sb, request, worker_sid=WorkerSid)
    return _reservation_list(request, f"/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations", rs, True)


# Twilio's documents give the worker-path fetch and update no ETag header (the task path has one); If-Match is
# still honoured on the update.
@router.get(WS + "/Workers/{WorkerSid}/Reservations/{Sid}")
async def fetch_worker_reservation(request: Request, WorkspaceSid: str, WorkerSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    return reservation_json(sb, _reservation(sb, Sid, worker_sid=WorkerSid), True)


@router.post(WS + "/Workers/{WorkerSid}/Reservations/{Sid}")
async def update_worker_reservation(request: Request, WorkspaceSid: str, WorkerSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    r = _reservation(sb, Sid, worker_sid=WorkerSid)
    await _update_reservation(request, sb, r)
    return reservation_json(sb, r, True)


# --- events -------------------------------------------------------------------------------------------------
@router.get(WS + "/Events")
async def list_events(request: Request, WorkspaceSid: str) -> dict[str, Any]:
    check_query(request)
    sb = _ws(request, WorkspaceSid)
    qp = request.query_params
    evs = list(sb.state.events)
    for key, attr in (("EventType", "event_type"), ("ResourceSid", "resource_sid")):
        if key in qp:
            evs = [e for e in evs if getattr(e, attr) == qp[key]]
    for key, field in (
        ("TaskSid", "TaskSid"),
        ("ReservationSid", "ReservationSid"),
        ("WorkerSid", "WorkerSid"),
        ("WorkflowSid", "WorkflowSid"),
        ("TaskQueueSid", "TaskQueueSid"),
        ("Sid", "Sid"),
    ):
        if key in qp:
            evs = [e for e in evs if e.data.get(field) == qp[key]]
    evs.reverse()  # newest first, as Twilio lists events
    return page_v1(
        request,
        "taskrouter",
        f"/v1/Workspaces/{WorkspaceSid}/Events",
        "events",
        [event_json(sb, e) for e in evs],
    )


@router.get(WS + "/Events/{Sid}")
async def fetch_event(request: Request, WorkspaceSid: str, Sid: str) -> dict[str, Any]:
    sb = _ws(request, WorkspaceSid)
    for e in sb.state.events:
        if e.sid == Sid:
            return event_json(sb, e)
    raise not_found("Event", Sid)
