"""The production mode: Twilio steps and the AI turn as local activities (ConversationPolicy.local_activities).

The other workflow tests pin step timing with ordinary activities (time skipping cannot see local ones); here
the same conversation logic runs as local activities: a steady AI turn is one workflow task with no activity
scheduled on the server, failures still become state and notices, and the recorded history replays.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from tests.workflow.fakes import client_error
from tests.workflow.harness import Conv
from tests.workflow.test_replay import _record

LOCAL: dict[str, Any] = {"local_activities": True}


def _scheduled(events: list[HistoryEvent]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def _marker_tasks_after(events: list[HistoryEvent], signal_name: str, nth: int) -> int:
    """Workflow tasks that recorded local-activity markers after the nth signal of that name."""
    seen, started, tasks = 0, False, set()
    completed = 0
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            if e.workflow_execution_signaled_event_attributes.signal_name == signal_name:
                seen += 1
                started = started or seen == nth
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed = e.event_id
        if started and e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            if e.marker_recorded_event_attributes.marker_name == "core_local_activity":
                tasks.add(completed)
    return len(tasks)


async def test_a_steady_ai_turn_is_one_workflow_task_of_local_activities(conv: Conv) -> None:
    await conv.begin("SM1", "hello", **LOCAL)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 1)
    await conv.contact_msg("SM2", "and my order?")
    await conv.until_calls("send_whatsapp", 2)
    await conv.settle()
    events = [e async for e in conv.handle.fetch_history_events()]
    assert _scheduled(events) == []  # nothing went through the server's activity queue
    assert conv.fake.names()[-4:] == ["post_to_flex", "ai_turn", "post_to_flex", "send_whatsapp"]
    assert _marker_tasks_after(events, "contact_message", 2) == 1
    assert conv.fake.of("send_whatsapp")[1].body == "AI: and my order?"


async def test_failures_of_local_activities_become_state_and_notices(conv: Conv) -> None:
    conv.fake.fail["post_to_flex"] = [None, client_error("Conversation is closed", 50350)]
    conv.fake.fail["send_whatsapp"] = [client_error("The 'To' number is not a valid WhatsApp user", 63024)]
    await conv.begin("SM1", "hello", **LOCAL)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    view = await conv.until(lambda v: "not sent" in (v.last_error or ""), "send failure recorded")
    assert "TwilioClientError" in (view.last_error or "") and view.state == "ai"
    assert len(conv.fake.of("send_whatsapp")) == 1  # a 4xx is final: no retry storm
    notices = [p.body for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "send_failed"]
    assert len(notices) == 1 and "AI reply was not sent" in (notices[0] or "")
    await conv.contact_msg("SM2", "still there?")
    await conv.until_calls("send_whatsapp", 2)


async def test_ai_failing_as_a_local_activity_hands_off_as_ai_unavailable(conv: Conv) -> None:
    conv.fake.ai_error = "model endpoint down"
    await conv.begin("SM1", "my order is late", **LOCAL)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    view = await conv.until(lambda v: v.state == "queued", "queued after AI failure")
    assert len(conv.fake.of("ai_turn")) == 3  # the AI's bounded retries, run locally
    assert view.handoff_reason == "AI unavailable"
    assert conv.fake.of("merge_handoff_attributes")[0].handoff_attributes["handoffReason"] == "AI unavailable"


async def test_handoff_conversation_with_local_activities_replays(conv: Conv) -> None:
    view = await conv.to_with_rep(**LOCAL)
    assert view.conversation_sid
    await conv.rep_says(view.conversation_sid, "Hello, Alice here", "IMrep1")
    await conv.until_calls("send_whatsapp", 3)
    assert conv.fake.of("send_whatsapp")[-1].body == "Hello, Alice here"
    history = await _record(conv, "handoff_with_rep_local_activities")
    assert _scheduled(list(history.events)) == []
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert any(m.marker_recorded_event_attributes.marker_name == "core_patch" for m in markers)
