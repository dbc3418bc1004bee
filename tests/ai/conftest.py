"""Fixtures for the AI backend tests: one rules backend per session (lingua's models load once, ≈1.3 s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activities.ai.rules_backend import RulesBackend
from contracts.ai import AiTurnInput, Speaker, TranscriptLine

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def rules_backend() -> RulesBackend:
    return RulesBackend()


def transcript(*lines: tuple[Speaker, str]) -> list[TranscriptLine]:
    return [TranscriptLine(speaker=s, text=t, at=T0 + timedelta(seconds=i)) for i, (s, t) in enumerate(lines)]


def turn_input(*lines: tuple[Speaker, str], **kw: object) -> AiTurnInput:
    return AiTurnInput.model_validate({"org": "acme", "transcript": transcript(*lines), **kw})


def contact(*texts: str) -> AiTurnInput:
    return turn_input(*(("contact", t) for t in texts), new_message_count=len(texts))
