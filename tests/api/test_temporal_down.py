"""Temporal unreachable → 503 (Twilio retries), never a 2xx for an event that was not recorded."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.temporal_binaries import temporal_cli_path
from config.settings import Settings
from contracts.ids import workflow_id_for_key
from payload_encryption.converter import build_data_converter
from tests.api.twilio_signing import (
    ACME_ACCOUNT,
    ACME_WORKSPACE,
    inbound_params,
    make_orgs,
    new_contact,
    post_signed,
    sid,
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _app_client(client: Client) -> httpx.AsyncClient:
    app = create_app(Settings(_env_file=None), make_orgs(), client)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest_asyncio.fixture
async def never_reachable() -> AsyncIterator[httpx.AsyncClient]:
    client = await Client.connect(f"127.0.0.1:{_closed_port()}", lazy=True, data_converter=build_data_converter(None))
    async with await _app_client(client) as http:
        yield http


async def _all_webhooks(http: httpx.AsyncClient) -> list[httpx.Response]:
    key = "b" * 32
    wid = workflow_id_for_key("acme", key)
    return [
        await post_signed(http, "/webhooks/acme/whatsapp", inbound_params(new_contact())),
        await post_signed(
            http,
            f"/webhooks/acme/whatsapp/status/{key}",
            {"MessageSid": sid("SM"), "MessageStatus": "undelivered", "AccountSid": ACME_ACCOUNT},
        ),
        await post_signed(
            http,
            f"/webhooks/acme/conversations/{key}",
            {
                "EventType": "onMessageAdded",
                "AccountSid": ACME_ACCOUNT,
                "ConversationSid": sid("CH"),
                "MessageSid": sid("IM"),
                "Author": "alice",
                "Body": "hi",
            },
        ),
        await post_signed(
            http,
            "/webhooks/acme/taskrouter",
            {
                "Sid": sid("EV"),
                "EventType": "task.completed",
                "AccountSid": ACME_ACCOUNT,
                "WorkspaceSid": ACME_WORKSPACE,
                "TaskSid": sid("WT"),
                "TaskAttributes": f'{{"waHandoff": {{"workflowId": "{wid}"}}}}',
            },
        ),
    ]


async def test_unreachable_temporal_answers_503_on_every_webhook(never_reachable: httpx.AsyncClient) -> None:
    for response in await _all_webhooks(never_reachable):
        assert response.status_code == 503, response.text
        assert "Temporal unavailable" in response.json()["detail"]
        assert response.headers["retry-after"]


async def test_readyz_reports_temporal_down(never_reachable: httpx.AsyncClient) -> None:
    response = await never_reachable.get("/readyz")
    assert response.status_code == 503
    assert response.json()["temporal"] is False and "unreachable" in response.json()["detail"]
    assert (await never_reachable.get("/healthz")).status_code == 200


async def test_temporal_stopping_after_connect_answers_503() -> None:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(), ui=False)
    client = Client(env.client.service_client, namespace="default", data_converter=build_data_converter(None))
    await env.shutdown()
    async with await _app_client(client) as http:
        # The client retries until the 4 s webhook deadline, then the API answers 503 (two webhooks suffice).
        inbound = await post_signed(http, "/webhooks/acme/whatsapp", inbound_params(new_contact()))
        status = await post_signed(
            http,
            f"/webhooks/acme/whatsapp/status/{'b' * 32}",
            {"MessageSid": sid("SM"), "MessageStatus": "failed", "AccountSid": ACME_ACCOUNT},
        )
    assert (inbound.status_code, status.status_code) == (503, 503)
