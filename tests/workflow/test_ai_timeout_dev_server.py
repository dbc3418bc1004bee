"""On the real dev server, in real time: an AI turn that outlasts its start-to-close timeout
(a policy field, shortened here) on every attempt hands the conversation to a rep with "AI unavailable"."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, pydantic_client
from workflows.conversation import ConversationWorkflow
from workflows.conversation.effects import AI_ATTEMPTS


async def test_an_ai_turn_that_times_out_hands_off_as_ai_unavailable(local_env: WorkflowEnvironment) -> None:
    fake = FakeTwilio(ai_delay=30.0)  # far past the 1 s timeout below
    client = pydantic_client(local_env)
    task_queue = f"tq-ai-timeout-{uuid.uuid4()}"
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationWorkflow],
        activities=fake.activities(),
        graceful_shutdown_timeout=timedelta(seconds=1),
    )
    async with worker:
        conv = Conv(local_env, client, fake, task_queue)
        try:
            await conv.begin("SM1", "hello", ai_turn_timeout_seconds=1)
            await conv.until(lambda v: v.task_sid is not None, "task", within=30)
            await conv.ai_offer(conv.session_id("SM1"))
            view = await conv.until(lambda v: v.state == "queued", "handed off after the AI timed out", within=90)
            assert view.handoff_reason == "AI unavailable" and view.handoff_path == "transferred"
            assert view.last_error is not None and "timeout" in view.last_error.lower()
            assert len(fake.of("ai_turn")) == AI_ATTEMPTS
            # Nothing from the AI reached the contact; the rep's task carries the reason.
            assert fake.of("send_whatsapp") == []
            [merged] = fake.of("merge_handoff_attributes")
            assert merged.handoff_attributes["handoffReason"] == "AI unavailable"
            assert "hello" in merged.handoff_attributes["handoffSummary"]
        finally:
            with contextlib.suppress(RPCError):
                await conv.handle.terminate("test over")
