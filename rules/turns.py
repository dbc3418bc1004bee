"""When the AI takes its turn, and what ends a session's opening attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.ai import TranscriptLine
from contracts.views import StateName


def ai_turn_due(
    *,
    state: StateName,
    handoff_requested: bool,
    reservation_accepted: bool,
    unanswered: int,
    task_known: bool,
    conversation_known: bool,
    opening_failed: bool,
    window_known: bool,
    media_waiting: bool,
    retry_at: datetime | None,
    now: datetime,
    answered_before_open: bool = False,
) -> bool:
    """The AI answers the contact's unanswered messages in one turn now.

    The session's first messages are answered at once, before the Flex session opens (the contact does not wait
    for Flex or TaskRouter; the reply is posted into Flex after them when it opens); once per session. After
    that, only while the AI holds the task (its reservation accepted, no handoff asked for) and the Flex session
    is open. Never while opening is failing, nor before any contact media is in Flex (media copies are steps of
    their own, so a turn's thread reads in order). A failed turn waits for its retry time.
    """
    ready = (
        state == "ai"
        and not handoff_requested
        and unanswered > 0
        and not opening_failed
        and window_known
        and not media_waiting
        and (retry_at is None or retry_at <= now)
    )
    if not conversation_known:
        return ready and not answered_before_open
    return ready and reservation_accepted and task_known


def ai_context(transcript: Sequence[TranscriptLine], new_messages: int, budget: int) -> list[TranscriptLine]:
    """The newest lines of the transcript within `budget` characters (the org's `ai_context_chars`: every turn's
    input is stored in the workflow's history, so the AI reads a recent window, not the whole transcript); always
    every line from the oldest of the `new_messages` contact lines to answer on, whatever their length."""
    must = 0
    seen = 0
    for i in range(len(transcript) - 1, -1, -1):
        if transcript[i].speaker == "contact":
            seen += 1
            if seen == new_messages:
                must = len(transcript) - i
                break
    else:
        must = len(transcript)
    used = sum(len(line.text) for line in transcript[len(transcript) - must :])
    start = len(transcript) - must
    while start > 0 and used + len(transcript[start - 1].text) <= budget:
        start -= 1
        used += len(transcript[start].text)
    return list(transcript[start:])
