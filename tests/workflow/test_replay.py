"""Replay: histories of representative conversations replay without nondeterminism with the project's converter.

Histories are recorded from real runs on the time-skipping server: each run here is replayed at once, and the
saved ones under `tests/histories/` (committed; refresh with WAFH_WRITE_HISTORIES=1) guard against changes to
the workflow code that would break running conversations.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflow.fakes import client_error
from tests.workflow.harness import Conv
from workflows.conversation import ConversationWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=[ConversationWorkflow], data_converter=pydantic_data_converter)


async def _record(conv: Conv, name: str) -> WorkflowHistory:
    await conv.settle()
    history = await conv.handle.fetch_history()
    await replayer().replay_workflow(history)
    path = HISTORIES / f"{name}.json"
    if os.environ.get("WAFH_WRITE_HISTORIES") == "1" or not path.exists():
        path.write_text(history.to_json())
    return history


async def test_handoff_conversation_replays(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.conversation_sid and view.session_id
    await conv.rep_says(view.conversation_sid, "Hello, Alice here", "IMrep1")
    await conv.until_calls("send_whatsapp", 3)
    await conv.skip(timedelta(hours=25))
    await conv.until(lambda v: not v.window_open and len(v.notices) >= 1, "window notice")
    await conv.rep_says(view.conversation_sid, "/template order_update Ana 42", "IMtpl")
    await conv.until_calls("send_whatsapp", 4)
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "session end")
    history = await _record(conv, "handoff_with_rep")
    assert len(history.events) > 50


async def test_continue_as_new_run_replays(conv: Conv) -> None:
    conv.fake.fail["hand_to_humans"] = [client_error("temporarily refused", 20001)]
    await conv.begin("SM1", "hello", continue_as_new_after_events=3)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 1)
    await conv.contact_msg("SM2", "I need a human")
    await conv.until(lambda v: v.runs == 2, "continued as new")
    # The first run ended in continue-as-new mid-handoff: replay it too, and keep it.
    first = conv.client.get_workflow_handle(conv.workflow_id, run_id=conv.first_run_id)
    first_history = await first.fetch_history()
    await replayer().replay_workflow(first_history)
    path = HISTORIES / "continue_as_new_mid_handoff.json"
    if os.environ.get("WAFH_WRITE_HISTORIES") == "1" or not path.exists():
        path.write_text(first_history.to_json())
    await conv.skip(timedelta(seconds=31))
    await conv.until(lambda v: v.state == "queued", "queued in the new run")
    await _record(conv, "after_continue_as_new")


async def test_quiet_ai_session_end_and_missed_status_replay(conv: Conv) -> None:
    conv.fake.message_statuses["SMout1"] = ("undelivered", 63019)
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 1)
    await conv.skip(timedelta(minutes=11))
    await conv.until(lambda v: len(v.delivery_failures) == 1, "failure read back")
    await conv.skip(timedelta(hours=1))
    await conv.until(lambda v: v.sessions_ended == 1, "quiet AI session ended")
    await conv.contact_msg("SM2", "back again")
    await conv.until(lambda v: v.session_number == 2 and v.task_sid is not None, "second session")
    await _record(conv, "quiet_ai_session_end")


SAVED = {p.stem: p.read_text() for p in sorted(HISTORIES.glob("*.json"))}


@pytest.mark.parametrize("name", sorted(SAVED))
async def test_saved_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, SAVED[name])
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
