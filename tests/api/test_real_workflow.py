"""The API against the real ConversationWorkflow. No Twilio: its first step (opening the Flex conversation) is
refused at once and the workflow waits to try again, which is enough to check that what the API sends is what
the workflow takes, and that the admin API reads its state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.app import create_app
from config.settings import Settings
from contracts.activities import OPEN_FLEX_CONVERSATION, OpenFlexConversationInput, OpenFlexConversationResult
from contracts.ids import workflow_id
from tests.api.twilio_signing import ADMIN_TOKEN, BUSINESS, inbound_params, make_orgs, new_contact, post_signed
from tests.polling import eventually
from workflows.conversation import ConversationWorkflow

QUEUE = f"api-real-{uuid.uuid4().hex[:8]}"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@activity.defn(name=OPEN_FLEX_CONVERSATION)
async def no_twilio(inp: OpenFlexConversationInput) -> OpenFlexConversationResult:
    raise ApplicationError("no Twilio in this test", {"code": 20003}, type="TwilioClientError", non_retryable=True)


@pytest_asyncio.fixture
async def real_http(temporal: Client) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, task_queue=QUEUE, admin_token=SecretStr(ADMIN_TOKEN))
    app = create_app(settings, make_orgs(), temporal)
    async with Worker(temporal, task_queue=QUEUE, workflows=[ConversationWorkflow], activities=[no_twilio]):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


async def _detail(http: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    async def detail() -> dict[str, Any] | None:
        response = await http.get(f"/conversations/{wid}", headers=AUTH)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["state"].get("profile_name") else None

    return await eventually(f"the state of {wid} with the contact's profile name", detail, within=10)


async def test_inbound_reaches_the_real_workflow_and_admin_reads_its_state(
    real_http: httpx.AsyncClient, temporal: Client
) -> None:
    contact = new_contact()
    response = await post_signed(real_http, "/webhooks/acme/whatsapp", inbound_params(contact, body="hola"))
    assert response.status_code == 200, response.text
    wid = workflow_id("acme", BUSINESS, contact)
    detail = await _detail(real_http, wid)
    assert detail["status"] == "RUNNING"
    assert detail["state"]["profile_name"] == "Ana"
    assert detail["state"]["state"] in ("ai", "handoff_requested", "queued", "with_rep")
    assert isinstance(detail["transcript"], list)
    handoff = await real_http.post(f"/conversations/{wid}/handoff", headers=AUTH | {"Idempotency-Key": "h1"})
    assert handoff.status_code == 202
    desc = await temporal.get_workflow_handle(wid).describe()
    # Ordinary activities (the default): the server's 10 s task timeout, not the one local activities need.
    assert desc.raw_description.execution_config.default_workflow_task_timeout.ToTimedelta() == timedelta(seconds=10)
    history = await temporal.get_workflow_handle(wid).fetch_history()
    failed_tasks = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failed_tasks == []
