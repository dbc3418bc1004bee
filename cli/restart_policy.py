"""When `run` restarts a crashed child, and when it gives up: a pure rule over crash times, tested on its own."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# A process manager's usual shape: restart at once-ish, back off while it keeps crashing, and stop trying when
# crashes come faster than a person could fix anything.
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
MAX_CRASHES = 5
CRASH_WINDOW_SECONDS = 120.0


def backoff(first: float, attempt: int, cap: float) -> float:
    """`first`, doubled per earlier attempt (attempt 1 = `first`), never above `cap`."""
    return min(cap, first * 2 ** max(0, attempt - 1))


@dataclass
class RestartDecision:
    restart: bool
    delay: float  # seconds to wait before the restart (0 when giving up)
    crashes_in_window: int


@dataclass
class CrashHistory:
    """Crash times of one child; `record` says whether to restart it and after how long."""

    max_crashes: int = MAX_CRASHES
    window: float = CRASH_WINDOW_SECONDS
    first_delay: float = FIRST_DELAY_SECONDS
    max_delay: float = MAX_DELAY_SECONDS
    _times: deque[float] = field(default_factory=deque)

    def record(self, now: float) -> RestartDecision:
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        count = len(self._times)
        if count >= self.max_crashes:
            return RestartDecision(restart=False, delay=0.0, crashes_in_window=count)
        return RestartDecision(
            restart=True, delay=backoff(self.first_delay, count, self.max_delay), crashes_in_window=count
        )
