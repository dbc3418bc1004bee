"""Representative conversations whose histories are kept under `tests/histories/` (the 1.0 baseline): the replay
test replays them with the current code, and `python -m tests.workflow.record_histories` records them again
(only when a change to the workflow is meant to change its commands; see docs/DESIGN.md on versioning)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory

from contracts.signals import PolicyUpdate
from tests.workflow.fakes import client_error
from tests.workflow.harness import Conv, policy

HISTORIES = Path(__file__).parents[1] / "histories"

Scenario = Callable[[Conv], Awaitable[dict[str, WorkflowHistory]]]


async def _history(conv: Conv, run_id: str | None = None) -> WorkflowHistory:
    await conv.quiet()
    return await conv.client.get_workflow_handle(conv.workflow_id, run_id=run_id).fetch_history()


async def handoff_with_rep(conv: Conv) -> dict[str, WorkflowHistory]:
    """AI turn, escalation, transfer, rep replies, window closes, template, the rep's task ends."""
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
    return {"handoff_with_rep": await _history(conv)}


async def continue_as_new_mid_handoff(conv: Conv) -> dict[str, WorkflowHistory]:
    """A handoff round fails, the run continues as new with the retry pending; the new run hands off."""
    conv.fake.fail["hand_off"] = [client_error("temporarily refused", 20001)]
    await conv.to_first_ai_reply("SM1", "hello", continue_as_new_after_events=3)
    await conv.contact_msg("SM2", "I need a human")
    await conv.until(lambda v: v.runs == 2, "continued as new")
    first = await _history(conv, conv.first_run_id)
    await conv.skip(timedelta(seconds=31))
    await conv.until(lambda v: v.state == "queued", "queued in the new run")
    return {"continue_as_new_mid_handoff": first, "after_continue_as_new": await _history(conv)}


async def quiet_ai_session_end(conv: Conv) -> dict[str, WorkflowHistory]:
    """A dropped failure callback read back, the quiet AI session released, a second session opened."""
    conv.fake.message_statuses["SMout1"] = ("undelivered", 63019)
    await conv.to_first_ai_reply("SM1", "hello")
    await conv.skip(timedelta(minutes=11))
    await conv.until(lambda v: len(v.delivery_failures) == 1, "failure read back")
    await conv.skip(timedelta(hours=1))
    await conv.until(lambda v: v.sessions_ended == 1, "quiet AI session ended")
    await conv.contact_msg("SM2", "back again")
    await conv.until(lambda v: v.session_number == 2 and v.task_sid is not None, "second session")
    return {"quiet_ai_session_end": await _history(conv)}


async def operator_commands(conv: Conv) -> dict[str, WorkflowHistory]:
    """Operator updates: a template, edited org settings, a handoff."""
    await conv.to_first_ai_reply("SM1", "hello")
    sent = await conv.template("tpl-1", "order_update", ["Ana", "7"])
    assert sent.outcome == "template_sent"
    edited = policy(queue_sla_seconds=900, busy_message="Our team will be with you shortly.")
    await conv.handle.execute_update("apply_policy", PolicyUpdate(request_id="cfg-1", policy=edited))
    handed = await conv.request_handoff("op-1", "operator takes over")
    assert handed.outcome == "handed_off"
    return {"operator_commands": await _history(conv)}


SCENARIOS: dict[str, Scenario] = {
    "handoff_with_rep": handoff_with_rep,
    "continue_as_new_mid_handoff": continue_as_new_mid_handoff,
    "quiet_ai_session_end": quiet_ai_session_end,
    "operator_commands": operator_commands,
}
# Every history file the scenarios produce: a missing one fails the replay test (it is never recreated there).
SAVED_NAMES = (
    "handoff_with_rep",
    "continue_as_new_mid_handoff",
    "after_continue_as_new",
    "quiet_ai_session_end",
    "operator_commands",
)
