"""Fake Twilio HTTP layer for unit tests: the real `twilio` client, canned answers per (method, path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twilio.http.response import Response

from activities.clients import OrgClient, TwilioClients
from config.orgs import OrgRegistry
from twilio_rest.client import RoutingHttpClient

ACCOUNT = "AC" + "a" * 32
WORKSPACE = "WS" + "b" * 32
WORKFLOW = "WW" + "c" * 32
SERVICE = "IS" + "d" * 32
QUEUE_AI = "WQ" + "e" * 32
QUEUE_HUMAN = "WQ" + "f" * 32


def org_registry(sandbox_url: str | None = None, *, api_key: bool = False, **overrides: Any) -> OrgRegistry:
    """One org "acme" (sandboxed when sandbox_url is given), secrets from a fake environment."""
    org: dict[str, Any] = {
        "account_sid": ACCOUNT,
        "auth_token_env": "ACME_TOKEN",
        "workspace_sid": WORKSPACE,
        "workflow_sid": WORKFLOW,
        "conversations_service_sid": SERVICE,
        "ai_queue_sid": QUEUE_AI,
        "human_queue_sid": QUEUE_HUMAN,
        "whatsapp_numbers": ["+14155238886"],
        "public_base_url": "https://service.example",
    }
    if sandbox_url:
        org["twilio_sandbox_url"] = sandbox_url
    if api_key:
        org["api_key_sid"] = "SK" + "1" * 32
        org["api_key_secret_env"] = "ACME_KEY_SECRET"
    org.update(overrides)
    env = {"ACME_TOKEN": "token-secret-123", "ACME_KEY_SECRET": "key-secret-456"}
    return OrgRegistry.from_mapping({"orgs": {"acme": org}}, env=env)


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    data: dict[str, Any]
    headers: dict[str, str]


Handler = Callable[[Call], tuple[int, Any, dict[str, str]]]


@dataclass
class FakeHttp(RoutingHttpClient):
    """Routes (METHOD, path) to handlers; records every call. Unknown routes answer a Twilio-shaped 404."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        # The twilio client passes everything after the URL by keyword.
        params, data, headers = (dict(kwargs.get(k) or {}) for k in ("params", "data", "headers"))
        call = Call(method.upper(), urlsplit(url).path, params, data, headers)
        self.calls.append(call)
        handler = self.routes.get((call.method, call.path))
        out_headers: dict[str, str]
        if handler is None:
            status, body, out_headers = 404, {"code": 20404, "message": "not found", "status": 404}, {}
        else:
            status, body, out_headers = handler(call)
        self.last_response_headers = {k.lower(): v for k, v in out_headers.items()}
        return Response(status, json.dumps(body), headers=out_headers)


class FakeClients(TwilioClients):
    """TwilioClients whose org client talks to a FakeHttp."""

    def __init__(self, http: FakeHttp) -> None:
        super().__init__(org_registry())
        self.http = http

    def get(self, name: str) -> OrgClient:
        real = super().get(name)
        real.client.http_client = self.http
        return OrgClient(org=real.org, client=real.client, http=self.http, basic_auth=real.basic_auth)
