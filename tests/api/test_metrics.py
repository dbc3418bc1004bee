"""The API's /metrics: webhooks by route and outcome with their ack latency, the orgs' SLAs, and the stuck and
queued gauges counted from visibility."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from api.app import create_app
from api.metrics import webhook_outcome, webhook_route
from config.orgs import OrgRegistry
from config.settings import Settings
from contracts import metrics as m
from contracts.ids import conversation_key, workflow_id_for_key
from contracts.search_attributes import ORG_ID
from contracts.signals import WORKFLOW_NAME
from tests.api.conftest import TASK_QUEUE
from tests.api.twilio_signing import (
    ADMIN_TOKEN,
    BETA_ACCOUNT,
    BUSINESS,
    inbound_params,
    new_contact,
    org_entry,
    post_signed,
)
from tests.polling import eventually

INBOUND = "/webhooks/acme/whatsapp"
GAUGE_ORG = org_entry(
    "AC" + "e1" * 16, "GAUGE_TOKEN", BUSINESS, "https://hooks.gauges.example", "e1", queue_sla_seconds=90
)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def webhooks(got: dict[tuple[str, frozenset[tuple[str, str]]], float], org: str, route: str, outcome: str) -> float:
    return got[(m.WEBHOOKS.name, frozenset({"org": org, "route": route, "outcome": outcome}.items()))]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/webhooks/acme/whatsapp", ("acme", "whatsapp")),
        ("/webhooks/acme/whatsapp/status/" + "a" * 32, ("acme", "whatsapp_status")),
        ("/webhooks/acme/conversations/" + "b" * 32, ("acme", "conversations")),
        ("/webhooks/x-y/taskrouter", ("x-y", "taskrouter")),
        ("/webhooks/acme/other", None),
        ("/webhooks/acme/whatsapp/status", None),
        ("/conversations", None),
        ("/metrics", None),
    ],
)
def test_webhook_route(path: str, expected: tuple[str, str] | None) -> None:
    assert webhook_route(path) == expected


@pytest.mark.parametrize(
    ("status", "ignored", "refused", "outcome"),
    [
        (200, False, None, "signalled"),
        (204, False, None, "signalled"),
        (204, True, None, "ignored"),
        (403, False, None, "refused_signature"),
        (403, False, "wrong_org", "refused_wrong_org"),
        (404, False, None, "refused_unknown_org"),
        (400, False, None, "refused_malformed"),
        (413, False, None, "refused_malformed"),
        (415, False, None, "refused_malformed"),
        (422, False, None, "refused_malformed"),
        (503, False, None, "unavailable"),
        (500, False, None, "unavailable"),
    ],
)
def test_webhook_outcome(status: int, ignored: bool, refused: str | None, outcome: str) -> None:
    assert webhook_outcome(status, ignored, refused) == outcome
    assert outcome in m.WEBHOOK_OUTCOMES


async def test_webhooks_are_counted_by_route_and_outcome(http: httpx.AsyncClient) -> None:
    before = await scrape(http)
    # Every series of a configured org exists before its first webhook; the SLA comes from the orgs file.
    assert webhooks(before, "acme", "taskrouter", "refused_wrong_org") == 0
    assert before[(m.ORG_QUEUE_SLA_SECONDS.name, frozenset({"org": "acme"}.items()))] == 300

    params = inbound_params(new_contact())
    token = {"I-Twilio-Idempotency-Token": uuid.uuid4().hex}
    assert (await post_signed(http, INBOUND, params, headers=token)).status_code == 200
    assert (await post_signed(http, INBOUND, params, headers=token)).status_code == 200  # Twilio's redelivery
    assert (await post_signed(http, INBOUND, params, token="not-the-token")).status_code == 403
    wrong = inbound_params(new_contact(), AccountSid=BETA_ACCOUNT)
    assert (await post_signed(http, INBOUND, wrong)).status_code == 403
    malformed = {k: v for k, v in inbound_params(new_contact()).items() if k != "From"}
    assert (await post_signed(http, INBOUND, malformed)).status_code == 422
    assert (await post_signed(http, "/webhooks/nobody-1234/whatsapp", params)).status_code == 404

    after = await scrape(http)

    def delta(org: str, outcome: str) -> float:
        return webhooks(after, org, "whatsapp", outcome) - webhooks(before, org, "whatsapp", outcome)

    assert delta("acme", "signalled") == 1
    assert delta("acme", "duplicate") == 1
    assert delta("acme", "refused_signature") == 1
    assert delta("acme", "refused_wrong_org") == 1
    assert delta("acme", "refused_malformed") == 1
    # An org nobody configured is one label value, whatever the path says.
    assert webhooks(after, "unknown", "whatsapp", "refused_unknown_org") >= 1
    assert not any("nobody-1234" in dict(labels).get("org", "") for _, labels in after)
    ack = frozenset({"org": "acme", "route": "whatsapp"}.items())
    count = (m.WEBHOOK_ACK_SECONDS.name + "_count", ack)
    assert after[count] - before[count] == 6 - 1  # the unknown org's is not acme's
    assert after[(m.WEBHOOK_ACK_SECONDS.name + "_sum", ack)] > before[(m.WEBHOOK_ACK_SECONDS.name + "_sum", ack)]


@pytest_asyncio.fixture
async def gauge_http(temporal: Client, standin_worker: Worker) -> AsyncIterator[tuple[httpx.AsyncClient, str, FastAPI]]:
    """An app with one org of its own (nobody else's conversations in its counts)."""
    org = f"gauges-{uuid.uuid4().hex[:8]}"
    orgs = OrgRegistry.from_mapping({"orgs": {org: GAUGE_ORG}}, env={"GAUGE_TOKEN": "t" * 32})
    settings = Settings(_env_file=None, task_queue=TASK_QUEUE, admin_token=SecretStr(ADMIN_TOKEN))
    app = create_app(settings, orgs, temporal)
    app.state.metrics.cache_seconds = 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client, org, app


async def _conversation(temporal: Client, org: str, state: str, stuck: bool) -> None:
    key = conversation_key(org, BUSINESS, new_contact())
    handle = await temporal.start_workflow(
        WORKFLOW_NAME,
        {"org": org, "key": key},
        id=workflow_id_for_key(org, key),
        task_queue=TASK_QUEUE,
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORG_ID, org)]),
    )
    await handle.signal("test_set_attributes", {"state": state, "stuck": stuck})


