"""A one-activity workflow for the AI round-trip test (imports only pure models, like the real workflow)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts.ai import AI_TURN_ACTIVITY, AiTurnInput, AiTurnResult


@workflow.defn(name="AiRoundTrip")
class AiRoundTripWorkflow:
    @workflow.run
    async def run(self, inp: AiTurnInput) -> AiTurnResult:
        return await workflow.execute_activity(
            AI_TURN_ACTIVITY,
            inp,
            result_type=AiTurnResult,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
