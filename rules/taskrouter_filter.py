"""Which TaskRouter event types are worth a signal: those `session_events.classify` can map to an action.

Every signal is a billed action on Temporal Cloud, and the workflow ignores every other event type
(`task.created`, `task.updated`, `task-queue.*`, `workflow.*`, `worker.*`, …), so the webhook API answers
those 2xx without signalling. Built from session_events' own constants: a type classify starts acting on
must be added there, and is then signalled without a second list to keep in step.
"""

from __future__ import annotations

from rules.session_events import AI_RELEASE_TYPES, RESERVATION_END_TYPES, TASK_END_TYPES

# classify's reservation branch: offer and acceptance (AI or rep), the AI's release, the rep's session end.
RESERVATION_OFFER_TYPES = frozenset({"reservation.created", "reservation.accepted"})

SIGNALLED_EVENT_TYPES: frozenset[str] = (
    RESERVATION_OFFER_TYPES | AI_RELEASE_TYPES | RESERVATION_END_TYPES | TASK_END_TYPES
)


def needs_signal(event_type: str) -> bool:
    """True when the workflow may act on an event of this type (whose task is ours)."""
    return event_type in SIGNALLED_EVENT_TYPES
