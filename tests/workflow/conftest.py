from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from rules.notices import NOTICE_PREFIX
from tests.polling import NeverHappened
from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, make_worker, pydantic_client


@pytest_asyncio.fixture
async def fake() -> FakeTwilio:
    return FakeTwilio()


@pytest_asyncio.fixture
async def conv(time_skipping_env: WorkflowEnvironment, fake: FakeTwilio) -> AsyncIterator[Conv]:
    client = pydantic_client(time_skipping_env)
    task_queue = f"tq-{uuid.uuid4()}"
    async with make_worker(client, fake, task_queue):
        c = Conv(time_skipping_env, client, fake, task_queue)
        yield c
        try:
            # Terminating a workflow in the middle of a task leaves the test server's time skipping locked: let
            # the workflow deal with everything and wait first (a test that failed may leave it otherwise).
            if await c.running():
                with contextlib.suppress(NeverHappened):
                    await c.quiet()
            # Invariants of every scenario: no workflow task ever failed (an illegal transition, a
            # nondeterminism), and no notice or handoff note ever reached WhatsApp.
            failures = await workflow_task_failures(c)
            assert not failures, failures
            leaked = [
                s.body
                for s in fake.of("send_whatsapp")
                if s.body and (NOTICE_PREFIX in s.body or "Handoff from" in s.body)
            ]
            assert not leaked, leaked
        finally:
            # A left-over workflow with due timers and no worker would stop the shared server's time skipping.
            with contextlib.suppress(RPCError):
                await c.handle.terminate("test over")


async def workflow_task_failures(c: Conv) -> list[str]:
    """The failure messages of every failed workflow task, in the first run and the latest one."""
    failures: list[str] = []
    run_ids = {None, c.first_run_id}
    for run_id in run_ids:
        handle = c.client.get_workflow_handle(c.workflow_id, run_id=run_id)
        try:
            history = await handle.fetch_history()
        except RPCError:
            continue
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failures.append(event.workflow_task_failed_event_attributes.failure.message)
    return failures
