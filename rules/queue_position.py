"""The contact's place in the humans' queue and the expected wait, as TaskRouter's documented data allow.

TaskRouter has no position field. In a FIFO queue a pending task is ahead of ours when its priority is higher,
or equal and it is older: our 1-based index in `Tasks?TaskQueueSid=…&AssignmentStatus=pending&Ordering=
Priority:desc,DateCreated:asc`. The wait is our own estimate: position × the queue's recent average acceptance
time ÷ the reps available (at least one); with no history there is no estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from contracts.policy import QueueUpdates
from rules.texts import for_language


def expected_wait(position: int, avg_acceptance_seconds: float | None, available_workers: int) -> timedelta | None:
    if position < 1 or not avg_acceptance_seconds or avg_acceptance_seconds <= 0:
        return None
    return timedelta(seconds=avg_acceptance_seconds * position / max(available_workers, 1))


_UNITS = {
    "en": ("minute", "minutes", "hour", "hours"),
    "es": ("minuto", "minutos", "hora", "horas"),
    "pt": ("minuto", "minutos", "hora", "horas"),
    "fr": ("minute", "minutes", "heure", "heures"),
    "de": ("Minute", "Minuten", "Stunde", "Stunden"),
}


def describe_wait(wait: timedelta, language: str | None) -> str:
    """Whole minutes, rounded up (at least one), or whole hours from two hours on."""
    base = (language or "en").split("-")[0].lower()
    minute, minutes, hour, hours = _UNITS.get(base, _UNITS["en"])
    total = max(1, math.ceil(wait.total_seconds() / 60))
    if total >= 120:
        count = round(total / 60)
        return f"{count} {hour if count == 1 else hours}"
    return f"{total} {minute if total == 1 else minutes}"


def update_text(position: int, wait: timedelta | None, language: str | None, settings: QueueUpdates) -> str:
    if wait is None:
        return for_language(settings.no_estimate_texts, language).format(position=position)
    return for_language(settings.texts, language).format(position=position, wait=describe_wait(wait, language))


def next_update_at(
    *, queued_since: datetime, sent: int, last_sent_at: datetime | None, settings: QueueUpdates
) -> datetime | None:
    """When the next update is due: at once when the conversation reaches the queue, then every
    `every_seconds`; None when all `max_updates` went out (or updates are off)."""
    if not settings.enabled or sent >= settings.max_updates:
        return None
    if last_sent_at is None:
        return queued_since
    return last_sent_at + timedelta(seconds=settings.every_seconds)


# A task's events after which it no longer waits in the queue: offered to a rep (a rejected offer puts it back,
# and the next update reads it again), or over.
_LEFT_THE_QUEUE = frozenset(
    {"reservation.created", "reservation.accepted", "task.canceled", "task.completed", "task.wrapup", "task.deleted"}
)


def left_the_queue(task_event_types: Iterable[str]) -> bool:
    """Whether any of the task's events (TaskRouter's `EventType`) says it no longer waits in the queue."""
    return any(t in _LEFT_THE_QUEUE for t in task_event_types)
