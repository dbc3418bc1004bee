"""The TaskRouter workflow check of connect/doctor, and the EventsFilter arithmetic."""

from __future__ import annotations

import json

import pytest

from cli.connect import REQUIRED_EVENTS, merged_events_filter, missing_events
from cli.routing_check import recommended_configuration, routing_problems

AI = "WQ" + "a" * 32
HUMAN = "WQ" + "b" * 32


def config(*filters: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "task_routing": {
                "filters": [
                    {"filter_friendly_name": name, "expression": expr, "targets": [{"queue": queue}]}
                    for name, expr, queue in filters
                ]
            }
        }
    )


def test_recommended_configuration_passes() -> None:
    assert routing_problems(json.dumps(recommended_configuration(AI, HUMAN)), AI, HUMAN) == []


@pytest.mark.parametrize("excluded", ["handedOff != true", "handedOff == false", "NOT (handedOff == true)"])
def test_exclusion_spellings_are_recognised(excluded: str) -> None:
    cfg = config(("humans", "handedOff == true", HUMAN), ("ai", f"channelType == 'whatsapp' AND {excluded}", AI))
    assert routing_problems(cfg, AI, HUMAN) == []


def test_handoff_filter_after_ai_filter_is_reported() -> None:
    cfg = config(("ai", "handedOff != true", AI), ("humans", "handedOff == true", HUMAN))
    problems = routing_problems(cfg, AI, HUMAN)
    assert len(problems) == 1 and "comes after the AI filter" in problems[0]


def test_missing_handoff_filter_is_reported() -> None:
    problems = routing_problems(config(("ai", "handedOff != true", AI)), AI, HUMAN)
    assert problems == [f"no filter routes `handedOff == true` to the human queue {HUMAN}"]


def test_handoff_filter_to_the_wrong_queue_is_reported() -> None:
    other = "WQ" + "c" * 32
    cfg = config(("humans", "handedOff == true", other), ("ai", "handedOff != true", AI))
    assert "not the human queue" in routing_problems(cfg, AI, HUMAN)[0]


def test_ai_filter_that_does_not_exclude_is_reported() -> None:
    cfg = config(("humans", "handedOff == true", HUMAN), ("ai", "1 == 1", AI))
    problems = routing_problems(cfg, AI, HUMAN)
    assert len(problems) == 1 and "does not exclude handed-off tasks" in problems[0]


def test_ai_filter_matching_handed_off_tasks_is_not_taken_for_an_exclusion() -> None:
    cfg = config(("humans", "handedOff == true", HUMAN), ("ai", "handedOff == true", AI))
    assert any("does not exclude" in p for p in routing_problems(cfg, AI, HUMAN))


def test_no_ai_filter_is_reported() -> None:
    problems = routing_problems(config(("humans", "handedOff == true", HUMAN)), AI, HUMAN)
    assert any("AI queue" in p for p in problems)


@pytest.mark.parametrize("bad", ["", "not json", "[]", '{"task_routing": {"filters": 3}}'])
def test_malformed_configuration_is_one_problem(bad: str) -> None:
    problems = routing_problems(bad, AI, HUMAN)
    assert len(problems) == 1 and "configuration" in problems[0]


def test_events_filter() -> None:
    assert missing_events(None) == [] and missing_events("") == []  # no filter: every event is sent
    assert missing_events("task.completed") == [e for e in REQUIRED_EVENTS if e != "task.completed"]
    assert "task.updated" not in REQUIRED_EVENTS  # the workflow never acts on it: Twilio need not send it
    merged = merged_events_filter("worker.activity.update,task.completed")
    assert merged.split(",")[:2] == ["worker.activity.update", "task.completed"]  # others' events are kept
    assert missing_events(merged) == []
    assert merged.count("task.completed") == 1
