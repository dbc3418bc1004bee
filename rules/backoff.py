"""Doubling delays with a cap: every retry and read-back schedule of the conversation uses this one rule."""

from __future__ import annotations

from datetime import timedelta

# Past this many doublings the cap has long been reached: keeps 2**n small for a counter that grows for months.
_MAX_DOUBLINGS = 20


def backoff(first: timedelta, attempt: int, cap: timedelta | None = None) -> timedelta:
    """The delay before try `attempt + 1`: `first` after the first failure (attempt 1), doubled each time,
    never above `cap`. Attempt 0 (nothing failed yet) also waits `first`."""
    delay = first * (2 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS))
    return delay if cap is None else min(delay, cap)
