"""The window of the conversation the AI reads each turn: the newest lines within a character budget, never
without the messages it answers."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.ai import Speaker, TranscriptLine
from rules.turns import ai_context

AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def line(speaker: Speaker, text: str) -> TranscriptLine:
    return TranscriptLine(speaker=speaker, text=text, at=AT)


def test_the_newest_lines_within_the_budget() -> None:
    lines = [line("contact", "a" * 10), line("ai", "b" * 10), line("contact", "c" * 10), line("ai", "d" * 10)]
    lines.append(line("contact", "e" * 10))
    assert ai_context(lines, 1, budget=30) == lines[-3:]
    assert ai_context(lines, 1, budget=29) == lines[-2:]
    assert ai_context(lines, 1, budget=1000) == lines


def test_the_messages_to_answer_are_kept_whatever_their_length() -> None:
    lines = [line("contact", "old"), line("ai", "reply"), line("contact", "x" * 500), line("contact", "y" * 500)]
    assert ai_context(lines, 2, budget=100) == lines[2:]
    assert ai_context(lines, 5, budget=0) == lines  # fewer contact lines than asked for: all of them
