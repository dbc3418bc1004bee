"""The OpenAI-compatible backend against a fake chat-completions endpoint (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from activities.ai.activity import AiActivities
from activities.ai.backend import AiBackendError
from activities.ai.intents import default_rules
from activities.ai.openai_backend import (
    MODEL_REPLY_SCHEMA,
    OpenAiBackend,
    build_messages,
    faq_knowledge,
    parse_completion,
)
from config.settings import Settings
from tests.ai.conftest import contact, turn_input

GOOD = {
    "reply": "Abrimos de 9 a 18.",
    "escalate": False,
    "reason": None,
    "summary": "Ana asked about opening hours.\nAnswered.",
    "sentiment": "neutral",
    "language": "es",
}


def completion(content: str | None, **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message}}],
    }


class FakeEndpoint:
    """Answers each POST with the next scripted response and records the requests."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nxt = self.responses.pop(0)
        return nxt(request) if callable(nxt) else nxt

    def backend(self, api_key: str | None = "sk-test") -> OpenAiBackend:
        return OpenAiBackend(
            base_url="http://fake-llm.local/v1",
            model="tiny-model",
            api_key=SecretStr(api_key) if api_key else None,
            transport=httpx.MockTransport(self),
        )


def ok(content: dict[str, Any] | str) -> httpx.Response:
    text = content if isinstance(content, str) else json.dumps(content)
    return httpx.Response(200, json=completion(text))


async def test_structured_reply_becomes_a_turn_result() -> None:
    fake = FakeEndpoint(ok(GOOD))
    result = await fake.backend().turn(contact("¿A qué hora abren?"))
    assert result.reply == "Abrimos de 9 a 18."
    assert (result.escalate, result.reason, result.sentiment, result.language) == (
        False,
        None,
        "neutral",
        "es",
    )
    assert result.summary == "Ana asked about opening hours. Answered."  # one paragraph
    assert result.answered

    request = fake.requests[0]
    assert request.url == "http://fake-llm.local/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["model"] == "tiny-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == MODEL_REPLY_SCHEMA
    assert body["messages"][-1] == {"role": "user", "content": "¿A qué hora abren?"}


async def test_no_key_means_no_authorization_header() -> None:
    fake = FakeEndpoint(ok(GOOD))
    await fake.backend(api_key=None).turn(contact("hola"))
    assert "Authorization" not in fake.requests[0].headers


async def test_escalation_is_passed_through() -> None:
    answer = {**GOOD, "reply": None, "escalate": True, "reason": "customer wants to cancel subscription"}
    result = await FakeEndpoint(ok(answer)).backend().turn(contact("cancel it"))
    assert result.escalate and result.reason == "customer wants to cancel subscription"
    assert result.reply is None and not result.answered


async def test_escalation_without_reason_keeps_the_decision() -> None:
    result = await FakeEndpoint(ok({**GOOD, "escalate": True, "reason": " "})).backend().turn(contact("x"))
    assert result.escalate and result.reason == "AI decided to hand off"


async def test_malformed_json_is_retried_once_then_succeeds() -> None:
    fake = FakeEndpoint(ok("{not json"), ok(GOOD))
    result = await fake.backend().turn(contact("hola"))
    assert result.reply == GOOD["reply"] and len(fake.requests) == 2


async def test_malformed_json_twice_is_a_clear_error() -> None:
    fake = FakeEndpoint(ok("Sure! Here is your answer: {reply: hi"), ok("still not json"))
    with pytest.raises(AiBackendError, match=r"malformed answer from model tiny-model.*not JSON") as info:
        await fake.backend().turn(contact("hola"))
    assert info.value.retryable is False
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({**GOOD, "sentiment": "furious"}, "sentiment"),
        ({k: v for k, v in GOOD.items() if k != "summary"}, "summary"),
        ({**GOOD, "language": "Spanish language"}, "BCP-47"),
        ({**GOOD, "reply": None}, "neither replied nor escalated"),
        (["a", "list"], "schema"),
    ],
)
async def test_wrong_shape_is_malformed(content: Any, expected: str) -> None:
    fake = FakeEndpoint(ok(content), ok(content))
    with pytest.raises(AiBackendError, match=expected):
        await fake.backend().turn(contact("hola"))


