"""Extra webhook deliveries, as Twilio makes them: every webhook the sandbox sent is delivered again (a third
copy for a share of them, sometimes concurrently with the sandbox's own duplicate, sometimes long after), and
every delivery that failed (connection refused while the API restarts, 5xx while Temporal is down) is retried
until it is answered — signed exactly as the sandbox signed it.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import httpx

from loadgen.record import Entry
from twilio_sandbox.signing import sign

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0)


def _webhook_key(e: Entry) -> tuple[str, tuple[tuple[str, str], ...]]:
    params = {k: v for k, v in (e.get("params") or {}).items() if k != "RetryCount"}
    return e["url"], tuple(sorted(params.items()))


class WebhookReplayer:
    def __init__(self, http: httpx.AsyncClient, auth_token: str, *, extra_rate: float, rng: random.Random) -> None:
        self.http = http
        self.token = auth_token
        self.extra_rate = extra_rate
        self.rng = rng
        self.enabled = True
        self._seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def on_entry(self, e: Entry) -> None:
        if e["kind"] != "webhook.sent" or not self.enabled or e.get("method", "POST") != "POST":
            return
        key = _webhook_key(e)
        status = e.get("status")
        ok = isinstance(status, int) and status < 500
        if key in self._seen:
            return
        self._seen.add(key)
        if not ok:
            self._spawn(self._retry(e, key))
        elif self.rng.random() < self.extra_rate:
            self._spawn(self._extra(e, key))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, e: Entry, key: tuple[str, tuple[tuple[str, str], ...]]) -> int | None:
        url, params = key
        retry = (e.get("params") or {}).get("RetryCount")
        form = list(params) + ([("RetryCount", str(int(retry) + 1))] if retry is not None else [])
        headers = {
            "X-Twilio-Signature": sign(self.token, url, form),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        }
        try:
            resp = await self.http.post(url, content=urlencode(form), headers=headers, timeout=20)
        except httpx.HTTPError:
            self.statuses["no answer"] += 1
            return None
        self.statuses[str(resp.status_code)] += 1
        return resp.status_code

    async def deliver(self, e: Entry) -> int | None:
        """One more copy of a recorded webhook, now."""
        return await self._post(e, _webhook_key(e))

    async def _extra(self, e: Entry, key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        # Half the copies race the sandbox's own duplicate, half come late (after later events: out of order).
        await asyncio.sleep(self.rng.uniform(0, 0.2) if self.rng.random() < 0.5 else self.rng.uniform(1, 6))
        self.counts[f"extra copy: {e.get('webhook')}"] += 1
        status = await self._post(e, key)
        if status is None or status >= 500:
            await self._retry(e, key)

    async def _retry(self, e: Entry, key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        for delay in RETRY_DELAYS:
            await asyncio.sleep(delay * self.rng.uniform(0.8, 1.2))
            self.counts[f"retry: {e.get('webhook')}"] += 1
            status = await self._post(e, key)
            if status is not None and status < 500:
                return
        self.counts[f"gave up: {e.get('webhook')}"] += 1

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def drain(self, within: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=within)

    async def cancel(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
