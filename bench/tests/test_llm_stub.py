"""The stand-in model of figure 7's slot-bound case answers what the service's real `openai` backend accepts,
after the delay it was given (else the figure would measure failed AI turns, not slots)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pydantic import SecretStr

from activities.ai.openai_backend import OpenAiBackend
from bench.llm_stub import REPLY, LlmStub
from contracts.ai import AiTurnInput, TranscriptLine


async def test_the_openai_backend_takes_the_stand_in_answer_after_its_delay() -> None:
    async with LlmStub(0.3) as llm:
        backend = OpenAiBackend(base_url=llm.base_url, model="stand-in", api_key=SecretStr("k"))
        try:
            inp = AiTurnInput(
                org="demo",
                transcript=[TranscriptLine(speaker="contact", text="hello", at=datetime.now(UTC))],
            )
            started = time.monotonic()
            result = await backend.turn(inp)
            took = time.monotonic() - started
        finally:
            await backend.aclose()
    assert result.reply == REPLY["reply"] and result.escalate is False
    assert llm.calls == 1
    assert took >= 0.3
