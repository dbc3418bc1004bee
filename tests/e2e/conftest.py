"""The whole service in one process: real Temporal dev server (`start_local`), the Twilio sandbox, the worker and
the API on real ports, wired exactly as `wa-flex-handoff run` wires them (orgs file from the seed, `connect`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.connect import check_org
from cli.sandbox_setup import SANDBOX_ORG, OrgSetting, SandboxSeedInfo, fetch_seed, register_sender, write_sandbox_orgs
from config.orgs import OrgRegistry
from config.settings import Settings
from payload_encryption.converter import build_data_converter
from twilio_sandbox.testing import free_port, running_sandbox, serve_app
from worker import run_worker

ADMIN_TOKEN = "e2e-admin-token"


@dataclass
class Stack:
    sandbox_url: str
    api_url: str
    seed: SandboxSeedInfo
    orgs: OrgRegistry
    client: Client
    http: httpx.AsyncClient  # talks to the sandbox's control API and our API
    settings: Settings  # the worker's and the API's (their task queue)

    @property
    def business(self) -> str:
        return self.seed.whatsapp_numbers[0]


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    local_env: WorkflowEnvironment, sandbox_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with running_stack(local_env, sandbox_url, tmp_path_factory.mktemp("e2e")) as running:
        yield running


def stack_with(org_settings: Mapping[str, OrgSetting], *, name: str) -> Any:
    """A module-scoped fixture called `name`: the whole service, `org_settings` in the sandbox org's entry."""

    @pytest_asyncio.fixture(scope="module", loop_scope="session", name=name)
    async def fixture(
        local_env: WorkflowEnvironment, sandbox_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[Stack]:
        async with running_stack(local_env, sandbox_url, tmp_path_factory.mktemp(f"e2e-{name}"), org_settings) as stack:
            yield stack

    return fixture


@asynccontextmanager
async def running_stack(
    local_env: WorkflowEnvironment,
    sandbox_url: str,
    data_dir: Path,
    org_settings: Mapping[str, OrgSetting] | None = None,
) -> AsyncIterator[Stack]:
    """The whole service against the sandbox; `org_settings` go into the sandbox org's entry of the orgs file."""
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    seed = fetch_seed(sandbox_url)
    orgs = OrgRegistry.load(
        write_sandbox_orgs(seed, data_dir, public_base_url=api_url, sandbox_url=sandbox_url, org_settings=org_settings)
    )
    for number in seed.whatsapp_numbers:
        register_sender(sandbox_url, number, f"{api_url}/webhooks/{SANDBOX_ORG}/whatsapp")
    org = orgs.get(SANDBOX_ORG)
    assert org is not None
    report = await asyncio.to_thread(check_org, org, apply=True)
    assert report.ok, report

    settings = Settings(_env_file=None, task_queue=f"e2e-{uuid.uuid4().hex[:8]}", admin_token=SecretStr(ADMIN_TOKEN))
    target = local_env.client.service_client.config.target_host
    client = await Client.connect(target, data_converter=build_data_converter(None))

    async def api_client(_: Settings) -> Client:
        # The API runs on its own thread and event loop: it gets its own connection, as in production.
        return await Client.connect(target, data_converter=build_data_converter(None))

    stop = asyncio.Event()
    ready = asyncio.Event()
    worker_task = asyncio.create_task(run_worker(client, settings, orgs, stop, ready=ready))
    await asyncio.wait_for(ready.wait(), 60)
    api_cm = serve_app(create_app(settings, orgs, api_client), port=api_port)
    await asyncio.to_thread(api_cm.__enter__)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            yield Stack(sandbox_url, api_url, seed, orgs, client, http, settings)
    finally:
        await asyncio.to_thread(api_cm.__exit__, None, None, None)
        stop.set()
        await asyncio.wait_for(worker_task, 60)
