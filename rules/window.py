"""The WhatsApp 24-hour customer-service window, as absolute deadlines.

The window opens or extends with every inbound contact message, measured from that message's time, and closes
24 h after the last one. Webhook timestamps can be skewed: a timestamp in the future (sender clock
ahead of ours)
is clamped to `now`, so we never believe the window is open longer than WhatsApp does; a timestamp in the past
(late delivery) is taken as is, because WhatsApp measures from when the message was sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

WINDOW = timedelta(hours=24)
# `WindowExpiresAt` outside the rep's states: rounded up to this, so an AI turn (whose contact message moves the
# window by the seconds since the previous one) upserts nothing, and a conversation at most once an hour.
PUBLISHED_STEP = timedelta(hours=1)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (Twilio sends UTC); aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def deadline_for_message(received_at: datetime, now: datetime) -> datetime:
    """When the window opened by a message received at `received_at` closes."""
    sent = min(as_utc(received_at), as_utc(now))
    return sent + WINDOW


def extend(current: datetime | None, received_at: datetime, now: datetime) -> datetime:
    """The deadline after one more inbound message: never moves earlier (messages can arrive out of order)."""
    candidate = deadline_for_message(received_at, now)
    if current is None:
        return candidate
    return max(as_utc(current), candidate)


def is_open(deadline: datetime | None, now: datetime) -> bool:
    """Open strictly before the deadline: exactly 24 h after the last message the window is closed."""
    return deadline is not None and as_utc(now) < as_utc(deadline)


def remaining(deadline: datetime | None, now: datetime) -> timedelta:
    """Time left in the window (zero when closed or never opened)."""
    if deadline is None:
        return timedelta(0)
    return max(timedelta(0), as_utc(deadline) - as_utc(now))


def warning_at(deadline: datetime | None, minutes_before: int) -> datetime | None:
    """When a rep holding the conversation is warned that the window closes (None: no warning)."""
    if deadline is None or minutes_before <= 0:
        return None
    return as_utc(deadline) - timedelta(minutes=minutes_before)


def published_expiry(deadline: datetime | None, *, exact: bool) -> datetime | None:
    """What the `WindowExpiresAt` search attribute says: the deadline itself while people hold or wait for the
    conversation (`exact`; the operators' queries read it with those states), otherwise the next full hour at
    or after it (the window is known to close by then)."""
    if deadline is None or exact:
        return deadline
    deadline = as_utc(deadline)
    hour = deadline.replace(minute=0, second=0, microsecond=0)
    return hour if hour == deadline else hour + PUBLISHED_STEP
