"""Which TaskRouter event types the API signals: every type `session_events.classify` can act on, no other."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import session_events
from rules.session_events import EventFacts, TaskContext, classify
from rules.taskrouter_filter import SIGNALLED_EVENT_TYPES, needs_signal

SESSION = "k-SM1"
AI_NAME, AI_WORKER, AI_QUEUE, AI_TASK, HUMAN_TASK = "AI Support Agent", "WKai", "WQai", "WT1", "WT2"

# TaskRouter's workspace event types (Twilio docs), the names the brief uses, and near misses.
TASKROUTER_EVENT_TYPES = (
    "task.created",
    "task.updated",
    "task.canceled",
    "task.completed",
    "task.wrapup",
    "task.deleted",
    "task.system-deleted",
    "task.transfer-initiated",
    "task.transfer-attempt-failed",
    "task.transfer-completed",
    "task.transfer-canceled",
    "task.transfer-failed",
    "task.queue_entered",
    "task-queue.entered",
    "task-queue.timeout",
    "task-queue.moved",
    "task-queue.created",
    "task-queue.deleted",
    "task-queue.expression.updated",
    "reservation.created",
    "reservation.accepted",
    "reservation.rejected",
    "reservation.timeout",
    "reservation.canceled",
    "reservation.rescinded",
    "reservation.completed",
    "reservation.failed",
    "reservation.wrapup",
    "workflow.target-matched",
    "workflow.entered",
    "workflow.timeout",
    "workflow.skipped",
    "worker.created",
    "worker.deleted",
    "worker.activity.update",
    "worker.attributes.update",
    "worker.capacity.update",
    "worker.channel.availability.update",
    "task-channel.created",
    "activity.created",
    "Reservation.Created",
    "reservation.",
    "task.",
    "",
)


def _contexts() -> list[TaskContext]:
    out = []
    for handed_off, ai_worker_sid, ai_queue_sid, human_task in itertools.product(
        (False, True), (AI_WORKER, None), (AI_QUEUE, None), (HUMAN_TASK, None)
    ):
        out.append(
            TaskContext(
                session_id=SESSION,
                ai_worker_name=AI_NAME,
                ai_worker_sid=ai_worker_sid,
                ai_queue_sid=ai_queue_sid,
                ai_task_sid=AI_TASK,
                human_task_sid=human_task,
                handed_off=handed_off,
                handoff_path="transferred" if handed_off and human_task else "rejected" if handed_off else None,
            )
        )
    return out


def _facts(event_type: str) -> list[EventFacts]:
    out = []
    for task, (worker_sid, worker_name), queue, attrs in itertools.product(
        (AI_TASK, HUMAN_TASK, "WT9"),
        ((AI_WORKER, AI_NAME), (AI_WORKER, None), ("WKrep", "alice"), (None, None)),
        (AI_QUEUE, "WQhumans", None),
        ({"waHandoff": {"sessionId": SESSION}}, {}),
    ):
        out.append(
            EventFacts(
                event_type=event_type,
                task_sid=task,
                worker_sid=worker_sid,
                worker_name=worker_name,
                task_queue_sid=queue,
                task_attributes=attrs,
            )
        )
    return out


CONTEXTS = _contexts()


def _actions(event_type: str) -> set[str]:
    """Every action classify gives this event type, over every combination of task, worker, queue and session."""
    return {classify(f, ctx) for f in _facts(event_type) for ctx in CONTEXTS}


@pytest.mark.parametrize("event_type", TASKROUTER_EVENT_TYPES)
def test_a_type_is_signalled_exactly_when_classify_can_act_on_it(event_type: str) -> None:
    acted_on = _actions(event_type) != {"ignore"}
    assert needs_signal(event_type) == acted_on, _actions(event_type)


@pytest.mark.parametrize("event_type", sorted(SIGNALLED_EVENT_TYPES))
def test_every_signalled_type_leads_to_an_action_somewhere(event_type: str) -> None:
    assert _actions(event_type) - {"ignore"}


def test_the_signalled_set_is_built_from_session_events() -> None:
    assert session_events.TASK_END_TYPES <= SIGNALLED_EVENT_TYPES
    assert session_events.RESERVATION_END_TYPES <= SIGNALLED_EVENT_TYPES
    assert session_events.AI_RELEASE_TYPES <= SIGNALLED_EVENT_TYPES
    assert SIGNALLED_EVENT_TYPES == (
        session_events.TASK_END_TYPES
        | session_events.RESERVATION_END_TYPES
        | session_events.AI_RELEASE_TYPES
        | {"reservation.created", "reservation.accepted"}
    )


@pytest.mark.parametrize(
    "event_type",
    [
        "task.created",
        "task.updated",
        "task.queue_entered",
        "task-queue.entered",
        "workflow.entered",
        "workflow.target-matched",
        "workflow.timeout",
        "worker.activity.update",
        "reservation.failed",
    ],
)
def test_types_the_workflow_never_uses_are_not_signalled(event_type: str) -> None:
    assert not needs_signal(event_type)


@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda p, t: p + t, st.sampled_from(["reservation.", "task.", "task-queue.", "workflow."]), st.text()
        ),
    )
)
def test_any_unsignalled_type_is_ignored_by_classify(event_type: str) -> None:
    if not needs_signal(event_type):
        assert _actions(event_type) == {"ignore"}
