"""The AI's part of a turn (`AiActivities.turn`): backend selection and error mapping, in an activity context."""

from __future__ import annotations

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.ai.activity import AI_UNAVAILABLE, UNKNOWN_BACKEND, AiActivities
from activities.ai.backend import AiBackendError
from activities.ai.openai_backend import OpenAiBackend
from activities.ai.rules_backend import RulesBackend
from config.settings import Settings
from contracts.ai import AiTurnInput, AiTurnResult
from tests.ai.conftest import contact


class Failing:
    def __init__(self, retryable: bool) -> None:
        self.retryable = retryable

    async def turn(self, inp: AiTurnInput) -> AiTurnResult:
        raise AiBackendError("model exploded", retryable=self.retryable)


def activities(rules_backend: RulesBackend, **backends: object) -> AiActivities:
    return AiActivities(Settings(), backends={"rules": rules_backend, **backends})  # type: ignore[dict-item]


async def test_rules_by_default(rules_backend: RulesBackend) -> None:
    acts = activities(rules_backend)
    result = await ActivityEnvironment().run(acts.turn, contact("I want to talk to a human"))
    assert result.escalate and result.reason == "customer asked for a human agent"


async def test_unknown_backend_is_non_retryable(rules_backend: RulesBackend) -> None:
    acts = activities(rules_backend)
    inp = contact("hi").model_copy(update={"backend": "gpt-telepathy"})
    with pytest.raises(
        ApplicationError, match="unknown AI backend 'gpt-telepathy'; known backends: openai, rules"
    ) as info:
        await ActivityEnvironment().run(acts.turn, inp)
    assert info.value.non_retryable and info.value.type == UNKNOWN_BACKEND


@pytest.mark.parametrize("retryable", [True, False])
async def test_backend_failure_is_ai_unavailable(rules_backend: RulesBackend, retryable: bool) -> None:
    acts = activities(rules_backend, flaky=Failing(retryable))
    inp = contact("hi").model_copy(update={"backend": "flaky"})
    with pytest.raises(ApplicationError, match="model exploded") as info:
        await ActivityEnvironment().run(acts.turn, inp)
    assert info.value.type == AI_UNAVAILABLE and info.value.non_retryable is (not retryable)


async def test_openai_backend_built_lazily_from_settings(rules_backend: RulesBackend) -> None:
    acts = AiActivities(Settings(openai_base_url="not-a-url"), backends={"rules": rules_backend})
    inp = contact("hi").model_copy(update={"backend": "openai"})
    with pytest.raises(ApplicationError, match="misconfigured") as info:
        await ActivityEnvironment().run(acts.turn, inp)
    assert info.value.non_retryable


async def test_openai_malformed_answer_through_the_activity(rules_backend: RulesBackend) -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"choices": [{"message": {"content": "{oops"}}]})
    )
    backend = OpenAiBackend(base_url="http://fake/v1", model="m", transport=transport)
    acts = activities(rules_backend, openai=backend)
    inp = contact("hi").model_copy(update={"backend": "openai"})
    with pytest.raises(ApplicationError, match="malformed answer") as info:
        await ActivityEnvironment().run(acts.turn, inp)
    assert info.value.type == AI_UNAVAILABLE and info.value.non_retryable
