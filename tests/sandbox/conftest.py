"""Fixtures for the sandbox tests (reusable by others): one in-process sandbox per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from tests.sandbox.receiver import Receiver, running_receiver
from twilio_rest.client import build_client
from twilio_sandbox.testing import running_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[str]:
    with running_sandbox() as base_url:
        yield base_url


@pytest.fixture()
def sandbox_url(sandbox_server: str) -> str:
    """Base URL of a sandbox freshly reset to its seed."""
    httpx.post(f"{sandbox_server}/_sandbox/reset", timeout=10).raise_for_status()
    return sandbox_server


@pytest.fixture()
def seed(sandbox_url: str) -> dict[str, Any]:
    info: dict[str, Any] = httpx.get(f"{sandbox_url}/_sandbox/seed", timeout=10).json()
    return info


@pytest.fixture()
def ctl(sandbox_url: str) -> Iterator[httpx.Client]:
    """httpx client on the sandbox's base URL (for `/_sandbox` controls and raw REST calls)."""
    with httpx.Client(base_url=sandbox_url, timeout=15) as client:
        yield client


@pytest.fixture()
def twilio_client(sandbox_url: str, seed: dict[str, Any]) -> Client:
    """The official client with the auth token, routed to the sandbox."""
    return build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=sandbox_url)


@pytest.fixture()
def api_key_client(sandbox_url: str, seed: dict[str, Any]) -> Client:
    return build_client(
        seed["account_sid"],
        api_key_sid=seed["api_key_sid"],
        api_key_secret=seed["api_key_secret"],
        sandbox_base_url=sandbox_url,
    )


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[Receiver]:
    with running_receiver("") as receiver:
        yield receiver


@pytest.fixture()
def receiver(_receiver_server: Receiver, seed: dict[str, Any]) -> Receiver:
    """A webhook receiver that validates signatures with the seeded auth token; emptied per test."""
    with _receiver_server.lock:
        _receiver_server.received.clear()
    _receiver_server.auth_token = seed["auth_token"]
    _receiver_server.status_for = lambda path: 204
    return _receiver_server
