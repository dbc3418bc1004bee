from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from rules.notices import NOTICE_PREFIX
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
        # Terminating a workflow in the middle of a task leaves the test server's time skipping locked: let the
        # worker go idle first.
        await c.settle()
        await asyncio.sleep(0.2)
        # Invariant of every scenario: no notice and no handoff note ever reaches WhatsApp.
        leaked = [
            s.body for s in fake.of("send_whatsapp") if s.body and (NOTICE_PREFIX in s.body or "Handoff from" in s.body)
        ]
        assert not leaked, leaked
        # A left-over workflow with due timers and no worker would stop the shared server's time skipping.
        with contextlib.suppress(RPCError):
            await c.handle.terminate("test over")
