"""Temporal Cloud actions counted from a workflow history, split into the steps of a scripted conversation.

Counted as Cloud bills them: workflow start, each signal, each activity attempt (schedule + retries), each timer
started, each search-attribute upsert / properties modification, continue-as-new, child/external commands;
local activities (markers) count once per workflow task. Queries are not in history: the script makes none and
the service makes none on its own, so they are reported as the count the driver itself issued.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

E = EventType
LOCAL_ACTIVITY_MARKER = "core_local_activity"  # sdk-core's marker names; patches are "core_patch"
CHANGE_VERSION = "TemporalChangeVersion"


class Segment(BaseModel):
    name: str
    first_event: int
    last_event: int
    actions: Counter[str] = Field(default_factory=Counter)
    activities: list[str] = Field(default_factory=list)
    timers: list[str] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)
    workflow_tasks: int = 0
    events: int = 0
    bytes: int = 0  # the events' serialized size: what the step adds to the history

    @property
    def total(self) -> int:
        return sum(self.actions.values())

    def breakdown(self) -> str:
        parts = [f"{k} {v}" for k, v in sorted(self.actions.items()) if v]
        return ", ".join(parts) or "none"


def _summary(ev: HistoryEvent) -> str:
    if ev.HasField("user_metadata") and ev.user_metadata.HasField("summary"):
        try:
            return str(json.loads(ev.user_metadata.summary.data))
        except ValueError:
            return ev.user_metadata.summary.data.decode(errors="replace")
    return ""


def count(events: list[HistoryEvent], name: str, first: int, last: int) -> Segment:
    """Actions of events with ids in [first, last]."""
    seg = Segment(name=name, first_event=first, last_event=last)
    scheduled: dict[int, str] = {}
    marker_wfts: set[int] = set()
    last_wft = 0
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[ev.event_id] = ev.activity_task_scheduled_event_attributes.activity_type.name
        if not first <= ev.event_id <= last:
            if ev.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                last_wft = ev.event_id
            continue
        seg.events += 1
        seg.bytes += ev.ByteSize()
        t = ev.event_type
        a = seg.actions
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a["start"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a["signal"] += 1
            seg.signals.append(ev.workflow_execution_signaled_event_attributes.signal_name)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a["activity"] += 1
            seg.activities.append(scheduled[ev.event_id])
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retries = ev.activity_task_started_event_attributes.attempt - 1
            if retries > 0:
                a["activity retry"] += retries
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            a["timer"] += 1
            seg.timers.append(_summary(ev) or ev.timer_started_event_attributes.timer_id)
        elif t == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            # Temporal Cloud bills no upsert of TemporalChangeVersion alone (the SDK's record of a patch taken).
            if set(fields) - {CHANGE_VERSION}:
                a["upsert"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            a["memo upsert"] += 1
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            # Only local activities are billed (once per workflow task); a patch marker is not an action.
            if ev.marker_recorded_event_attributes.marker_name != LOCAL_ACTIVITY_MARKER:
                continue
            if last_wft not in marker_wfts:
                marker_wfts.add(last_wft)
                a["local activities (per WFT)"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            a["continue-as-new"] += 1
        elif t in (
            E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
            E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        ):
            a["child/external"] += 1
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            seg.workflow_tasks += 1
        if t == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_wft = ev.event_id
    return seg


def timeline(events: list[HistoryEvent], first: int, last: int) -> list[tuple[float, str]]:
    """(ms since the first event of the range, what happened) — the round trips of one step."""
    out: list[tuple[float, str]] = []
    names: dict[int, str] = {}
    t0: datetime | None = None
    for ev in events:
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names[ev.event_id] = ev.activity_task_scheduled_event_attributes.activity_type.name
        if not first <= ev.event_id <= last:
            continue
        at = ev.event_time.ToDatetime()
        t0 = t0 or at
        label = E.Name(ev.event_type).removeprefix("EVENT_TYPE_")
        if ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            label += f" {names[ev.event_id]}"
        elif ev.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            label += f" {names.get(ev.activity_task_completed_event_attributes.scheduled_event_id, '?')}"
        elif ev.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            label += f" {ev.workflow_execution_signaled_event_attributes.signal_name}"
        elif ev.event_type == E.EVENT_TYPE_TIMER_STARTED:
            label += f" {_summary(ev)}"
        out.append(((at - t0).total_seconds() * 1000, label))
    return out
