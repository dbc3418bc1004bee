"""TaskRouter statistics computed from the sandbox's own state: real-time figures from the tasks and workers as
they are now, cumulative figures from the TaskRouter events recorded in a time window (the same events the
event callback and `GET …/Events` carry).

Documented by Twilio (taskqueue-statistics docs and the OpenAPI descriptions): the fields, `Minutes` (default 15)
or `StartDate`/`EndDate`, `SplitByWaitTime`, wait durations counted from task creation (and, in the queue, from
entering it), "average time in seconds between Task creation and acceptance". Chosen here where Twilio says
nothing: "waiting" tasks are the pending and reserved ones; `tasks_by_priority` counts the same tasks as
`total_tasks` (pending, reserved, assigned, wrapping); `split_by_wait_time` puts a wait equal to a threshold
`below` it; durations are whole seconds; `tasks_moved` counts a task entering a queue after having been in
another one, for the queue it left; `tasks_timed_out_in_workflow` is 0 (the sandbox's workflows have no timed
steps); activity durations are per worker, `min`/`avg`/`max` over the workers that spent time in the activity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from twilio_sandbox import expressions
from twilio_sandbox.engine import TaskRouterEngine, attrs_for_matching
from twilio_sandbox.errors import TwilioError
from twilio_sandbox.formats import iso
from twilio_sandbox.state import SandboxState, Task, TaskQueue, TaskRouterEvent, Worker

ACTIVE_STATUSES = ("pending", "reserved", "assigned", "wrapping")
WAITING_STATUSES = ("pending", "reserved")
RESERVATION_COUNTS = {
    "reservation.created": "reservations_created",
    "reservation.accepted": "reservations_accepted",
    "reservation.rejected": "reservations_rejected",
    "reservation.timeout": "reservations_timed_out",
    "reservation.canceled": "reservations_canceled",
    "reservation.rescinded": "reservations_rescinded",
}
TASK_COUNTS = {
    "task.canceled": "tasks_canceled",
    "task.completed": "tasks_completed",
    "task.deleted": "tasks_deleted",
}
DEFAULT_MINUTES = 15


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    split_by: tuple[int, ...] = ()

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def _parse_date(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TwilioError(400, 20001, f"Invalid {name} {value!r}: use ISO 8601, e.g. 2026-12-02T10:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_window(query: Mapping[str, str], now: datetime) -> Window:
    """`StartDate` (else `Minutes` back from the end, default 15) to `EndDate` (default now); `SplitByWaitTime`."""
    end = _parse_date("EndDate", query["EndDate"]) if "EndDate" in query else now
    if "StartDate" in query:
        start = _parse_date("StartDate", query["StartDate"])
    else:
        raw = query.get("Minutes", str(DEFAULT_MINUTES))
        if not raw.isdigit() or int(raw) < 1:
            raise TwilioError(400, 20001, f"Invalid Minutes {raw!r}: a positive whole number")
        start = end - timedelta(minutes=int(raw))
    if start > end:
        raise TwilioError(400, 20001, f"StartDate {iso(start)} is after EndDate {iso(end)}")
    split: list[int] = []
    for part in (query.get("SplitByWaitTime") or "").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise TwilioError(
                    400, 20001, f"Invalid SplitByWaitTime {query['SplitByWaitTime']!r}: seconds, comma-separated"
                )
            split.append(int(part))
    return Window(start, end, tuple(sorted(set(split))))


def _durations(seconds: list[int]) -> dict[str, int]:
    if not seconds:
        return {"avg": 0, "min": 0, "max": 0, "total": 0}
    return {"avg": round(sum(seconds) / len(seconds)), "min": min(seconds), "max": max(seconds), "total": sum(seconds)}


class Statistics:
    """Statistics of one sandbox; `channel` (a task channel's unique name) narrows tasks, events and available
    workers to that channel."""

    def __init__(self, state: SandboxState, engine: TaskRouterEngine, now: datetime, channel: str | None) -> None:
        self.st = state
        self.engine = engine
        self.now = now
        self.channel = channel

    # --- selections --------------------------------------------------------------------------------------------
    def tasks(self, keep: Callable[[Task], bool]) -> list[Task]:
        return [
            t
            for t in self.st.tasks.values()
            if t.assignment_status in ACTIVE_STATUSES
            and (self.channel is None or t.task_channel == self.channel)
            and keep(t)
        ]

    def eligible(self, queue: TaskQueue) -> list[Worker]:
        out = []
        for w in self.st.workers.values():
            try:
                if expressions.evaluate(queue.target_workers or "1==1", attrs_for_matching(w.attributes)):
                    out.append(w)
            except expressions.ExpressionError:
                continue
        return out

    def available(self, workers: Iterable[Worker]) -> list[Worker]:
        return [
            w
            for w in workers
            if self.engine.worker_available(w)
            and (
                self.channel is None
                or (w.channel_available.get(self.channel, True) and w.capacity.get(self.channel, 1) > 0)
            )
        ]

    def events(self, window: Window, keep: Callable[[TaskRouterEvent], bool]) -> list[TaskRouterEvent]:
        return [
            e
            for e in self.st.events
            if window.holds(e.event_date)
            and (self.channel is None or e.data.get("TaskChannelUniqueName") in (None, self.channel))
            and keep(e)
        ]

    # --- real time ---------------------------------------------------------------------------------------------
    def activity_statistics(self, workers: Iterable[Worker]) -> list[dict[str, Any]]:
        counts = {sid: 0 for sid in self.st.activities}
        for w in workers:
            counts[w.activity_sid] = counts.get(w.activity_sid, 0) + 1
        return [
            {"sid": a.sid, "friendly_name": a.friendly_name, "workers": counts[a.sid]}
            for a in self.st.activities.values()
        ]

    def task_figures(self, tasks: list[Task]) -> dict[str, Any]:
        by_status = {s: 0 for s in ("reserved", "pending", "assigned", "wrapping")}
        by_priority: dict[str, int] = {}
        for t in tasks:
            by_status[t.assignment_status] += 1
            by_priority[str(t.priority)] = by_priority.get(str(t.priority), 0) + 1
        waiting = [t for t in tasks if t.assignment_status in WAITING_STATUSES]
        oldest = min(waiting, key=lambda t: (t.date_created, t.sid), default=None)
        return {
            "longest_task_waiting_age": self.engine.age(oldest) if oldest else 0,
            "longest_task_waiting_sid": oldest.sid if oldest else None,
            "tasks_by_status": by_status,
            "tasks_by_priority": by_priority,
            "total_tasks": len(tasks),
        }

    def queue_realtime(self, queue: TaskQueue) -> dict[str, Any]:
        tasks = self.tasks(lambda t: t.task_queue_sid == queue.sid)
        waiting = [t for t in tasks if t.assignment_status in WAITING_STATUSES]
        entered = min(waiting, key=lambda t: (t.task_queue_entered_date or t.date_created, t.sid), default=None)
        eligible = self.eligible(queue)
        return {
            **self.task_figures(tasks),
            "longest_relative_task_age_in_queue": max(
                int((self.now - (entered.task_queue_entered_date or entered.date_created)).total_seconds()), 0
            )
            if entered
            else 0,
            "longest_relative_task_sid_in_queue": entered.sid if entered else None,
            "total_available_workers": len(self.available(eligible)),
            "total_eligible_workers": len(eligible),
            "activity_statistics": self.activity_statistics(eligible),
        }

    def workspace_realtime(self) -> dict[str, Any]:
        workers = list(self.st.workers.values())
        return {
            **self.task_figures(self.tasks(lambda t: True)),
            "activity_statistics": self.activity_statistics(workers),
            "total_workers": len(workers),
        }

    def workers_realtime(self, workers: list[Worker]) -> dict[str, Any]:
        return {"activity_statistics": self.activity_statistics(workers), "total_workers": len(workers)}

    def workflow_realtime(self, workflow_sid: str) -> dict[str, Any]:
        return self.task_figures(self.tasks(lambda t: t.workflow_sid == workflow_sid))

    # --- cumulative --------------------------------------------------------------------------------------------
    def _created_at(self, e: TaskRouterEvent) -> datetime:
        task = self.st.tasks.get(e.data.get("TaskSid", ""))
        if task is not None:
            return task.date_created
        return datetime.fromtimestamp(int(e.data.get("TaskDateCreated", "0") or 0), UTC)

    def _entered_at(self, e: TaskRouterEvent) -> datetime:
        task = self.st.tasks.get(e.data.get("TaskSid", ""))
        if task is not None and task.task_queue_entered_date is not None:
            return task.task_queue_entered_date
        return self._created_at(e)

    def cumulative(self, window: Window, keep: Callable[[TaskRouterEvent], bool], in_queue: bool) -> dict[str, Any]:
        """The task and reservation figures shared by the queue, workflow and workspace cumulative resources."""
        events = self.events(window, keep)
        out: dict[str, Any] = {name: 0 for name in (*RESERVATION_COUNTS.values(), *TASK_COUNTS.values())}
        accepted: list[int] = []
        accepted_in_queue: list[int] = []
        canceled: list[int] = []
        for e in events:
            name = RESERVATION_COUNTS.get(e.event_type) or TASK_COUNTS.get(e.event_type)
            if name:
                out[name] += 1
            wait = int((e.event_date - self._created_at(e)).total_seconds())
            if e.event_type == "reservation.accepted":
                accepted.append(wait)
                accepted_in_queue.append(int((e.event_date - self._entered_at(e)).total_seconds()))
            elif e.event_type == "task.canceled":
                canceled.append(wait)
        out["avg_task_acceptance_time"] = _durations(accepted)["avg"]
        out["wait_duration_until_accepted"] = _durations(accepted)
        out["wait_duration_until_canceled"] = _durations(canceled)
        if in_queue:
            out["wait_duration_in_queue_until_accepted"] = _durations(accepted_in_queue)
        out["split_by_wait_time"] = (
            {
                str(t): {
                    "above": {
                        "tasks_canceled": sum(w > t for w in canceled),
                        "reservations_accepted": sum(w > t for w in accepted),
                    },
                    "below": {
                        "tasks_canceled": sum(w <= t for w in canceled),
                        "reservations_accepted": sum(w <= t for w in accepted),
                    },
                }
                for t in window.split_by
            }
            if window.split_by
            else None
        )
        out["start_time"] = iso(window.start)
        out["end_time"] = iso(window.end)
        return out

    def queue_cumulative(self, queue: TaskQueue, window: Window) -> dict[str, Any]:
        out = self.cumulative(window, lambda e: e.data.get("TaskQueueSid") == queue.sid, in_queue=True)
        entered = self.events(window, lambda e: e.event_type == "task-queue.entered")
        out["tasks_entered"] = sum(e.data.get("TaskQueueSid") == queue.sid for e in entered)
        out["tasks_moved"] = self._moved_from(queue.sid, window)
        return out

    def _moved_from(self, queue_sid: str, window: Window) -> int:
        last_queue: dict[str, str] = {}
        moved = 0
        for e in self.st.events:
            if e.event_type != "task-queue.entered" or e.event_date > window.end:
                continue
            task_sid, now_in = e.data.get("TaskSid", ""), e.data.get("TaskQueueSid", "")
            before = last_queue.get(task_sid)
            if before == queue_sid and now_in != queue_sid and window.holds(e.event_date):
                moved += 1
            last_queue[task_sid] = now_in
        return moved

    def workflow_cumulative(self, workflow_sid: str, window: Window) -> dict[str, Any]:
        mine: Callable[[TaskRouterEvent], bool] = lambda e: e.data.get("WorkflowSid") == workflow_sid  # noqa: E731
        out = self.cumulative(window, mine, in_queue=False)
        out["tasks_entered"] = len(self.events(window, lambda e: e.event_type == "task.created" and mine(e)))
        out["tasks_moved"] = 0
        out["tasks_timed_out_in_workflow"] = 0
        return out

    def workspace_cumulative(self, window: Window) -> dict[str, Any]:
        out = self.cumulative(window, lambda e: True, in_queue=False)
        out["tasks_created"] = len(self.events(window, lambda e: e.event_type == "task.created"))
        out["tasks_moved"] = sum(self._moved_from(q, window) for q in self.st.queues)
        out["tasks_timed_out_in_workflow"] = 0
        return out

    def workers_cumulative(self, workers: list[Worker], window: Window) -> dict[str, Any]:
        sids = {w.sid for w in workers}
        events = self.events(window, lambda e: e.data.get("WorkerSid") in sids)
        out: dict[str, Any] = {name: 0 for name in RESERVATION_COUNTS.values()}
        for e in events:
            if e.event_type in RESERVATION_COUNTS:
                out[RESERVATION_COUNTS[e.event_type]] += 1
        out["activity_durations"] = self.activity_durations(workers, window)
        out["start_time"] = iso(window.start)
        out["end_time"] = iso(window.end)
        return out

    def activity_durations(self, workers: list[Worker], window: Window) -> list[dict[str, Any]]:
        per_activity: dict[str, list[int]] = {sid: [] for sid in self.st.activities}
        for w in workers:
            for activity_sid, seconds in self._time_in_activities(w, window).items():
                if seconds > 0:
                    per_activity.setdefault(activity_sid, []).append(seconds)
        out = []
        for a in self.st.activities.values():
            figures = _durations(per_activity[a.sid])
            out.append({"sid": a.sid, "friendly_name": a.friendly_name, **figures})
        return out

    def _time_in_activities(self, worker: Worker, window: Window) -> dict[str, int]:
        """Seconds the worker spent in each activity inside the window, from its `worker.activity.update` events."""
        changes = [
            e
            for e in self.st.events
            if e.event_type == "worker.activity.update" and e.data.get("WorkerSid") == worker.sid
        ]
        before = [e for e in changes if e.event_date <= window.start]
        after = [e for e in changes if window.start < e.event_date <= window.end]
        if before:
            current = before[-1].data.get("WorkerActivitySid", worker.activity_sid)
        elif after:
            current = after[0].data.get("WorkerPreviousActivitySid", worker.activity_sid)
        else:
            current = worker.activity_sid
        since = max(window.start, worker.date_created)
        totals: dict[str, int] = {}
        for e in after:
            if e.event_date > since:
                totals[current] = totals.get(current, 0) + int((e.event_date - since).total_seconds())
                since = e.event_date
            current = e.data.get("WorkerActivitySid", current)
        end = min(window.end, self.now)
        if end > since:
            totals[current] = totals.get(current, 0) + int((end - since).total_seconds())
        return totals
