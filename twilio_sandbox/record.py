"""Chronological log of everything the sandbox did, for `/_sandbox/record` and fault checks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from twilio_sandbox.clock import SandboxClock
from twilio_sandbox.formats import iso_ms

MAX_ENTRIES = 20000


class Recorder:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.entries: list[dict[str, Any]] = []
        self._seq = itertools.count(1)

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        entry = {
            "seq": next(self._seq),
            "kind": kind,
            "at": iso_ms(self.clock.now()),
            "wall": iso_ms(datetime.now(UTC)),
            **fields,
        }
        self.entries.append(entry)
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[: len(self.entries) - MAX_ENTRIES]
        return entry

    def after(self, seq: int) -> list[dict[str, Any]]:
        """The entries after `seq`, found by position: seqs are consecutive, and a follower polling the record
        must not read the whole record each time."""
        if not self.entries:
            return []
        start = max(0, seq + 1 - self.entries[0]["seq"])
        return self.entries[start:]

    def reset(self) -> None:
        self.entries.clear()
        self._seq = itertools.count(1)
