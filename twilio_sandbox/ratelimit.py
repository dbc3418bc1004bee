"""A sliding-window request limit (Twilio documents one for bulk queue statistics: 5 requests a second)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    def __init__(self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self.clock = clock
        self._recent: deque[float] = deque()

    def allow(self) -> bool:
        """Count this request, unless `limit` requests were already allowed in the last `per_seconds`."""
        now = self.clock()
        while self._recent and now - self._recent[0] >= self.per_seconds:
            self._recent.popleft()
        if len(self._recent) >= self.limit:
            return False
        self._recent.append(now)
        return True
