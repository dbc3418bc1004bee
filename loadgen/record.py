"""Follows the sandbox's record (`GET /_sandbox/record?since=`) and keeps every entry, indexed for the driver
and the checks. The sandbox keeps only its last 20,000 entries, so the run polls it continuously.

Entries are filled in after they are logged (a REST call's or a webhook's status arrives with the response):
an entry without its status is fetched again until it has one (or is 30 s old).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx

Entry = dict[str, Any]
_SETTLE_KINDS = ("rest", "webhook.sent")
_SETTLE_SECONDS = 30.0


class RecordFollower:
    def __init__(self, http: httpx.AsyncClient, sandbox_url: str, interval: float = 0.4) -> None:
        self.http = http
        self.url = f"{sandbox_url}/_sandbox/record"
        self.interval = interval
        self.entries: dict[int, Entry] = {}
        self.max_seq = 0
        self._unsettled: dict[int, float] = {}  # seq → first seen (monotonic)
        self._handled: set[int] = set()
        self.listeners: list[Callable[[Entry], None]] = []  # called once per entry, when settled
        self.on_seen: list[Callable[[Entry], None]] = []  # called once per entry, as soon as it shows up
        self._seen_seqs: set[int] = set()
        self.gaps = 0  # entries the sandbox trimmed before we read them
        self.poll_errors = 0
        # Indexes for the waits of the driver.
        self.deliveries_by_contact: dict[str, list[Entry]] = defaultdict(list)
        self.conv_messages: dict[str, list[Entry]] = defaultdict(list)
        self.webhook_sent_by_message: dict[str, int] = defaultdict(int)
        self.outbound: dict[str, Entry] = {}  # messaging.created by message SID (what the service sent)
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()

    async def start(self) -> None:
        await self.poll()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.poll()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except httpx.HTTPError:
                self.poll_errors += 1

    async def poll(self) -> None:
        now = time.monotonic()
        pending = [s for s, t in self._unsettled.items() if now - t < _SETTLE_SECONDS]
        since = (min(pending) - 1) if pending else self.max_seq
        resp = await self.http.get(self.url, params={"since": since}, timeout=60)
        resp.raise_for_status()
        entries: list[Entry] = resp.json()["entries"]
        if entries and entries[0]["seq"] > since + 1:
            self.gaps += entries[0]["seq"] - since - 1
        for e in entries:
            seq = e["seq"]
            self.entries[seq] = e
            self.max_seq = max(self.max_seq, seq)
            if seq not in self._seen_seqs:
                self._seen_seqs.add(seq)
                for listener in self.on_seen:
                    listener(e)
            settled = e["kind"] not in _SETTLE_KINDS or "status" in e or "error" in e
            if not settled and now - self._unsettled.setdefault(seq, now) < _SETTLE_SECONDS:
                continue
            self._unsettled.pop(seq, None)
            if seq not in self._handled:
                self._handled.add(seq)
                self._index(e)
                for listener in self.listeners:
                    listener(e)
        for seq in [s for s, t in self._unsettled.items() if now - t >= _SETTLE_SECONDS]:
            self._unsettled.pop(seq, None)
        if entries:
            self.changed.set()
            self.changed = asyncio.Event()

    def _index(self, e: Entry) -> None:
        kind = e["kind"]
        if kind in ("contact.received", "contact.failed"):
            self.deliveries_by_contact[e["contact"]].append(e)
        elif kind == "conversation.message":
            self.conv_messages[e["conversation_sid"]].append(e)
        elif kind == "messaging.created":
            self.outbound[e["message_sid"]] = e
        elif kind == "webhook.sent":
            sid = (e.get("params") or {}).get("MessageSid")
            if sid:
                self.webhook_sent_by_message[sid] += 1

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [e for _, e in sorted(self.entries.items()) if e["kind"] in kinds]

    async def wait(self, probe: Callable[[], Any], within: float) -> Any:
        """The first truthy value of probe(), re-evaluated whenever new entries arrive; None on timeout."""
        deadline = time.monotonic() + within
        while True:
            value = probe()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 2.0))
