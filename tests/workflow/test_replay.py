"""Replay: the saved histories (the 1.0 baseline, `tests/histories/`) replay with the current workflow code, and
every scenario behind them, run now, replays too. This test never writes a history: a missing one fails it.

A change that alters the commands of a recorded conversation fails here, as it would break conversations running
in production; docs/DESIGN.md says how such a change is made (and when the histories are recorded again with
`python -m tests.workflow.record_histories`).
"""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflow.changed_workflow import ConversationWorkflowWithAnExtraTimer
from tests.workflow.harness import Conv
from tests.workflow.history_scenarios import HISTORIES, SAVED_NAMES, SCENARIOS
from workflows.conversation import ConversationWorkflow


def replayer(*workflows: type) -> Replayer:
    return Replayer(workflows=list(workflows) or [ConversationWorkflow], data_converter=pydantic_data_converter)


def saved(name: str) -> WorkflowHistory:
    path = HISTORIES / f"{name}.json"
    assert path.is_file(), f"{path} is missing: record it with `python -m tests.workflow.record_histories`"
    return WorkflowHistory.from_json(name, path.read_text())


@pytest.mark.parametrize("name", SAVED_NAMES)
async def test_saved_history_replays(name: str) -> None:
    result = await replayer().replay_workflow(saved(name), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_no_history_is_kept_that_no_scenario_records() -> None:
    assert sorted(p.stem for p in HISTORIES.glob("*.json")) == sorted(SAVED_NAMES)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_scenario_run_now_replays(conv: Conv, scenario: str) -> None:
    histories = await SCENARIOS[scenario](conv)
    for history in histories.values():
        assert len(history.events) > 5, [EventType.Name(e.event_type) for e in history.events]
        result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure


async def test_a_changed_command_order_fails_the_replay() -> None:
    result = await replayer(ConversationWorkflowWithAnExtraTimer).replay_workflow(
        saved("handoff_with_rep"), raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
