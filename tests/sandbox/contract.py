"""Contract checking with openapi-core 0.23: capture what the official client sends and what the sandbox answers,
then validate both against ../shared/twilio-oai."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests.structures import CaseInsensitiveDict
from twilio.http.response import Response
from twilio.rest import Client

from twilio_rest.client import RoutingHttpClient

# Twilio's OpenAPI documents (MIT, Twilio Inc.), vendored so the contract runs on any clone; kept equal to the
# team's shared copy (`../shared/twilio-oai`) by test_vendored_specs_match_the_shared_copy.
OAI_DIR = Path(__file__).resolve().parent / "twilio_oai"
SHARED_OAI_DIR = Path(__file__).resolve().parents[3] / "shared" / "twilio-oai"
SPEC_BY_HOST = {
    "api.twilio.com": "twilio_api_v2010.json",
    "conversations.twilio.com": "twilio_conversations_v1.json",
    "taskrouter.twilio.com": "twilio_taskrouter_v1.json",
    "flex-api.twilio.com": "twilio_flex_v1.json",
    "content.twilio.com": "twilio_content_v1.json",
    "messaging.twilio.com/v2": "twilio_messaging_v2.json",
    "messaging.twilio.com/v3": "twilio_messaging_v3.json",
}


@dataclass
class Exchange:
    method: str
    url: str
    params: dict[str, Any] | None
    data: dict[str, Any] | None
    headers: dict[str, str]
    auth: tuple[str, str] | None
    status: int
    body: str
    response_headers: dict[str, str]


class CapturingHttpClient(RoutingHttpClient):
    """Routes to the sandbox like the service's client and keeps every exchange (with Twilio's own URL)."""

    def __init__(self, sandbox_base_url: str) -> None:
        super().__init__(sandbox_base_url=sandbox_base_url)
        self.exchanges: list[Exchange] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        # The twilio client passes everything after the URL by keyword.
        response = super().request(method, url, *args, **kwargs)
        self.exchanges.append(
            Exchange(
                method,
                url,
                dict(kwargs.get("params") or {}),
                dict(kwargs.get("data") or {}),
                dict(kwargs.get("headers") or {}),
                kwargs.get("auth"),
                response.status_code,
                response.text,
                dict(response.headers or {}),
            )
        )
        return response


def capturing_client(base_url: str, seed: dict[str, Any]) -> tuple[Client, CapturingHttpClient]:
    http = CapturingHttpClient(base_url)
    return Client(seed["account_sid"], seed["auth_token"], account_sid=seed["account_sid"], http_client=http), http


@cache
def openapi_for(host: str) -> OpenAPI:
    return OpenAPI.from_file_path(str(OAI_DIR / SPEC_BY_HOST[host]))


def _prepared(ex: Exchange) -> requests.PreparedRequest:
    # The 9.13 client sends every field of a JSON request model, null when unset; the documents' schemas (some
    # with `additionalProperties: false`) describe the fields actually given, and so does the sandbox's reading.
    data = {k: v for k, v in (ex.data or {}).items() if v is not None}
    body: dict[str, Any] = (
        {"json": data} if ex.headers.get("Content-Type") == "application/json" else {"data": data or None}
    )
    return requests.Request(ex.method, ex.url, params=ex.params, headers=ex.headers, auth=ex.auth, **body).prepare()


def validate_exchange(ex: Exchange) -> list[str]:
    """Problems found in one exchange: request against the spec; 2xx response against the spec; errors in shape."""
    problems: list[str] = []
    parts = urlsplit(ex.url)
    host = parts.netloc
    if host == "messaging.twilio.com":  # one host, a document per API version
        host += "/" + parts.path.split("/")[1]
    api = openapi_for(host)
    prepared = _prepared(ex)
    req = RequestsOpenAPIRequest(prepared)
    try:
        api.validate_request(req)
    except Exception as exc:  # openapi-core raises a family of errors; the message is what matters here
        problems.append(f"request {ex.method} {ex.url}: {exc!r} {getattr(exc, '__cause__', '')!r}")
    if 200 <= ex.status < 300:
        resp = requests.Response()
        resp.status_code = ex.status
        resp._content = ex.body.encode()
        resp.headers = CaseInsensitiveDict(ex.response_headers)
        try:
            api.validate_response(req, RequestsOpenAPIResponse(resp))
        except Exception as exc:
            problems.append(f"response {ex.method} {ex.url} {ex.status}: {exc!r} {getattr(exc, '__cause__', '')!r}")
    else:
        body = json.loads(ex.body)
        if set(body) != {"code", "message", "more_info", "status"} or body["status"] != ex.status:
            problems.append(f"error body {ex.method} {ex.url}: {body}")
    return problems
