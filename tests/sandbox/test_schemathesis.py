"""Schemathesis against the sandbox: spec-generated requests for every emulated operation never get a 5xx, and
every answer is a Twilio success or a well-formed Twilio error."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings

from tests.sandbox.contract import OAI_DIR
from twilio_sandbox import (
    rest_content,
    rest_conversations,
    rest_flex,
    rest_messaging,
    rest_taskrouter,
    rest_taskrouter_stats,
    rest_typing,
)

# name -> (the sandbox path prefix of its host, the routers serving it, Twilio's document)
SPECS: dict[str, tuple[str, tuple[Any, ...], str]] = {
    "api": ("api", (rest_messaging,), "twilio_api_v2010.json"),
    "conversations": ("conversations", (rest_conversations,), "twilio_conversations_v1.json"),
    "taskrouter": ("taskrouter", (rest_taskrouter_stats, rest_taskrouter), "twilio_taskrouter_v1.json"),
    "flex-api": ("flex-api", (rest_flex,), "twilio_flex_v1.json"),
    "content": ("content", (rest_content,), "twilio_content_v1.json"),
    "messaging-v2": ("messaging", (rest_typing,), "twilio_messaging_v2.json"),
    "messaging-v3": ("messaging", (rest_typing,), "twilio_messaging_v3.json"),
}


def _emulated(prefix: str, modules: tuple[Any, ...]) -> set[tuple[str, str]]:
    out = set()
    for module in modules:
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.path.startswith(f"/{prefix}/"):
                path = route.path[len(prefix) + 1 :]
                for method in route.methods or ():
                    out.add((method.upper(), path))
    return out


def _schema(name: str) -> Any:
    prefix, modules, file_name = SPECS[name]
    allowed = _emulated(prefix, modules)
    schema = schemathesis.openapi.from_path(str(OAI_DIR / file_name))
    # The coverage phase enumerates hundreds of boundary cases per operation; the fuzzing phase is enough here.
    schema.config.phases.coverage.enabled = False
    return schema.include(func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in allowed)


SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _check(case: Any, base_url: str, seed: dict[str, Any]) -> None:
    response = case.call(base_url=base_url, auth=(seed["account_sid"], seed["auth_token"]), timeout=15)
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code == 204:
        return
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"code", "message", "more_info", "status"}, body
        assert re.fullmatch(r"\d{5}", str(body["code"]))


def _schema_test(name: str) -> Any:
    """The test of one of Twilio's documents (a name in SPECS): every emulated operation, on its host's prefix."""
    prefix = SPECS[name][0]

    @_schema(name).parametrize()
    @SETTINGS
    def test(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
        _check(case, f"{sandbox_server}/{prefix}", seed)

    return test


test_api = _schema_test("api")
test_conversations = _schema_test("conversations")
test_taskrouter = _schema_test("taskrouter")
test_flex = _schema_test("flex-api")
test_content = _schema_test("content")
test_messaging_v2 = _schema_test("messaging-v2")
test_messaging_v3 = _schema_test("messaging-v3")