async def test_stuck_and_queued_gauges_count_running_conversations_from_visibility(
    temporal: Client, gauge_http: tuple[httpx.AsyncClient, str, FastAPI]
) -> None:
    http, org, _ = gauge_http
    labels = frozenset({"org": org}.items())
    first = await scrape(http)
    assert first[(m.STUCK_HANDOFFS.name, labels)] == 0 and first[(m.QUEUED_CONVERSATIONS.name, labels)] == 0
    assert first[(m.ORG_QUEUE_SLA_SECONDS.name, labels)] == 90
    await _conversation(temporal, org, "queued", stuck=True)
    await _conversation(temporal, org, "queued", stuck=False)
    await _conversation(temporal, org, "handoff_requested", stuck=True)
    await _conversation(temporal, org, "with_rep", stuck=False)

    got = await eventually(
        "the gauges to count the four conversations (visibility is eventually consistent)",
        lambda: scrape(http),
        lambda s: (s[(m.STUCK_HANDOFFS.name, labels)], s[(m.QUEUED_CONVERSATIONS.name, labels)]) == (2, 2),
    )
    assert got[(m.VISIBILITY_ERRORS.name, frozenset())] == 0


class _UnreachableTemporal:
    async def count_workflows(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("refused")


async def test_a_failed_count_keeps_the_gauges_and_is_counted(
    gauge_http: tuple[httpx.AsyncClient, str, FastAPI],
) -> None:
    http, org, app = gauge_http
    labels = frozenset({"org": org}.items())
    first = await scrape(http)
    assert first[(m.STUCK_HANDOFFS.name, labels)] == 0
    app.state.temporal = _UnreachableTemporal()
    got = await scrape(http)
    assert got[(m.VISIBILITY_ERRORS.name, frozenset())] == 1
    assert got[(m.STUCK_HANDOFFS.name, labels)] == 0  # the last count, not a gap


class _GatedTemporal:
    """Counts that wait for the test to let them answer."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.calls = 0

    async def count_workflows(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        await self.gate.wait()
        return SimpleNamespace(count=7)


async def test_a_slow_count_does_not_hold_the_scrape_up(gauge_http: tuple[httpx.AsyncClient, str, FastAPI]) -> None:
    http, org, app = gauge_http
    labels = frozenset({"org": org}.items())
    slow = _GatedTemporal()
    app.state.temporal = slow
    first = await scrape(http)  # answered while the count waits
    assert slow.calls == 2 and (m.STUCK_HANDOFFS.name, labels) not in first
    await scrape(http)
    assert slow.calls == 2  # one count in flight at a time
    slow.gate.set()
    got = await eventually(
        "the count's values in a later scrape", lambda: scrape(http), lambda s: (m.STUCK_HANDOFFS.name, labels) in s
    )
    assert got[(m.STUCK_HANDOFFS.name, labels)] == 7 and got[(m.QUEUED_CONVERSATIONS.name, labels)] == 7
