"""When to read a task back from TaskRouter because the webhook the conversation waits for has not come.

Twilio delivers webhooks at least once and sometimes not at all: the workflow never waits on one alone.
"""

from __future__ import annotations

from datetime import timedelta

from contracts.views import AwaitingKind
from rules.backoff import backoff

# The AI's offer is checked well before TaskRouter's reservation timeout (120 s by default): a missed
# reservation.created is accepted in time, not left to time out (which takes the AI worker offline).
AI_OFFER_CHECK_FIRST = timedelta(seconds=30)
REP_ACCEPTANCE_CHECK_FIRST = timedelta(seconds=60)
RECONCILE_CAP = timedelta(minutes=15)
# A rep works for minutes to hours: their task's end is read back hourly, then up to every 6 h.
REP_TASK_CHECK_FIRST = timedelta(hours=1)
REP_TASK_CHECK_CAP = timedelta(hours=6)

_FIRST: dict[AwaitingKind, timedelta] = {
    "ai_reservation": AI_OFFER_CHECK_FIRST,
    "human_acceptance": REP_ACCEPTANCE_CHECK_FIRST,
    "rep_task_end": REP_TASK_CHECK_FIRST,
}
_CAP: dict[AwaitingKind, timedelta] = {
    "ai_reservation": RECONCILE_CAP,
    "human_acceptance": RECONCILE_CAP,
    "rep_task_end": REP_TASK_CHECK_CAP,
}


def first_check(awaiting: AwaitingKind) -> timedelta:
    """How long after it starts waiting the conversation first reads the task back."""
    return _FIRST[awaiting]


def next_check(awaiting: AwaitingKind, reads_so_far: int) -> timedelta:
    """The delay before the next read after `reads_so_far` reads that settled nothing (doubling, capped)."""
    return backoff(_FIRST[awaiting], reads_so_far + 1, _CAP[awaiting])
