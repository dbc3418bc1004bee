"""The conversation workflow as it would be after a careless change: another command where recorded histories
have the first activity (its own module: the workflow sandbox re-imports it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.signals import WORKFLOW_NAME, ConversationStart


@workflow.defn(name=WORKFLOW_NAME)
class ConversationWorkflowWithAnExtraTimer:
    @workflow.run
    async def run(self, start: ConversationStart) -> None:
        await workflow.sleep(timedelta(seconds=1))
