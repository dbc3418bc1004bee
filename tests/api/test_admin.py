"""Admin API: bearer token, listing (stuck first, paginated), state, handoff, templates, health."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate as validate_openapi
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.app import create_app
from config.orgs import OrgRegistry
from config.settings import Settings
from contracts.ids import conversation_key, workflow_id_for_key
from contracts.search_attributes import ORG_ID
from contracts.signals import SIGNAL_REQUEST_HANDOFF, SIGNAL_SEND_TEMPLATE, WORKFLOW_NAME
from tests.api.conftest import TASK_QUEUE, recorded
from tests.api.twilio_signing import ADMIN_TOKEN, BUSINESS, new_contact
from tests.polling import eventually

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _conversation(temporal: Client, org: str, state: str | None = None, stuck: bool = False) -> str:
    """A stand-in conversation with its search attributes set as the real workflow would."""
    key = conversation_key(org, BUSINESS, new_contact())
    wid = workflow_id_for_key(org, key)
    handle = await temporal.start_workflow(
        WORKFLOW_NAME,
        {"org": org, "key": key},
        id=wid,
        task_queue=TASK_QUEUE,
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORG_ID, org)]),
    )
    if state is not None:
        await handle.signal(
            "test_set_attributes",
            {"state": state, "stuck": stuck, "handoff_requested_at": "2026-11-25T12:00:00+00:00"},
        )
    return wid


async def _list(http: httpx.AsyncClient, expect: int, **params: Any) -> dict[str, Any]:
    """Visibility is eventually consistent: poll until the listing holds `expect` conversations."""

    async def listing() -> dict[str, Any] | None:
        response = await http.get("/conversations", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if len(body["conversations"]) >= expect else None

    return await eventually(f"a listing of {expect} conversations for {params}", listing, within=10)


async def test_admin_refuses_missing_and_wrong_tokens(http: httpx.AsyncClient) -> None:
    missing = await http.get("/conversations")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    wrong = await http.get("/conversations", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    basic = await http.post(
        f"/conversations/{workflow_id_for_key('acme', 'a' * 32)}/handoff",
        headers={"Authorization": "Basic eDp5"},
    )
    assert basic.status_code == 401


async def test_admin_disabled_without_a_token(orgs: OrgRegistry, temporal: Client) -> None:
    app = create_app(Settings(_env_file=None, task_queue=TASK_QUEUE), orgs, temporal)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/conversations", headers=AUTH)
    assert response.status_code == 503 and "admin API disabled" in response.json()["detail"]


async def test_list_puts_stuck_first_and_paginates(http: httpx.AsyncClient, temporal: Client) -> None:
    calm = await _conversation(temporal, "listing", "queued", stuck=False)
    stuck = await _conversation(temporal, "listing", "queued", stuck=True)
    other_state = await _conversation(temporal, "listing", "with_rep", stuck=False)
    await _list(http, 1, org="listing", state="queued", stuck="true")
    body = await _list(http, 2, org="listing", state="queued")
    ids = [c["workflow_id"] for c in body["conversations"]]
    assert ids == [stuck, calm] and other_state not in ids
    first = body["conversations"][0]
    assert first["stuck"] is True and first["state"] == "queued" and first["org"] == "listing"
    assert first["status"] == "RUNNING" and first["handoff_requested_at"].startswith("2026-11-25T12:00")

    only_stuck = await _list(http, 1, org="listing", stuck="true")
    assert [c["workflow_id"] for c in only_stuck["conversations"]] == [stuck]

    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"org": "listing", "state": "queued", "page_size": 1}
        if token:
            params["page_token"] = token
        response = await http.get("/conversations", params=params, headers=AUTH)
        assert response.status_code == 200
        page = response.json()
        assert len(page["conversations"]) <= 1
        seen += [c["workflow_id"] for c in page["conversations"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == [stuck, calm]


async def test_list_rejects_bad_parameters(http: httpx.AsyncClient) -> None:
    assert (await http.get("/conversations", params={"org": "nobody"}, headers=AUTH)).status_code == 404
    assert (await http.get("/conversations", params={"state": "bogus"}, headers=AUTH)).status_code == 422
    assert (await http.get("/conversations", params={"page_size": 1000}, headers=AUTH)).status_code == 422
    typo = await http.get("/conversations", params={"stuk": "true"}, headers=AUTH)
    assert typo.status_code == 422 and typo.json()["field"] == "stuk"
    bad = await http.get("/conversations", params={"page_token": "garbage!"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "page_token"
    page = await http.get("/conversations", params={"org": "listing", "page_size": 1}, headers=AUTH)
    token = page.json()["next_page_token"]
    if token:  # a token from one listing is refused for another
        other = await http.get("/conversations", params={"org": "acme", "page_token": token}, headers=AUTH)
        assert other.status_code == 422


async def test_get_conversation_returns_state_and_transcript(http: httpx.AsyncClient, temporal: Client) -> None:
    wid = await _conversation(temporal, "acme")
    await temporal.get_workflow_handle(wid).signal("contact_message", {"message_sid": "SM1"})
    await recorded(temporal, wid, lambda r: len(r["signals"]) == 1)
    response = await http.get(f"/conversations/{wid}", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["org"] == "acme" and body["status"] == "RUNNING"
    assert body["state"] == {"state": "ai", "signals": 1}
    assert body["transcript"] == [{"kind": "contact_message"}]


async def test_get_conversation_errors(http: httpx.AsyncClient) -> None:
    bad = await http.get("/conversations/not-a-workflow", headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "workflow_id"
    unknown = await http.get(f"/conversations/{workflow_id_for_key('acme', 'c' * 32)}", headers=AUTH)
    assert unknown.status_code == 404
    other_org = await http.get(f"/conversations/{workflow_id_for_key('zzz', 'c' * 32)}", headers=AUTH)
    assert other_org.status_code == 404


async def test_handoff_request_is_signalled_with_the_idempotency_key(http: httpx.AsyncClient, temporal: Client) -> None:
    wid = await _conversation(temporal, "acme")
    key = f"op-{uuid.uuid4().hex}"
    response = await http.post(
        f"/conversations/{wid}/handoff",
        json={"reason": "VIP customer", "summary": "wants a human"},
        headers=AUTH | {"Idempotency-Key": key},
    )
    assert response.status_code == 202, response.text
    assert response.json()["request_id"] == f"api-{key}"
    generated = await http.post(f"/conversations/{wid}/handoff", headers=AUTH)
    assert generated.status_code == 202
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) == 2)
    [explicit, default] = got["signals"]
    assert explicit["name"] == SIGNAL_REQUEST_HANDOFF
    assert explicit["payload"] == {
        "request_id": f"api-{key}",
        "reason": "VIP customer",
        "summary": "wants a human",
    }
    assert default["payload"]["request_id"] == generated.json()["request_id"] != explicit["payload"]["request_id"]


async def test_handoff_errors(http: httpx.AsyncClient) -> None:
    missing = workflow_id_for_key("acme", "d" * 32)
    assert (await http.post(f"/conversations/{missing}/handoff", headers=AUTH)).status_code == 404
    bad_key = await http.post(
        f"/conversations/{missing}/handoff",
        headers=[
            (b"Authorization", AUTH["Authorization"].encode()),
            (b"Idempotency-Key", "has spaces ✓".encode()),
        ],
    )
    assert bad_key.status_code == 422 and bad_key.json()["field"].lower() == "idempotency-key"
    too_long = await http.post(f"/conversations/{missing}/handoff", json={"reason": "x" * 501}, headers=AUTH)
    assert too_long.status_code == 422


async def test_template_send(http: httpx.AsyncClient, temporal: Client) -> None:
    wid = await _conversation(temporal, "acme")
    unknown = await http.post(f"/conversations/{wid}/templates", json={"template_name": "nope"}, headers=AUTH)
    assert unknown.status_code == 422 and "order_update" in unknown.json()["detail"]
    response = await http.post(
        f"/conversations/{wid}/templates",
        json={"template_name": "order_update", "variables": ["Ana", "42"]},
        headers=AUTH | {"Idempotency-Key": "tmpl-1"},
    )
    assert response.status_code == 202
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) == 1)
    [signal] = got["signals"]
    assert signal["name"] == SIGNAL_SEND_TEMPLATE
    assert signal["payload"] == {
        "request_id": "api-tmpl-1",
        "template_name": "order_update",
        "variables": ["Ana", "42"],
        "requested_by": "api",
    }


async def test_health_readiness_and_docs(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["temporal"] is True and ready.json()["orgs"] == 4
    assert (await http.get("/docs")).status_code == 200
    spec = (await http.get("/openapi.json")).json()
    assert "/conversations" in spec["paths"] and "/webhooks/{org}/taskrouter" in spec["paths"]
    validate_openapi(spec)
    webhook = spec["paths"]["/webhooks/{org}/whatsapp"]["post"]
    assert "application/x-www-form-urlencoded" in webhook["requestBody"]["content"]
    assert {"org", "X-Twilio-Signature"} <= {p["name"] for p in webhook["parameters"]}
    assert {"403", "404", "422", "503"} <= set(webhook["responses"])


@pytest.mark.parametrize("with_keys", [False, True])
def test_codec_router_mounted_only_with_keys(orgs: OrgRegistry, with_keys: bool) -> None:
    keys = SecretStr("k1:" + "A" * 43 + "=") if with_keys else None
    app: FastAPI = create_app(Settings(_env_file=None, codec_keys=keys), orgs, object())  # type: ignore[arg-type]
    assert ("/codec/decode" in app.openapi()["paths"]) is with_keys