async def test_refusal_and_empty_content_are_malformed() -> None:
    refusal = httpx.Response(200, json=completion(None, refusal="I can't help with that"))
    with pytest.raises(AiBackendError, match="refused"):
        await FakeEndpoint(refusal, refusal).backend().turn(contact("hola"))
    empty = httpx.Response(200, json={"choices": []})
    with pytest.raises(AiBackendError, match="no choices"):
        await FakeEndpoint(empty, empty).backend().turn(contact("hola"))


async def test_endpoint_returning_html_is_malformed() -> None:
    html = httpx.Response(200, text="<html>gateway</html>")
    with pytest.raises(AiBackendError, match="no choices"):
        await FakeEndpoint(html, html).backend().turn(contact("hola"))


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (401, False), (400, False)])
async def test_http_errors_raise_with_retryability(status: int, retryable: bool) -> None:
    fake = FakeEndpoint(httpx.Response(status, json={"error": {"message": "nope"}}))
    with pytest.raises(AiBackendError, match=f"HTTP {status}") as info:
        await fake.backend().turn(contact("hola"))
    assert info.value.retryable is retryable
    assert len(fake.requests) == 1  # HTTP retries belong to the activity's retry policy
    assert "sk-test" not in str(info.value)


async def test_timeout_and_connection_errors_are_retryable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for failure, expected in ((timeout, "timed out"), (refused, "unreachable")):
        with pytest.raises(AiBackendError, match=expected) as info:
            await FakeEndpoint(failure).backend().turn(contact("hola"))
        assert info.value.retryable


def test_messages_map_speakers_and_burst() -> None:
    inp = turn_input(
        ("contact", "hi"),
        ("ai", "hello"),
        ("rep", "I'm Bob"),
        ("system", "handoff note"),
        ("contact", "a"),
        ("contact", "b"),
        new_message_count=2,
        flex_context={"flex_order_id": "A-1"},
    )
    messages = build_messages(inp)
    roles = [m["role"] for m in messages]
    assert roles == ["system", "system", "user", "assistant", "assistant", "system", "user", "user", "system"]
    assert "A-1" in messages[1]["content"]
    assert "Business facts" not in json.dumps(messages)  # no knowledge given, none sent
    assert messages[4]["content"] == "(human agent) I'm Bob"
    assert "last 2 customer messages" in messages[-1]["content"]


def test_parse_completion_normalises_language() -> None:
    assert parse_completion(completion(json.dumps({**GOOD, "language": "PT_br"}))).language == "pt-BR"


def test_faq_knowledge_grounds_the_model() -> None:
    knowledge = faq_knowledge(default_rules())
    assert "- opening hours: Our support team is available" in knowledge
    assert "{flex_" not in knowledge and "a greeting" not in knowledge
    messages = build_messages(contact("hi"), knowledge)
    assert messages[1]["content"].startswith("Business facts you may use:\n- order status:")


async def test_activities_close_the_http_client() -> None:
    fake = FakeEndpoint()
    backend = fake.backend()
    acts = AiActivities(Settings(), backends={"openai": backend}, preload_rules=False)
    assert not backend.closed
    await acts.aclose()
    assert backend.closed


def test_from_settings_and_bad_base_url() -> None:
    settings = Settings(openai_base_url="http://127.0.0.1:9/v1", openai_model="m", openai_api_key=SecretStr("k"))
    assert OpenAiBackend.from_settings(settings).model == "m"
    with pytest.raises(ValueError, match="http"):
        OpenAiBackend(base_url="ftp://x", model="m")
