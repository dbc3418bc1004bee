"""The API against the real ConversationWorkflow. No Twilio: its first step (opening the Flex conversation) is
refused at once and the workflow waits to try again, which is enough to check that what the API sends is what
the workflow takes, and that the admin API reads its state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from api.app import create_app
from config.settings import Settings
from contracts.activities import OPEN_FLEX_CONVERSATION, OpenFlexConversationInput, OpenFlexConversationResult
from contracts.ids import conversation_key, workflow_id, workflow_id_for_key
from contracts.signals import QUERY_STATE, WORKFLOW_NAME, ConversationStart
from tests.api.twilio_signing import ADMIN_TOKEN, BUSINESS, inbound_params, make_orgs, new_contact, post_signed
from tests.polling import eventually
from workflows.conversation import ConversationWorkflow

QUEUE = f"api-real-{uuid.uuid4().hex[:8]}"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@activity.defn(name=OPEN_FLEX_CONVERSATION.name)
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
    async def detail() -> dict[str, Any]:
        response = await http.get(f"/conversations/{wid}", headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return await eventually(f"{wid} to show the profile name", detail, lambda b: bool(b["state"].get("profile_name")))


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
    # Flex refused to open the session: the handoff waits for the task, and says so.
    handoff = await real_http.post(f"/conversations/{wid}/handoff", headers=AUTH | {"Idempotency-Key": "h1"})
    assert handoff.status_code == 200, handoff.text
    assert (handoff.json()["outcome"], handoff.json()["state"]) == ("handoff_pending", "handoff_requested")
    again = await real_http.post(f"/conversations/{wid}/handoff", headers=AUTH | {"Idempotency-Key": "h2"})
    assert again.status_code == 200 and again.json()["outcome"] == "already_requested"
    history = await temporal.get_workflow_handle(wid).fetch_history()
    failed_tasks = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failed_tasks == []


async def test_a_refused_command_is_a_409_or_422_and_leaves_no_history_event(
    real_http: httpx.AsyncClient, temporal: Client
) -> None:
    """A conversation with no open session (started without a message): nothing to hand off."""
    contact = new_contact()
    key = conversation_key("acme", BUSINESS, contact)
    wid = workflow_id_for_key("acme", key)
    org = make_orgs().get("acme")
    assert org is not None
    start = ConversationStart(
        org="acme", key=key, business_number=BUSINESS, contact_address=contact, policy=org.policy()
    )
    handle = await temporal.start_workflow(WORKFLOW_NAME, start, id=wid, task_queue=QUEUE)
    await eventually("the conversation to wait for its first message", lambda: handle.query(QUERY_STATE), _idle)
    before = len((await handle.fetch_history()).events)
    refused = await real_http.post(f"/conversations/{wid}/handoff", headers=AUTH)
    assert refused.status_code == 409 and "no open session" in refused.json()["detail"]
    unknown = await real_http.post(f"/conversations/{wid}/templates", json={"template_name": "nope"}, headers=AUTH)
    assert unknown.status_code == 422 and "unknown template 'nope'" in unknown.json()["detail"]
    events = (await handle.fetch_history()).events
    assert len(events) == before
    assert not [e for e in events if "update" in EventType.Name(e.event_type).lower()]
    await handle.terminate("test over")


def _idle(view: dict[str, Any]) -> bool:
    return bool(view.get("idle"))
