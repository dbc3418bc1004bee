"""A stand-in registered as "ConversationWorkflow": records its input, every signal and every update, so the API
tests do not depend on the real workflow. Signal `test_set_attributes` upserts search attributes (admin list
tests); `test_set_csat` sets the latest rating's (`CsatScore`, `CsatAt`) and makes the state query fail (a
conversation whose state cannot be read); signal `test_finish` completes it (an idle-closed conversation).
Updates answer like the real one's: a handoff whose reason is "refuse" is refused as nothing to hand off, one
whose reason is "slow" answers only when the workflow finishes, and a template other than `order_update` is
refused as unknown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.search_attributes import CONVERSATION_STATE, CSAT_AT, CSAT_SCORE, HANDOFF_REQUESTED_AT, HANDOFF_STUCK
    from contracts.signals import (
        QUERY_STATE,
        QUERY_TRANSCRIPT,
        REFUSED_NOTHING_TO_HAND_OFF,
        REFUSED_UNKNOWN_TEMPLATE,
        WORKFLOW_NAME,
    )

QUERY_RECORDED = "test_recorded"


@workflow.defn(name=WORKFLOW_NAME)
class StandInConversation:
    def __init__(self) -> None:
        self.start: dict[str, Any] | None = None
        self.signals: list[dict[str, Any]] = []
        self.finished = False
        self.state_broken = False

    @workflow.run
    async def run(self, start: dict[str, Any]) -> int:
        self.start = start
        await workflow.wait_condition(lambda: self.finished)
        return len(self.signals)

    @workflow.signal(dynamic=True)
    def record(self, name: str, args: Sequence[RawValue]) -> None:
        payload = workflow.payload_converter().from_payload(args[0].payload) if args else None
        if name == "test_finish":
            self.finished = True
            return
        if name == "test_set_csat":
            assert isinstance(payload, dict)
            workflow.upsert_search_attributes(
                [CSAT_SCORE.value_set(payload["score"]), CSAT_AT.value_set(datetime.fromisoformat(payload["at"]))]
            )
            self.state_broken = True
            return
        if name == "test_set_attributes":
            assert isinstance(payload, dict)
            updates: list[SearchAttributeUpdate[Any]] = [
                CONVERSATION_STATE.value_set(payload["state"]),
                HANDOFF_STUCK.value_set(payload["stuck"]),
            ]
            if payload.get("handoff_requested_at"):
                updates.append(HANDOFF_REQUESTED_AT.value_set(datetime.fromisoformat(payload["handoff_requested_at"])))
            workflow.upsert_search_attributes(updates)
            return
        self.signals.append({"name": name, "payload": payload})

    @workflow.update(dynamic=True)
    async def command(self, name: str, args: Sequence[RawValue]) -> dict[str, Any]:
        payload = workflow.payload_converter().from_payload(args[0].payload) if args else None
        assert isinstance(payload, dict)
        self.signals.append({"name": name, "payload": payload})
        if payload.get("reason") == "refuse":
            raise ApplicationError("nothing to hand off: no open session", type=REFUSED_NOTHING_TO_HAND_OFF)
        if payload.get("reason") == "slow":
            await workflow.wait_condition(lambda: self.finished)
        if "template_name" in payload and payload["template_name"] != "order_update":
            raise ApplicationError(f"unknown template {payload['template_name']!r}", type=REFUSED_UNKNOWN_TEMPLATE)
        outcome = "template_sent" if "template_name" in payload else "handed_off"
        return {"request_id": payload["request_id"], "outcome": outcome, "state": "queued", "task_sid": "WT1"}

    @workflow.query(name=QUERY_STATE)
    def state(self) -> dict[str, Any]:
        if self.state_broken:
            raise ApplicationError("state not readable")
        return {"state": "ai", "signals": len(self.signals)}

    @workflow.query(name=QUERY_TRANSCRIPT)
    def transcript(self) -> list[dict[str, Any]]:
        return [{"kind": s["name"]} for s in self.signals]

    @workflow.query(name=QUERY_RECORDED)
    def recorded(self) -> dict[str, Any]:
        return {"start": self.start, "signals": self.signals}
