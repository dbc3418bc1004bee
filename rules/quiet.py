"""Quiet periods: when an AI-held session ends, and when an idle conversation's workflow completes.

- An AI-held session ends after `ai_session_idle` without a contact message or AI reply, at the latest when the
  window closes (the AI cannot write after that); later only to retry a release that failed. Unanswered contact
  messages keep it open until the window closes; messages not yet in Flex keep it open (they are posted first).
- With no session, the workflow completes `idle_close` after the later of its last event and the window's close.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rules.window import is_open


def ai_session_deadline(
    *,
    opened_at: datetime,
    quiet_from: datetime | None,
    ai_session_idle: timedelta,
    window_expires_at: datetime | None,
    release_retry_at: datetime | None,
) -> datetime:
    """When a session the AI holds ends, absent new activity."""
    deadline = (quiet_from or opened_at) + ai_session_idle
    if window_expires_at is not None and window_expires_at < deadline:
        deadline = max(window_expires_at, opened_at)
    if release_retry_at is not None and release_retry_at > deadline:
        deadline = release_retry_at
    return deadline


def ai_session_may_end(
    *,
    now: datetime,
    deadline: datetime,
    unanswered: bool,
    not_in_flex: bool,
    window_expires_at: datetime | None,
) -> bool:
    """The AI-held session ends now (the caller has no event waiting to be processed)."""
    if now < deadline or not_in_flex:
        return False
    return not unanswered or not is_open(window_expires_at, now)


def idle_close_deadline(
    *, last_activity_at: datetime | None, now: datetime, window_expires_at: datetime | None, idle_close: timedelta
) -> datetime:
    """When a conversation with no open session completes its workflow."""
    base = last_activity_at or now
    if window_expires_at is not None and window_expires_at > base:
        base = window_expires_at
    return base + idle_close


def idle_close_due(*, now: datetime, deadline: datetime, window_expires_at: datetime | None) -> bool:
    return now >= deadline and not is_open(window_expires_at, now)
