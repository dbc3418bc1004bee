"""Deterministic Twilio SIDs: `<2-letter prefix><32 hex>`, derived from a salt so a seed always yields
the same SIDs."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def derive_sid(prefix: str, salt: str, name: str) -> str:
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"bad SID prefix {prefix!r}")
    return prefix + hashlib.sha256(f"{salt}|{prefix}|{name}".encode()).hexdigest()[:32]


class SidFactory:
    """Issues SIDs in sequence per prefix; `reset()` restarts the sequences, so a reset replays the same
    SIDs."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self._counters: dict[str, int] = defaultdict(int)

    def fixed(self, prefix: str, name: str) -> str:
        return derive_sid(prefix, self.salt, f"fixed:{name}")

    def new(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return derive_sid(prefix, self.salt, f"seq:{self._counters[prefix]}")

    def reset(self) -> None:
        self._counters.clear()


def is_sid(value: str, prefix: str | None = None) -> bool:
    return bool(SID_RE.match(value)) and (prefix is None or value.startswith(prefix))
