"""When the AI takes its turn, and what ends a session's opening attempts."""

from __future__ import annotations

from datetime import datetime

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
) -> bool:
    """The AI answers the contact's unanswered messages in one turn now.

    Only while it holds the task (its reservation accepted, no handoff asked for), once the Flex session is open
    and nothing is failing to open it, and after any contact media is in Flex (media copies are steps of their
    own, so a turn's thread reads in order). A failed turn waits for its retry time.
    """
    return (
        state == "ai"
        and not handoff_requested
        and reservation_accepted
        and unanswered > 0
        and task_known
        and conversation_known
        and not opening_failed
        and window_known
        and not media_waiting
        and (retry_at is None or retry_at <= now)
    )
