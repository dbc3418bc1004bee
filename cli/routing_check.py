"""Checks of a TaskRouter workflow configuration for the handoff (pure: no I/O, unit-tested).

Tasks are matched against the workflow's filters in order and take the first match. A handed-off task keeps
its
attributes and gains `handedOff: true`, so the filter sending it to the humans must come before the AI filter,
and
the AI filter must exclude it (otherwise a re-evaluation or a reorder sends it back to the AI).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

_TRUE = r"(?:true|'true'|\"true\")"
_HANDED_OFF_TRUE = re.compile(rf"(?<![!\w])handedOff\s*==?\s*{_TRUE}", re.IGNORECASE)
_HANDED_OFF_EXCLUDED = re.compile(
    rf"handedOff\s*!=\s*{_TRUE}|handedOff\s*==?\s*(?:false|'false'|\"false\")|NOT\s*\(?\s*handedOff\s*==?\s*{_TRUE}",
    re.IGNORECASE,
)


class RoutingFilter(BaseModel):
    index: int
    name: str
    expression: str
    queues: list[str]


def parse_filters(configuration: str) -> list[RoutingFilter]:
    """The filters of a workflow `configuration` JSON string; ValueError when it is not one."""
    try:
        data = json.loads(configuration)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the workflow configuration is not JSON ({exc.msg})") from None
    routing = data.get("task_routing") if isinstance(data, dict) else None
    raw_filters = routing.get("filters", []) if isinstance(routing, dict) else None
    if not isinstance(raw_filters, list):
        raise ValueError("the workflow configuration has no task_routing.filters list")
    filters: list[RoutingFilter] = []
    for i, raw in enumerate(raw_filters):
        if not isinstance(raw, dict):
            continue
        targets: list[Any] = raw.get("targets") or []
        queues = [t["queue"] for t in targets if isinstance(t, dict) and isinstance(t.get("queue"), str)]
        filters.append(
            RoutingFilter(
                index=i,
                name=str(raw.get("filter_friendly_name") or raw.get("friendly_name") or f"filter #{i + 1}"),
                expression=str(raw.get("expression") or ""),
                queues=queues,
            )
        )
    return filters


def routing_problems(configuration: str, ai_queue_sid: str, human_queue_sid: str) -> list[str]:
    """What is wrong with the routing for the handoff, each as one sentence; empty when it is right."""
    try:
        filters = parse_filters(configuration)
    except ValueError as exc:
        return [str(exc)]
    human = next((f for f in filters if _HANDED_OFF_TRUE.search(f.expression) and human_queue_sid in f.queues), None)
    ai = next((f for f in filters if ai_queue_sid in f.queues), None)
    problems: list[str] = []
    if human is None:
        misrouted = next((f for f in filters if _HANDED_OFF_TRUE.search(f.expression)), None)
        if misrouted is not None:
            problems.append(
                f"filter {misrouted.name!r} matches handedOff == true but targets {misrouted.queues}, "
                f"not the human queue {human_queue_sid}"
            )
        else:
            problems.append(f"no filter routes `handedOff == true` to the human queue {human_queue_sid}")
    if ai is None:
        problems.append(f"no filter targets the AI queue {ai_queue_sid}, so new conversations never reach the AI")
    if human is not None and ai is not None and human.index > ai.index:
        problems.append(
            f"the handoff filter {human.name!r} (#{human.index + 1}) comes after the AI filter {ai.name!r} "
            f"(#{ai.index + 1}); move it before"
        )
    if ai is not None and not _HANDED_OFF_EXCLUDED.search(ai.expression):
        problems.append(
            f"the AI filter {ai.name!r} does not exclude handed-off tasks; add `handedOff != true` to its expression"
        )
    return problems


def recommended_configuration(ai_queue_sid: str, human_queue_sid: str) -> dict[str, Any]:
    """The TaskRouter workflow configuration the handoff expects (both filters, in this order)."""
    return {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Handed off to humans",
                    "expression": "handedOff == true",
                    "targets": [{"queue": human_queue_sid}],
                },
                {
                    "filter_friendly_name": "AI agent",
                    "expression": 'channelType == "whatsapp" AND handedOff != true',
                    "targets": [{"queue": ai_queue_sid}],
                },
            ],
            "default_filter": {"queue": human_queue_sid},
        }
    }
