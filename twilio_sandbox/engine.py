"""TaskRouter's behaviour: workflow routing, reservations, assignment-status transitions, events and
timeouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from twilio_sandbox import expressions
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.formats import iso, url
from twilio_sandbox.record import Recorder
from twilio_sandbox.sids import SidFactory
from twilio_sandbox.state import Reservation, SandboxState, Task, TaskRouterEvent, Worker

ACTIVE_RESERVATION = ("pending", "accepted", "wrapping")
TASK_STATUSES = ("pending", "reserved", "assigned", "canceled", "completed", "wrapping")


@lru_cache(maxsize=8192)
def attrs_for_matching(text: str) -> dict[str, Any]:
    """`loads_attrs` for expression matching only (read-only, shared): a filtered task list would otherwise parse
    the JSON of every task in the workspace on every call."""
    return loads_attrs(text)


def loads_attrs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class EngineHost(Protocol):
    """What the engine needs from the sandbox (`core.Sandbox` is one): the engine never imports `core`, so the
    sandbox can own an engine without an import cycle."""

    state: SandboxState
    sids: SidFactory
    recorder: Recorder

    def now(self) -> datetime: ...

    def send_webhook(self, kind: str, url: str, params: list[tuple[str, str]]) -> object: ...


AcceptedListener = Callable[[Task, Reservation], None]


class TaskRouterEngine:
    def __init__(self, sb: EngineHost) -> None:
        self.sb = sb
        # Products built on TaskRouter (Flex's orchestration) react to an accepted reservation; they register
        # here instead of the engine knowing them.
        self.accepted_listeners: list[AcceptedListener] = []

    @property
    def st(self) -> SandboxState:
        return self.sb.state

    # --- lookups --------------------------------------------------------------------------------------------
    def channel_name(self, ref: str | None) -> str:
        ref = ref or "default"
        for ch in self.st.task_channels.values():
            if ref in (ch.sid, ch.unique_name):
                return str(ch.unique_name)
        raise TwilioError(400, 20001, f"TaskChannel {ref} not found")

    def worker_identity(self, worker: Worker) -> str:
        uri = loads_attrs(worker.attributes).get("contact_uri")
        if isinstance(uri, str) and uri.startswith("client:"):
            return uri[len("client:") :]
        return worker.friendly_name

    def worker_available(self, worker: Worker) -> bool:
        activity = self.st.activities.get(worker.activity_sid)
        return bool(activity and activity.available)

    def worker_load(self, worker: Worker, channel: str) -> int:
        return sum(
            1
            for r in self.st.reservations.where("worker_sid", worker.sid)
            if r.status in ACTIVE_RESERVATION and self.st.tasks[r.task_sid].task_channel == channel
        )

    # --- events ---------------------------------------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        description: str,
        *,
        task: Task | None = None,
        reservation: Reservation | None = None,
        worker: Worker | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        ws, now = self.st.workspace, self.sb.now()
        sid = self.sb.sids.new("EV")
        if reservation is not None:
            resource_type, resource_sid = "reservation", reservation.sid
        elif task is not None:
            resource_type, resource_sid = "task", task.sid
        elif worker is not None:
            resource_type, resource_sid = "worker", worker.sid
        else:
            resource_type, resource_sid = "workspace", ws.sid
        data: dict[str, str] = {
            "Sid": sid,
            "EventType": event_type,
            "AccountSid": self.st.account_sid,
            "WorkspaceSid": ws.sid,
            "WorkspaceName": ws.friendly_name,
            "EventDescription": description,
            "ResourceType": resource_type,
            "ResourceSid": resource_sid,
            "Timestamp": str(int(now.timestamp())),
            "EventDate": iso(now) or "",
            "EventDateMs": str(int(now.timestamp() * 1000)),
        }
        if task is not None:
            data.update(self._task_fields(task))
        if reservation is not None:
            data["ReservationSid"] = reservation.sid
            worker = self.st.workers.get(reservation.worker_sid)
        if worker is not None:
            activity = self.st.activities.get(worker.activity_sid)
            data.update(
                {
                    "WorkerSid": worker.sid,
                    "WorkerName": worker.friendly_name,
                    "WorkerAttributes": worker.attributes,
                    "WorkerActivitySid": worker.activity_sid,
                    "WorkerActivityName": activity.friendly_name if activity else "",
                }
            )
        if extra:
            data.update(extra)
        self.st.events.append(TaskRouterEvent(sid, event_type, description, resource_type, resource_sid, now, data))
        self.sb.recorder.add(
            "taskrouter.event",
            event_type=event_type,
            task_sid=data.get("TaskSid"),
            reservation_sid=data.get("ReservationSid"),
            worker_sid=data.get("WorkerSid"),
        )
        callback = ws.event_callback_url
        if callback:
            wanted = {e.strip() for e in (ws.events_filter or "").split(",") if e.strip()}
            if not wanted or event_type in wanted:
                self.sb.send_webhook("taskrouter", callback, list(data.items()))

    def _task_fields(self, task: Task) -> dict[str, str]:
        queue = self.st.queues.get(task.task_queue_sid or "")
        wf = self.st.workflows.get(task.workflow_sid or "")
        channel = next((c for c in self.st.task_channels.values() if c.unique_name == task.task_channel), None)
        fields = {
            "TaskSid": task.sid,
            "TaskAttributes": task.attributes,
            "TaskAge": str(self.age(task)),
            "TaskPriority": str(task.priority),
            "TaskAssignmentStatus": task.assignment_status,
            "TaskChannelUniqueName": task.task_channel,
            "TaskChannelSid": channel.sid if channel else "",
            "TaskDateCreated": str(int(task.date_created.timestamp())),
            "TaskVersion": str(task.revision),
            "TaskTimeout": str(task.timeout),
        }
        if queue is not None:
            fields.update(
                {
                    "TaskQueueSid": queue.sid,
                    "TaskQueueName": queue.friendly_name,
                    "TaskQueueTargetExpression": queue.target_workers,
                }
            )
        if wf is not None:
            fields.update({"WorkflowSid": wf.sid, "WorkflowName": wf.friendly_name})
        if task.reason and task.assignment_status == "canceled":
            fields["TaskCanceledReason"] = task.reason
        if task.reason and task.assignment_status == "completed":
            fields["TaskCompletedReason"] = task.reason
        return fields

    def age(self, task: Task) -> int:
        return max(int((self.sb.now() - task.date_created).total_seconds()), 0)

    # --- tasks ----------------------------------------------------------------------------------------------
    def create_task(
        self,
        *,
        attributes: dict[str, Any],
        workflow_sid: str | None,
        task_channel: str | None,
        priority: int = 0,
        timeout: int = 86400,
        task_queue_sid: str | None = None,
        routing_target: str | None = None,
        excluded_workers: set[str] | None = None,
    ) -> Task:
        if workflow_sid is None and task_queue_sid is None:
            if len(self.st.workflows) != 1:
                raise TwilioError(400, 20001, "WorkflowSid is required when the workspace has several workflows")
            workflow_sid = next(iter(self.st.workflows))
        if workflow_sid is not None and workflow_sid not in self.st.workflows:
            raise TwilioError(400, 20001, f"Workflow {workflow_sid} not found in workspace")
        if task_queue_sid is not None and task_queue_sid not in self.st.queues:
            raise TwilioError(400, 20001, f"TaskQueue {task_queue_sid} not found in workspace")
        now = self.sb.now()
        task = Task(
            sid=self.sb.sids.new("WT"),
            attributes=json.dumps(attributes),
            assignment_status="pending",
            priority=priority,
            timeout=timeout,
            task_channel=self.channel_name(task_channel),
            workflow_sid=workflow_sid,
            task_queue_sid=task_queue_sid,
            date_created=now,
            date_updated=now,
            routing_target=routing_target,
            declined_by=set(excluded_workers or ()),
        )
        self.st.tasks[task.sid] = task
        self.emit("task.created", "Task created", task=task)
        self.route(task)
        self.assign()
        return task

    def route(self, task: Task) -> None:
        """Evaluate the workflow's filters in order; the first match's first target queue wins."""
        queue_sid = task.task_queue_sid
        wf = self.st.workflows.get(task.workflow_sid or "")
        if wf is not None:
            config = loads_attrs(wf.configuration).get("task_routing", {})
            attrs = loads_attrs(task.attributes)
            queue_sid = None
            for flt in config.get("filters", []):
                try:
                    matched = expressions.evaluate(flt.get("expression", "1==1"), attrs)
                except expressions.ExpressionError:
                    matched = False
                targets = flt.get("targets") or []
                if matched and targets:
                    queue_sid = targets[0].get("queue")
                    break
            if queue_sid is None:
                queue_sid = (config.get("default_filter") or {}).get("queue")
        if queue_sid != task.task_queue_sid or task.task_queue_entered_date is None:
            task.task_queue_sid = queue_sid
            task.task_queue_entered_date = self.sb.now()
            if queue_sid in self.st.queues:
                self.emit("task-queue.entered", "Task entered TaskQueue", task=task)

    def candidates(self, task: Task) -> list[Worker]:
        queue = self.st.queues.get(task.task_queue_sid or "")
        if queue is None:
            return []
        target = self.known_worker(task)
        out = []
        for worker in [target] if target is not None else self.st.workers.values():
            if worker.sid in task.declined_by or not self.worker_available(worker):
                continue
            if not worker.channel_available.get(task.task_channel, True):
                continue
            try:
                if target is None and not expressions.evaluate(
                    queue.target_workers or "1==1", attrs_for_matching(worker.attributes)
                ):
                    continue
            except expressions.ExpressionError:
                continue
            if not task.ignore_capacity and self.worker_load(worker, task.task_channel) >= worker.capacity.get(
                task.task_channel, 1
            ):
                continue
            out.append(worker)
        # Least busy first, then the one idle longest: deterministic.
        out.sort(key=lambda w: (self.worker_load(w, task.task_channel), w.date_status_changed, w.sid))
        return out

    def known_worker(self, task: Task) -> Worker | None:
        """The worker an agent-targeted task (`routing_target`) waits for; None once that worker is not available
        or has declined it: then the queue's other workers get it, as Flex does when the receiving agent of a
        transfer is away or rejects."""
        worker = self.st.workers.get(task.routing_target or "")
        if worker is None or worker.sid in task.declined_by or not self.worker_available(worker):
            return None
        return worker

    def assign(self) -> None:
        pending = [t for t in self.st.tasks.values() if t.assignment_status == "pending"]
        pending.sort(key=lambda t: (-t.priority, t.date_created, t.sid))
        for task in pending:
            workers = self.candidates(task)
            if not workers:
                continue
            worker = workers[0]
            wf = self.st.workflows.get(task.workflow_sid or "")
            timeout = wf.task_reservation_timeout if wf else 120
            now = self.sb.now()
            res = Reservation(
                self.sb.sids.new("WR"),
                task.sid,
                worker.sid,
                "pending",
                now,
                now,
                now + timedelta(seconds=timeout),
            )
            self.st.reservations[res.sid] = res
            self._set_task_status(task, "reserved")
            self.emit("reservation.created", "Reservation created", task=task, reservation=res)

    def _set_task_status(self, task: Task, status: str, reason: str | None = None) -> None:
        task.assignment_status = status
        if reason is not None:
            task.reason = reason
        task.date_updated = self.sb.now()
        task.revision += 1
        self.sb.recorder.add("task.status", task_sid=task.sid, status=status)

    def active_reservation(self, task: Task) -> Reservation | None:
        for r in self.st.reservations.where("task_sid", task.sid):
            if r.status in ACTIVE_RESERVATION:
                return r
        return None

    def update_attributes(self, task: Task, attributes: dict[str, Any]) -> None:
        if task.assignment_status in ("canceled", "completed"):
            raise TwilioError(400, 20001, f"Cannot update attributes of a {task.assignment_status} task")
        task.attributes = json.dumps(attributes)
        task.date_updated = self.sb.now()
        task.revision += 1
        self.emit("task.updated", "Task attributes updated", task=task)
        if task.assignment_status == "pending":
            self.route(task)
            self.assign()

    def update_status(self, task: Task, status: str, reason: str | None) -> None:
        current = task.assignment_status
        if status == current:
            return
        if status in ("canceled", "completed") and not reason:
            raise TwilioError(400, 20001, f"Reason is required when setting AssignmentStatus to {status}")
        allowed = {
            "canceled": ("pending", "reserved"),
            "wrapping": ("assigned",),
            "completed": ("assigned", "wrapping"),
        }.get(status)
        if allowed is None or current not in allowed:
            raise TwilioError(400, 20001, f"Task {task.sid} cannot be updated to {status} from {current}")
        res = self.active_reservation(task)
        if status == "canceled":
            if res is not None:
                self.set_reservation_status(res, "canceled")
                self._set_task_status(task, "canceled", reason)
                self.emit("reservation.canceled", "Reservation canceled", task=task, reservation=res)
            else:
                self._set_task_status(task, "canceled", reason)
            self.emit("task.canceled", "Task canceled", task=task)
        elif status == "wrapping":
            self.wrapup(task, res)
        else:
            self.complete(task, res, reason or "completed")
        self.assign()

    def wrapup(self, task: Task, res: Reservation | None) -> None:
        self._set_task_status(task, "wrapping")
        if res is not None:
            self.set_reservation_status(res, "wrapping")
            self.emit("reservation.wrapup", "Reservation wrapping", task=task, reservation=res)
        self.emit("task.wrapup", "Task wrapping", task=task)

    def complete(self, task: Task, res: Reservation | None, reason: str) -> None:
        self._set_task_status(task, "completed", reason)
        if res is not None:
            self.set_reservation_status(res, "completed")
            self.emit("reservation.completed", "Reservation completed", task=task, reservation=res)
        self.emit("task.completed", "Task completed", task=task)

    # --- reservations ---------------------------------------------------------------------------------------
    def set_reservation_status(self, res: Reservation, status: str) -> None:
        res.status = status
        res.date_updated = self.sb.now()
        res.revision += 1

    def update_reservation(self, res: Reservation, status: str) -> None:
        task = self.st.tasks[res.task_sid]
        current = res.status
        if status == current:
            return
        if status in ("accepted", "rejected") and current != "pending":
            raise TwilioError(400, 20001, f"Reservation {res.sid} cannot be {status}: it is {current}, not pending")
        if status == "accepted":
            self.set_reservation_status(res, "accepted")
            self._set_task_status(task, "assigned")
            self.emit("reservation.accepted", "Reservation accepted", task=task, reservation=res)
            for listener in self.accepted_listeners:
                listener(task, res)
        elif status == "rejected":
            self.set_reservation_status(res, "rejected")
            task.declined_by.add(res.worker_sid)
            self._set_task_status(task, "pending")
            self.emit("reservation.rejected", "Reservation rejected", task=task, reservation=res)
            self.route(task)
            self.assign()
        elif status == "wrapping":
            if current != "accepted":
                raise TwilioError(400, 20001, f"Reservation {res.sid} cannot wrap up: it is {current}")
            self.wrapup(task, res)
        elif status == "completed":
            if current not in ("accepted", "wrapping"):
                raise TwilioError(400, 20001, f"Reservation {res.sid} cannot complete: it is {current}")
            self.complete(task, res, "reservation completed")
            self.assign()
        else:
            raise TwilioError(400, 20001, f"Unsupported ReservationStatus {status} for a chat task")

    # --- time -----------------------------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.sb.now()
        changed = False
        for res in list(self.st.reservations.values()):
            if res.status == "pending" and now >= res.timeout_at:
                task = self.st.tasks[res.task_sid]
                self.set_reservation_status(res, "timeout")
                task.declined_by.add(res.worker_sid)
                self._set_task_status(task, "pending")
                self.emit("reservation.timeout", "Reservation timed out", task=task, reservation=res)
                worker = self.st.workers.get(res.worker_sid)
                timeout_activity = self.st.workspace.timeout_activity_sid
                if worker is not None and timeout_activity and worker.activity_sid != timeout_activity:
                    self.set_activity(worker, timeout_activity)
                changed = True
        for task in list(self.st.tasks.values()):
            if task.assignment_status in ("pending", "reserved") and now >= task.date_created + timedelta(
                seconds=task.timeout
            ):
                active = self.active_reservation(task)
                if active is not None:
                    self.set_reservation_status(active, "canceled")
                    self.emit("reservation.canceled", "Reservation canceled", task=task, reservation=active)
                self._set_task_status(task, "canceled", "Task TTL Exceeded")
                self.emit("task.canceled", "Task TTL Exceeded", task=task)
                changed = True
        if changed:
            self.assign()

    # --- workers --------------------------------------------------------------------------------------------
    def touch_worker(self, worker: Worker) -> None:
        """A change of the worker resource: a new `date_updated` and a new ETag."""
        worker.date_updated = self.sb.now()
        worker.revision += 1

    def set_activity(self, worker: Worker, activity_sid: str) -> None:
        if activity_sid not in self.st.activities:
            raise TwilioError(400, 20001, f"Activity {activity_sid} not found")
        if worker.activity_sid == activity_sid:
            return
        previous = worker.activity_sid
        worker.activity_sid = activity_sid
        self.touch_worker(worker)
        worker.date_status_changed = worker.date_updated
        self.emit(
            "worker.activity.update",
            "Worker activity changed",
            worker=worker,
            extra={"WorkerPreviousActivitySid": previous},
        )
        self.assign()

    def task_url(self, task: Task) -> str:
        return url("taskrouter", f"/v1/Workspaces/{self.st.workspace.sid}/Tasks/{task.sid}")
