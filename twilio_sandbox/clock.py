"""The sandbox clock: wall time plus an offset that `/_sandbox/clock/advance` moves (window and timeout
tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self.offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        self.offset = timedelta(0)
