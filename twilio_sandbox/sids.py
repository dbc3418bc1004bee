"""Twilio SIDs: `<2-letter prefix><32 hex>`. A seed's own SIDs (account, workspace, queues, reps, templates) are
derived from its salt and never change; every SID the sandbox creates afterwards also carries the run it was
issued in, so none repeats across restarts or resets, whether the state was kept or not."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def derive_sid(prefix: str, salt: str, name: str) -> str:
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"bad SID prefix {prefix!r}")
    return prefix + hashlib.sha256(f"{salt}|{prefix}|{name}".encode()).hexdigest()[:32]


def new_run_id() -> str:
    return secrets.token_hex(8)


class SidFactory:
    """`fixed(prefix, name)`: the seed's SIDs, the same on every start. `new(prefix)`: a fresh SID; a sequence per
    prefix within a run, and a new run (random) at construction and at every `reset()`. A restarted sandbox that
    kept its state (`--db`) still starts a new run: counters saved before a crash could be behind the SIDs it had
    already handed out, and the service (Temporal) keeps those."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self.run = new_run_id()
        self._counters: dict[str, int] = defaultdict(int)

    def fixed(self, prefix: str, name: str) -> str:
        return derive_sid(prefix, self.salt, f"fixed:{name}")

    def new(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return derive_sid(prefix, self.salt, f"seq:{self.run}:{self._counters[prefix]}")

    def reset(self) -> None:
        self.run = new_run_id()
        self._counters.clear()


def is_sid(value: str, prefix: str | None = None) -> bool:
    return bool(SID_RE.match(value)) and (prefix is None or value.startswith(prefix))
