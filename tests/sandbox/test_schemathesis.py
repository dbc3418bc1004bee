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
)

SPECS: dict[str, tuple[tuple[Any, ...], str]] = {
    "api": ((rest_messaging,), "twilio_api_v2010.json"),
    "conversations": ((rest_conversations,), "twilio_conversations_v1.json"),
    "taskrouter": ((rest_taskrouter_stats, rest_taskrouter), "twilio_taskrouter_v1.json"),
    "flex-api": ((rest_flex,), "twilio_flex_v1.json"),
    "content": ((rest_content,), "twilio_content_v1.json"),
}


def _emulated(modules: tuple[Any, ...], prefix: str) -> set[tuple[str, str]]:
    out = set()
    for module in modules:
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.path.startswith(f"/{prefix}/"):
                path = route.path[len(prefix) + 1 :]
                for method in route.methods or ():
                    out.add((method.upper(), path))
    return out


def _schema(prefix: str) -> Any:
    modules, name = SPECS[prefix]
    allowed = _emulated(modules, prefix)
    schema = schemathesis.openapi.from_path(str(OAI_DIR / name))
    # The coverage phase enumerates hundreds of boundary cases per operation; the fuzzing phase is enough here.
    schema.config.phases.coverage.enabled = False
    return schema.include(func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in allowed)


api_schema = _schema("api")
conversations_schema = _schema("conversations")
taskrouter_schema = _schema("taskrouter")
flex_schema = _schema("flex-api")
content_schema = _schema("content")
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


@api_schema.parametrize()
@SETTINGS
def test_api(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
    _check(case, f"{sandbox_server}/api", seed)


@conversations_schema.parametrize()
@SETTINGS
def test_conversations(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
    _check(case, f"{sandbox_server}/conversations", seed)


@taskrouter_schema.parametrize()
@SETTINGS
def test_taskrouter(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
    _check(case, f"{sandbox_server}/taskrouter", seed)


@flex_schema.parametrize()
@SETTINGS
def test_flex(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
    _check(case, f"{sandbox_server}/flex-api", seed)


@content_schema.parametrize()
@SETTINGS
def test_content(case: Any, sandbox_server: str, seed: dict[str, Any]) -> None:
    _check(case, f"{sandbox_server}/content", seed)
