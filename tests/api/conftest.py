"""API test fixtures: a pydantic-converter client on the real dev server, a worker running the stand-in
workflow on its own task queue, and the app served in-process through httpx's ASGI transport."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from config.orgs import OrgRegistry
from config.settings import Settings
from payload_encryption.converter import build_data_converter
from tests.api.standin_workflow import QUERY_RECORDED, StandInConversation
from tests.api.twilio_signing import ADMIN_TOKEN, make_orgs
from tests.polling import eventually

TASK_QUEUE = f"api-tests-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(scope="session")
async def temporal(local_env: WorkflowEnvironment) -> Client:
    """The dev server's client with the shared (pydantic) data converter, as the API uses."""
    return Client(
        local_env.client.service_client,
        namespace=local_env.client.namespace,
        data_converter=build_data_converter(None),
    )


@pytest_asyncio.fixture(scope="session")
async def standin_worker(temporal: Client) -> AsyncIterator[Worker]:
    async with Worker(temporal, task_queue=TASK_QUEUE, workflows=[StandInConversation]) as worker:
        yield worker


@pytest.fixture
def orgs() -> OrgRegistry:
    return make_orgs()


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, task_queue=TASK_QUEUE, admin_token=SecretStr(ADMIN_TOKEN))


@pytest.fixture
def app(settings: Settings, orgs: OrgRegistry, temporal: Client, standin_worker: Worker) -> FastAPI:
    return create_app(settings, orgs, temporal)


@pytest_asyncio.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def recorded(
    temporal: Client, workflow_id: str, until: Callable[[dict[str, Any]], bool] = lambda r: True
) -> dict[str, Any]:
    """What the stand-in recorded (input and signals), polled until `until` holds (signals are async)."""
    handle = temporal.get_workflow_handle(workflow_id)

    async def probe() -> dict[str, Any] | None:
        last: dict[str, Any] = await handle.query(QUERY_RECORDED)
        return last if until(last) else None

    return await eventually(f"the stand-in {workflow_id} recording what was awaited", probe, within=10)
