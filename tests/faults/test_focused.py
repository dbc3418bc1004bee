"""Focused fault tests (issue 5), each a full scripted conversation checked from the sandbox's record:
a missed `reservation.created` (the workflow reconciles by reading the task), TaskRouter events duplicated and
replayed out of order, and the worker SIGKILLed inside the handoff activities."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cli.connect import client_for
from cli.sandbox_setup import SANDBOX_ORG
from config.orgs import OrgRegistry
from loadgen.chaos import HANDOFF_CALLS, ChaosConfig
from loadgen.faultrun import FaultRunConfig, FaultRunResult, run_faults
from loadgen.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

QUIET = dict(
    rest_5xx_rate=0.0,
    rest_429_rate=0.0,
    latency_max_ms=0,
    webhook_drop_rate=0.0,
    webhook_duplicate_rate=0.0,
    extra_copy_rate=0.0,
    webhook_reorder=False,
    chaos=None,
    settle_seconds=3.0,
    oversize_every=0,
)
TASK_FETCH = re.compile(r"^/taskrouter/v1/Workspaces/WS\w+/Tasks/WT\w+$")


def _workspace(stack: Stack) -> Any:
    org = OrgRegistry.load(stack.info.orgs_file).get(SANDBOX_ORG)
    assert org is not None
    return client_for(org).taskrouter.v1.workspaces(stack.seed.workspace_sid)


def _assert_clean(result: FaultRunResult) -> None:
    print(result.render())
    assert not [c for c in result.violations if c.category == "stalled"], result.render()
    assert result.ok, result.render()


def test_missed_reservation_created_is_reconciled(stack: Stack) -> None:
    """No reservation.created ever arrives: the AI's offer and the rep's are found by fetching the task."""
    ws = _workspace(stack)
    original = ws.fetch().events_filter or ""
    kept = [e.strip() for e in original.split(",") if e.strip() and e.strip() != "reservation.created"]
    assert kept, "the workspace's EventsFilter should list the events `connect` registered"
    ws.update(events_filter=",".join(kept))
    try:
        result = run_faults(FaultRunConfig(conversations=2, seed=11, step_timeout=240, **QUIET), stack)
    finally:
        ws.update(events_filter=original)
    _assert_clean(result)
    created = [
        e
        for e in result.record
        if e["kind"] == "webhook.sent" and (e.get("params") or {}).get("EventType") == "reservation.created"
    ]
    assert created == [], "the EventsFilter should have kept reservation.created from the service"
    offers = [e for e in result.record if e["kind"] == "taskrouter.event" and e["event_type"] == "reservation.created"]
    assert offers, "reservations were offered (the service just never heard of it)"
    fetches = [e for e in result.record if e["kind"] == "rest" and e["method"] == "GET" and TASK_FETCH.match(e["path"])]
    assert fetches, "the workflow should have reconciled by fetching the task"


def test_taskrouter_events_duplicated_and_out_of_order(stack: Stack) -> None:
    """Every webhook twice from the sandbox, a third copy racing it or arriving late, random per-delivery
    delays (reordering), then every TaskRouter event of the run again, newest first, three copies at once."""
    cfg = FaultRunConfig(
        conversations=4,
        seed=12,
        **{
            **QUIET,
            "webhook_duplicate_rate": 1.0,
            "extra_copy_rate": 1.0,
            "webhook_reorder": True,
        },
        reverse_replay_taskrouter=True,
    )
    result = run_faults(cfg, stack)
    _assert_clean(result)
    faults = result.figures["injected faults"]
    assert faults.get("webhook reverse-order copy: taskrouter", 0) >= 3 * 4 * 3, faults
    assert faults.get("webhook duplicated by the sandbox", 0) > 0


@pytest.mark.parametrize("call", HANDOFF_CALLS, ids=["merge-attributes", "invite", "close-ai-participant"])
def test_worker_killed_inside_handoff(stack: Stack, call: str) -> None:
    """The worker is SIGKILLed the moment a handoff activity's Twilio call lands (and stays dead a while):
    the retried activity must find what the dead one did — one human task, one invite, the AI released once."""
    chaos = ChaosConfig(
        worker_kill_every=None,
        api_restart_every=None,
        temporal_restart_every=None,
        kill_on=[call],
        handoff_kill_rate=1.0,
        handoff_kill_cooldown=3600,
        worker_down=(1.0, 2.0),
    )
    cfg = FaultRunConfig(conversations=1, seed=13, step_timeout=240, **{**QUIET, "chaos": chaos})
    result = run_faults(cfg, stack)
    _assert_clean(result)
    assert result.figures["injected faults"].get("worker SIGKILL in handoff") == 1, result.figures
