"""Startup: the lifespan connects through `temporalio.envconfig` with the shared data converter."""

from __future__ import annotations

import base64

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api import temporal as api_temporal
from api.app import create_app
from config.settings import Settings
from payload_encryption.codec import AesGcmPayloadCodec
from tests.api.twilio_signing import make_orgs


async def test_connect_uses_envconfig_and_the_codec(
    local_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", local_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", local_env.client.namespace)
    keys = SecretStr("k1:" + base64.b64encode(b"\x01" * 32).decode())
    client = await api_temporal.connect(Settings(_env_file=None, codec_keys=keys))
    assert client.namespace == local_env.client.namespace
    assert isinstance(client.data_converter.payload_codec, AesGcmPayloadCodec)
    assert await client.service_client.check_health()


async def test_lifespan_calls_the_factory_once(temporal: Client) -> None:
    calls: list[Settings] = []

    async def factory(settings: Settings) -> Client:
        calls.append(settings)
        return temporal

    app = create_app(Settings(_env_file=None), make_orgs(), factory)
    assert app.state.temporal is None
    async with app.router.lifespan_context(app):
        assert app.state.temporal is temporal
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            assert (await http.get("/readyz")).json()["ready"] is True
    assert len(calls) == 1
