"""Sandbox fixtures for the activity tests: one in-process Twilio sandbox per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from activities.clients import TwilioClients
from activities.twilio_activities import TwilioActivities
from config.orgs import OrgRegistry
from tests.seeded_orgs import seeded_orgs
from twilio_rest.client import build_client

CONTACT = "+34600111222"


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[str]:
    testing = pytest.importorskip("twilio_sandbox.testing")
    with testing.running_sandbox() as base_url:
        yield base_url


@dataclass
class Sb:
    url: str
    seed: dict[str, Any]
    ctl: httpx.Client
    client: Client  # an independent official client (plays "someone else" and checks results)
    orgs: OrgRegistry
    acts: TwilioActivities
    ai_worker_sid: str

    @property
    def business(self) -> str:
        return str(self.seed["whatsapp_numbers"][0])

    def ws(self) -> Any:
        return self.client.taskrouter.v1.workspaces(self.seed["workspace_sid"])


@pytest.fixture()
def sb(_sandbox_server: str) -> Iterator[Sb]:
    url = _sandbox_server
    with httpx.Client(base_url=url, timeout=30) as ctl:
        ctl.delete("/_sandbox/faults")
        ctl.post("/_sandbox/reset").raise_for_status()
        seed: dict[str, Any] = ctl.get("/_sandbox/seed").json()
        client = build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=url)
        ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
        # What `connect` provisions: the AI worker (targeted by the AI queue's `ai == true`).
        worker = ws.workers.create(
            friendly_name="AI Support Agent", attributes='{"ai": true}', activity_sid=seed["activities"]["Available"]
        )
        ws.workers(worker.sid).worker_channels("chat").update(capacity=50)
        orgs = seeded_orgs(seed, org="acme", public_base_url="https://service.example", sandbox_url=url)
        yield Sb(url, seed, ctl, client, orgs, TwilioActivities(TwilioClients(orgs)), str(worker.sid))
        ctl.delete("/_sandbox/faults")
