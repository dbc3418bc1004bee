"""merge_handoff_attributes on a fake TaskRouter: ETag/If-Match, 412 re-read, nothing of others dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.twilio_activities import TwilioActivities, merge_attributes
from contracts.activities import MergeHandoffAttributesInput
from tests.activities.fakes import WORKSPACE, Call, FakeClients, FakeHttp

TASK = "WT" + "1" * 32
PATH = f"/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}"
SIX = {
    "handedOff": True,
    "handoffReason": "customer wants to cancel subscription",
    "handoffSummary": "Ana asked twice to cancel; AI could not help.",
    "handoffSentiment": "negative",
    "handoffLanguage": "es",
    "handoffTimestamp": "2026-11-25T13:00:00Z",
}


class FakeTask:
    """A task with an ETag; `intruder` changes it once right after the first read (a concurrent writer)."""

    def __init__(self, attributes: dict[str, Any], intrusions: int = 0) -> None:
        self.attributes = attributes
        self.version = 1
        self.intrusions = intrusions

    def body(self) -> dict[str, Any]:
        return {"sid": TASK, "attributes": json.dumps(self.attributes), "assignment_status": "assigned"}

    def get(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        out = (200, self.body(), {"ETag": str(self.version)})
        if self.intrusions:
            self.intrusions -= 1
            self.attributes = {**self.attributes, f"other{self.version}": "set by someone else"}
            self.version += 1
        return out

    def post(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        if call.headers.get("If-Match") != str(self.version):
            return 412, {"code": 20412, "message": "Precondition Failed", "status": 412}, {}
        self.attributes = json.loads(str(call.data["Attributes"]))
        self.version += 1
        return 200, self.body(), {"ETag": str(self.version)}


def _acts(task: FakeTask) -> tuple[TwilioActivities, FakeHttp]:
    http = FakeHttp()
    http.routes[("GET", PATH)] = task.get
    http.routes[("POST", PATH)] = task.post
    return TwilioActivities(FakeClients(http), merge_max_attempts=3), http


def _inp(attrs: dict[str, Any] = SIX) -> MergeHandoffAttributesInput:
    return MergeHandoffAttributesInput(org="acme", workspace_sid=WORKSPACE, task_sid=TASK, handoff_attributes=attrs)


def test_merge_keeps_every_other_attribute_and_sends_if_match() -> None:
    task = FakeTask({"order_id": 42, "customer": {"tier": "gold"}, "waHandoff": {"sessionId": "k-1"}})
    acts, http = _acts(task)
    result = acts.merge_handoff_attributes(_inp())
    assert result.conflicts_retried == 0
    assert task.attributes == {
        "order_id": 42,
        "customer": {"tier": "gold"},
        "waHandoff": {"sessionId": "k-1"},
        **SIX,
    }
    assert result.attributes == task.attributes
    posts = [c for c in http.calls if c.method == "POST"]
    assert len(posts) == 1 and posts[0].headers["If-Match"] == "1"


def test_412_rereads_and_keeps_the_concurrent_change() -> None:
    task = FakeTask({"order_id": 42}, intrusions=2)
    acts, _ = _acts(task)
    result = acts.merge_handoff_attributes(_inp())
    assert result.conflicts_retried == 2
    assert task.attributes["other1"] == "set by someone else"
    assert task.attributes["other2"] == "set by someone else"
    assert task.attributes["order_id"] == 42 and task.attributes["handedOff"] is True


def test_conflicts_past_the_limit_raise_retryable() -> None:
    task = FakeTask({}, intrusions=100)
    acts, _ = _acts(task)
    with pytest.raises(ApplicationError) as info:
        acts.merge_handoff_attributes(_inp())
    assert info.value.type == "TaskAttributesConflict"
    assert not info.value.non_retryable


def test_already_merged_writes_nothing() -> None:
    task = FakeTask({"x": 1, **SIX})
    acts, http = _acts(task)
    assert acts.merge_handoff_attributes(_inp()).attributes == {"x": 1, **SIX}
    assert not [c for c in http.calls if c.method == "POST"]


def test_other_keys_are_refused() -> None:
    acts, http = _acts(FakeTask({}))
    with pytest.raises(ApplicationError) as info:
        acts.merge_handoff_attributes(_inp({**SIX, "waHandoff": {}}))
    assert info.value.non_retryable and "waHandoff" in str(info.value)
    assert not http.calls
    with pytest.raises(ValueError):
        merge_attributes({}, {"name": "x"})


def test_merge_overrides_previous_handoff_values_only() -> None:
    merged = merge_attributes({"handoffReason": "old", "name": "Ana"}, {"handoffReason": "new"})
    assert merged == {"handoffReason": "new", "name": "Ana"}
