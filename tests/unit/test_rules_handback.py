"""The people's part of a conversation, summed up from the transcript only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.ai import TranscriptLine
from rules.handback import describe, human_part

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def line(speaker: str, text: str, minutes: int) -> TranscriptLine:
    return TranscriptLine.model_validate({"speaker": speaker, "text": text, "at": T0 + timedelta(minutes=minutes)})


def test_only_what_came_after_the_handoff_and_the_reps_own_words() -> None:
    transcript = [
        line("contact", "where is my order?", -5),
        line("ai", "Let me get you a person.", -4),
        line("contact", "order A-42 please", 1),
        line("rep", "Hi, I'm Bob.", 2),
        line("rep", "Your order A-42 ships tomorrow by courier.", 3),
        line("contact", "great, thanks", 4),
    ]
    part = human_part(transcript, T0)
    assert (part.contact_messages, part.rep_messages) == (2, 2)
    assert part.rep_said == ["Hi, I'm Bob.", "Your order A-42 ships tomorrow by courier."]
    text = describe(part)
    assert "ships tomorrow" in text and "“great, thanks”" in text and "where is my order" not in text


def test_nothing_written_says_so_and_long_lines_are_cut() -> None:
    assert describe(human_part([], T0)).startswith("Nothing was written since 2026-12-02T12:00:00Z")
    text = describe(human_part([line("rep", "x" * 500, 1)], T0))
    assert text.count("x") == 199 and "…" in text
