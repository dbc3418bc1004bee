"""Waiting on the sandbox's record (`GET /_sandbox/record`): returns the first matching entry, or fails loudly
with what the record held when the time ran out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def record(ctl: httpx.Client, kind: str, since: int = 0) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = ctl.get("/_sandbox/record", params={"kind": kind, "since": since}).json()["entries"]
    return entries


def wait_for_record(
    ctl: httpx.Client, kind: str, match: Callable[[dict[str, Any]], bool] = lambda e: True, timeout: float = 10.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        entries = record(ctl, kind)
        for entry in entries:
            if match(entry):
                return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind!r} record entry matched within {timeout}s; the record had {entries}")
        time.sleep(0.02)
