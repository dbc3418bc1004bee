"""The fault suite: many concurrent conversations through the real stack while webhooks are
duplicated, reordered and dropped, the sandbox's REST API fails and lags, and the worker, the API and the
Temporal dev server are killed and restarted. Nothing lost, nothing twice, nobody reached who should not be.

Size: FAULTS_CONVERSATIONS (default 200). `python -m bench.faults` is the larger run.
"""

from __future__ import annotations

import os

import pytest

from loadgen.chaos import ChaosConfig
from loadgen.faultrun import FaultRunConfig, run_faults
from loadgen.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def _size() -> int:
    raw = os.environ.get("FAULTS_CONVERSATIONS", "200")
    try:
        n = int(raw)
    except ValueError:
        raise pytest.UsageError(f"FAULTS_CONVERSATIONS must be an integer, got {raw!r}") from None
    if n < 1:
        raise pytest.UsageError(f"FAULTS_CONVERSATIONS must be at least 1, got {n}")
    return n


def test_every_fault_at_once(stack: Stack) -> None:
    n = _size()
    result = run_faults(
        FaultRunConfig(conversations=n, seed=int(os.environ.get("FAULTS_SEED", "1")), chaos=ChaosConfig()),
        stack,
        progress=print,
    )
    print(result.render())
    figures = result.figures
    faults = figures["injected faults"]
    # The run really was hostile (else the assertions below prove nothing).
    assert faults.get("REST 5xx", 0) > 0 and faults.get("REST 429", 0) > 0
    assert faults.get("webhook duplicated by the sandbox", 0) > 0
    assert any(k.startswith("webhook dropped") for k in faults) or n < 50
    assert faults.get("worker SIGKILL", 0) + faults.get("worker SIGKILL in handoff", 0) > 0
    assert figures["conversations"] == n
    assert not result.workflow_problems, result.render()
    # The defects the suite found are fixed (their tests in test_focused.py must pass): every violation fails the
    # run, whatever explanation the judge attaches. Only "slow" (there in the end, after the driver's wait) passes.
    assert [v for v in result.violations if v.category != "slow"] == [], result.render()
