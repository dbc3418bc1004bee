"""A quiet AI-held session ends: the AI's task is released (its chat capacity freed), the next message opens a
new session, idle close works again; a rep's task is never released; one quiet-period timer, not one per
message."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError

from contracts.views import ConversationView
from tests.workflow.fakes import client_error
from tests.workflow.harness import Conv

QUIET = "quiet period"


async def _quiet_timers(conv: Conv) -> int:
    history = await conv.handle.fetch_history()
    n = 0
    for ev in history.events:
        if ev.event_type == EventType.EVENT_TYPE_TIMER_STARTED and QUIET in ev.user_metadata.summary.data.decode():
            n += 1
    return n


async def test_quiet_ai_session_releases_the_ai_task_and_the_next_message_opens_a_new_session(conv: Conv) -> None:
    sess = await conv.to_first_ai_reply()
    timers_before = await _quiet_timers(conv)
    assert timers_before == 1  # opening the session and the first AI turn: one quiet-period timer
    # A burst of messages, each answered: the quiet deadline moves, no timer starts per message.
    for i in range(2, 7):
        await conv.contact_msg(f"SM{i}", f"question {i}")
        await conv.until_calls("send_whatsapp", i)
    assert await _quiet_timers(conv) == timers_before
    await conv.skip(timedelta(minutes=59))
    await conv.quiet()
    assert conv.fake.of("release_ai_task") == []
    await conv.skip(timedelta(minutes=2))
    view = await conv.until(lambda v: v.sessions_ended == 1, "quiet AI session ended")
    assert view.session_id is None and view.state == "ai" and view.task_sid is None
    [release] = conv.fake.of("release_ai_task")
    assert (release.task_sid, release.session_id) == ("WT1", sess)
    assert (release.ai_participant_sid, release.ai_worker_sid) == ("UTai", "WKai")
    assert (release.interaction_sid, release.channel_sid) == ("KD1", "UO1")
    # The next contact message opens a new session with a new task, and the AI answers it.
    await conv.contact_msg("SM9", "back again")
    view = await conv.until(lambda v: v.task_sid == "WT2", "second session's task")
    assert view.session_number == 2 and view.session_id == conv.session_id("SM9")
    await conv.ai_offer(conv.session_id("SM9"), task="WT2", reservation="WR2")
    await conv.until_calls("send_whatsapp", 7)
    assert len(conv.fake.of("release_ai_task")) == 1


async def test_after_the_ai_session_ends_the_workflow_idle_closes(conv: Conv) -> None:
    await conv.to_first_ai_reply(idle_close_seconds=3600)
    await conv.skip(timedelta(hours=1, minutes=1))
    await conv.until(lambda v: v.sessions_ended == 1, "quiet AI session ended")
    await conv.skip(timedelta(hours=24))
    result = ConversationView.model_validate(await conv.handle.result())
    assert result.state == "closed" and result.sessions_ended == 1


async def test_ai_session_ends_at_the_latest_when_the_window_closes(conv: Conv) -> None:
    await conv.to_first_ai_reply(ai_session_idle_seconds=3 * 24 * 3600)
    await conv.skip(timedelta(hours=23, minutes=50))
    await conv.quiet()
    assert conv.fake.of("release_ai_task") == []
    await conv.skip(timedelta(minutes=11))
    view = await conv.until(lambda v: v.sessions_ended == 1, "session ended at the window's close")
    assert not view.window_open and len(conv.fake.of("release_ai_task")) == 1


async def test_a_reps_task_is_never_released(conv: Conv) -> None:
    await conv.to_with_rep()
    await conv.skip(timedelta(hours=3))
    await conv.quiet()
    view = await conv.view()
    assert view.state == "with_rep" and view.sessions_ended == 0
    assert conv.fake.of("release_ai_task") == []


async def test_a_failed_release_is_retried_then_a_final_error_ends_the_session(conv: Conv) -> None:
    # A failure that is not a Twilio 4xx (e.g. retries exhausted on 5xx) → tried again later; a 4xx → give up.
    conv.fake.fail["release_ai_task"] = [
        ApplicationError("Twilio 503 (retries exhausted)", non_retryable=True),
        client_error("task gone", 20404),
    ]
    await conv.to_first_ai_reply()
    await conv.skip(timedelta(hours=1, minutes=1))
    view = await conv.until(lambda v: v.sessions_ended == 1, "session ended after a final error")
    assert len(conv.fake.of("release_ai_task")) == 2
    assert view.last_error is not None and "task gone" in view.last_error
    assert any("without releasing" in s for s in view.skipped)
