import pytest

from rules import session_events
from rules.session_events import EventFacts, TaskContext, classify

SID = "k-SM1"
ATTRS = {"waHandoff": {"sessionId": SID}}


def ctx(**kw):
    base = dict(
        session_id=SID,
        ai_worker_name="AI Support Agent",
        ai_worker_sid="WKai",
        ai_queue_sid="WQai",
        ai_task_sid="WT1",
    )
    base.update(kw)
    return TaskContext(**base)


def ev(etype, task="WT1", worker="WKai", name="AI Support Agent", attrs=ATTRS, queue=None):
    return EventFacts(
        event_type=etype,
        task_sid=task,
        worker_sid=worker,
        worker_name=name,
        task_attributes=attrs,
        task_queue_sid=queue,
    )


def test_ai_offer_and_accept():
    assert classify(ev("reservation.created"), ctx()) == "ai_offer"
    assert classify(ev("reservation.accepted"), ctx()) == "ai_accepted"
    assert classify(ev("reservation.timeout"), ctx()) == "ai_released"
    # Worker not known by name or sid yet: the AI queue tells.
    assert classify(ev("reservation.created", worker="WKx", name=None, queue="WQai"), ctx(ai_worker_sid=None)) == (
        "ai_offer"
    )


def test_transfer_ai_task_end_is_not_session_end():
    c = ctx(handed_off=True, human_task_sid="WT2", handoff_path="transferred")
    assert classify(ev("task.completed", task="WT1"), c) == "ignore"
    assert classify(ev("task.wrapup", task="WT1"), c) == "ignore"
    assert classify(ev("reservation.completed", task="WT1"), c) == "ignore"
    assert classify(ev("task.completed", task="WT2"), c) == "session_end"
    assert classify(ev("task.canceled", task="WT2"), c) == "session_end"
    assert classify(ev("task.wrapup", task="WT2"), c) == "session_end"


def test_human_acceptance():
    c = ctx(handed_off=True, human_task_sid="WT2", handoff_path="transferred")
    assert classify(ev("reservation.created", task="WT2", worker="WKalice", name="alice"), c) == "human_offer"
    assert classify(ev("reservation.accepted", task="WT2", worker="WKalice", name="alice"), c) == "human_accepted"
    assert classify(ev("reservation.wrapup", task="WT2", worker="WKalice", name="alice"), c) == "session_end"
    # Before any handoff a human reservation means nothing to us.
    assert classify(ev("reservation.accepted", worker="WKalice", name="alice"), ctx()) == "ignore"


def test_reject_path_same_task():
    c = ctx(handed_off=True, human_task_sid="WT1", handoff_path="rejected")
    assert classify(ev("reservation.rejected"), c) == "ignore"
    assert classify(ev("reservation.accepted", worker="WKbob", name="bob"), c) == "human_accepted"
    assert classify(ev("task.completed"), c) == "session_end"


def test_ai_task_canceled_before_handoff_ends_session():
    assert classify(ev("task.canceled", worker=None, name=None), ctx()) == "session_end"


def test_other_sessions_and_unknown_tasks_are_ignored():
    assert classify(ev("reservation.created", attrs={"waHandoff": {"sessionId": "old"}}), ctx()) == "ignore"
    assert classify(ev("task.completed", task="WT9", attrs={}), ctx()) == "ignore"
    assert classify(ev("reservation.created"), ctx(session_id=None)) == "ignore"
    assert classify(ev("workflow.timeout"), ctx()) == "ignore"


@pytest.mark.parametrize(
    ("status", "ended"),
    [
        ("completed", True),
        ("canceled", True),
        ("wrapping", True),
        ("assigned", False),
        ("reserved", False),
        ("pending", False),
        ("", False),
    ],
)
def test_a_rep_task_read_back_ends_the_session_exactly_when_its_event_would(status: str, ended: bool) -> None:
    assert session_events.rep_task_ended(status) is ended
    # The same statuses as the task events that end a rep's session (task.wrapup is the task going to wrapping).
    event = {"completed": "task.completed", "canceled": "task.canceled", "wrapping": "task.wrapup"}.get(status)
    assert (event in session_events.TASK_END_TYPES) is ended
