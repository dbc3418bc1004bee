"""Unit tests of the benchmark's own arithmetic: percentiles, Twilio signing, action counting, load loops."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from temporalio.api.common.v1 import ActivityType, Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
)
from temporalio.api.sdk.v1 import UserMetadata
from twilio.request_validator import RequestValidator

from bench.history import count
from bench.load import closed_loop, open_loop
from bench.stack import Stack, cpu_per
from bench.stats import median, percentile

E = EventType


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_median_ignores_nan() -> None:
    assert median([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(median([]))


def test_signature_matches_twilio_validator() -> None:
    stack: Any = Stack.__new__(Stack)
    stack.auth_token = "token-123"
    params = {"Body": "hola", "From": "whatsapp:+34600000001", "AccountSid": "AC" + "0" * 32}
    url = "http://127.0.0.1:8000/webhooks/demo/whatsapp"
    signature = Stack.sign(stack, url, params)
    assert RequestValidator("token-123").validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def _ev(event_id: int, event_type: int, **kw: Any) -> HistoryEvent:
    return HistoryEvent(event_id=event_id, event_type=event_type, **kw)  # type: ignore[arg-type]


LA = MarkerRecordedEventAttributes(marker_name="core_local_activity")


def upsert(name: str) -> UpsertWorkflowSearchAttributesEventAttributes:
    return UpsertWorkflowSearchAttributesEventAttributes(
        search_attributes=SearchAttributes(indexed_fields={name: Payload(data=b'"x"')})
    )


def test_count_actions_per_segment() -> None:
    events = [
        _ev(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _ev(2, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        _ev(
            3,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            workflow_execution_signaled_event_attributes=WorkflowExecutionSignaledEventAttributes(
                signal_name="contact_message"
            ),
        ),
        _ev(4, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        _ev(
            5,
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                activity_type=ActivityType(name="ai_turn")
            ),
        ),
        _ev(
            6,
            E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(attempt=3),
        ),
        _ev(7, E.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=LA),
        _ev(8, E.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=LA),  # same workflow task: one action
        _ev(9, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        _ev(10, E.EVENT_TYPE_MARKER_RECORDED, marker_recorded_event_attributes=LA),  # next workflow task: another
        _ev(
            11,
            E.EVENT_TYPE_TIMER_STARTED,
            user_metadata=UserMetadata(summary=Payload(data=b'"24h WhatsApp window"')),
        ),
        _ev(
            12,
            E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            upsert_workflow_search_attributes_event_attributes=upsert("ConversationState"),
        ),
        # A patch taken: its marker and its TemporalChangeVersion upsert are not billed.
        _ev(
            13,
            E.EVENT_TYPE_MARKER_RECORDED,
            marker_recorded_event_attributes=MarkerRecordedEventAttributes(marker_name="core_patch"),
        ),
        _ev(
            14,
            E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            upsert_workflow_search_attributes_event_attributes=upsert("TemporalChangeVersion"),
        ),
    ]
    whole = count(events, "all", 1, 14)
    assert whole.actions["start"] == 1
    assert whole.actions["signal"] == 1
    assert whole.actions["activity"] == 1
    assert whole.actions["activity retry"] == 2
    assert whole.actions["local activities (per WFT)"] == 2
    assert whole.actions["timer"] == 1
    assert whole.actions["upsert"] == 1
    assert whole.total == 9
    assert whole.activities == ["ai_turn"]
    assert whole.timers == ["24h WhatsApp window"]
    later = count(events, "after the signal", 4, 14)
    assert later.actions["signal"] == 0 and later.actions["start"] == 0
    assert later.total == 7


def test_closed_loop_counts_errors_apart() -> None:
    async def op(i: int) -> None:
        if i % 5 == 0:
            raise ValueError("boom")

    res = asyncio.run(closed_loop(op, 20, 4))
    assert res.done == 16 and res.errors == 4
    assert res.first_error is not None and "boom" in res.first_error


def test_open_loop_keeps_its_schedule_when_operations_are_slow() -> None:
    async def slow(i: int) -> None:
        await asyncio.sleep(0.2)

    res = asyncio.run(open_loop(slow, rate=50, duration=0.2))
    assert res.done == 10
    # Ten starts 20 ms apart while each takes 200 ms: they overlap instead of queueing behind each other.
    assert res.elapsed < 1.0


def test_cpu_per_unit() -> None:
    assert cpu_per({"worker": 1.0}, {"worker": 3.0}, 4) == {"worker": 500.0}
    assert cpu_per({}, {"worker": 1.0}, 0) == {}


def test_sustained_drops_a_conversation_whose_turn_failed() -> None:
    from bench.conversations import sustained

    calls: dict[str, int] = {}

    async def turn(contact: str) -> float:
        calls[contact] = calls.get(contact, 0) + 1
        await asyncio.sleep(0.01)
        if contact == "bad":
            raise TimeoutError
        return 0.01

    rate, latencies, errors = asyncio.run(sustained(turn, ["good", "bad"], 0.3, in_flight=2))
    assert calls["bad"] == 1 and errors == 1
    assert calls["good"] > 5 and rate > 0 and latencies


def test_rest_paths_are_shortened_to_sid_prefixes() -> None:
    from bench.script import _shape

    path = "/conversations/v1/Services/IS" + "a" * 32 + "/Conversations/CH" + "0" * 32 + "/Messages"
    assert _shape(path) == "/conversations/v1/Services/IS…/Conversations/CH…/Messages"
    assert _shape("/api/2010-04-01/Accounts/AC" + "1" * 32 + "/Messages.json").endswith("AC…/Messages.json")
