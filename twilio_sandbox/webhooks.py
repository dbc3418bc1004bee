"""Asynchronous, signed webhook delivery: ordered per resource, concurrent across resources; Twilio-style
retries, faults.

Delivery never runs inside the REST call that caused it, so a service that calls back into the sandbox while
handling a webhook cannot deadlock. One resource's webhooks (a task's events, a conversation's, a message's
statuses, a contact's inbound messages) go out one after another, in order; other resources' do not wait behind
them, as with Twilio, where one slow answer holds up nothing else. Connection overrides in the URL fragment
(`#rc=2&rp=5xx&rt=3000`) are honoured and stripped before signing and sending, as Twilio does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from twilio_sandbox.faults import Faults
from twilio_sandbox.record import Recorder
from twilio_sandbox.signing import sign

USER_AGENT = "TwilioProxy/1.1"
MAX_CONNECTIONS = 64
# The parameter that names the resource whose webhooks keep their order, by kind (prefix) of webhook.
ORDER_PARAMS = (
    ("taskrouter", ("TaskSid", "WorkerSid")),
    ("conversations", ("ConversationSid",)),
    ("messaging.inbound", ("From",)),
    ("messaging.status", ("MessageSid",)),
)


def order_key(kind: str, params: list[tuple[str, str]]) -> str:
    """The resource a webhook is about: its webhooks go out in order; '' (one queue per URL) when unknown."""
    values = dict(params)
    for prefix, names in ORDER_PARAMS:
        if kind.startswith(prefix):
            return next((values[n] for n in names if values.get(n)), "")
    return ""


@dataclass
class Overrides:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 15.0
    retry_count: int = 0
    retry_policy: set[str] = field(default_factory=lambda: {"ct"})


def split_overrides(url: str, default_read_timeout: float) -> tuple[str, Overrides]:
    base, _, fragment = url.partition("#")
    ov = Overrides(read_timeout=default_read_timeout, total_timeout=max(default_read_timeout, 15.0))
    for key, value in parse_qsl(fragment):
        with contextlib.suppress(ValueError):
            if key == "ct":
                ov.connect_timeout = min(max(int(value), 100), 10000) / 1000
            elif key == "rt":
                ov.read_timeout = min(max(int(value), 100), 15000) / 1000
            elif key == "tt":
                ov.total_timeout = min(max(int(value), 100), 15000) / 1000
            elif key == "rc":
                ov.retry_count = min(max(int(value), 0), 5)
            elif key == "rp":
                ov.retry_policy = {p.strip() for p in value.split(",") if p.strip()}
    return base, ov


@dataclass
class Delivery:
    kind: str
    url: str
    params: list[tuple[str, str]]
    token: str
    method: str = "POST"
    retry_param: str | None = None  # Conversations adds RetryCount to the form
    timeout: float | None = None  # read timeout; None = the dispatcher's default
    future: asyncio.Future[int | None] | None = None
    idempotency_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    order_key: str = ""  # deliveries to one URL with the same key go out in order, one at a time


class WebhookDispatcher:
    def __init__(self, recorder: Recorder, faults: Faults, timeout: float) -> None:
        self.recorder = recorder
        self.faults = faults
        self.timeout = timeout
        self._queues: dict[str, deque[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.on_result: Callable[[Delivery, int | None], None] | None = None

    async def start(self) -> None:
        # Deliveries beyond the pool wait for a connection (no pool timeout): a wait Twilio would not report.
        self._client = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=MAX_CONNECTIONS))

    async def stop(self) -> None:
        for task in [*self._workers.values(), *self._pending]:
            task.cancel()
        for task in [*self._workers.values(), *self._pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._queues.clear()
        self._pending.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def send(self, delivery: Delivery) -> asyncio.Future[int | None]:
        """Queue a delivery; the future resolves to the HTTP status of the last attempt (None: none
        answered)."""
        loop = asyncio.get_running_loop()
        delivery.future = loop.create_future()
        target = urlsplit(delivery.url.partition("#")[0])
        key = f"{target.scheme}://{target.netloc}{target.path}|{delivery.order_key}"
        if self.faults.config.webhook_reorder:
            # Reordering: each delivery on its own, after a random short delay.
            task = loop.create_task(self._deliver_later(delivery, self.faults.rng.uniform(0, 0.3)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return delivery.future
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._workers[key] = loop.create_task(self._run(key, queue))
        queue.append(delivery)
        return delivery.future

    async def _deliver_later(self, delivery: Delivery, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._process(delivery)

    async def _run(self, key: str, queue: deque[Delivery]) -> None:
        """Drains one resource's queue, then ends (no await between the last look and the removal, so a
        delivery queued meanwhile starts a new drain)."""
        try:
            while queue:
                await self._process(queue.popleft())
        finally:
            self._queues.pop(key, None)
            self._workers.pop(key, None)

    async def _process(self, delivery: Delivery) -> None:
        status: int | None = None
        try:
            if self.faults.roll(self.faults.config.webhook_drop_rate):
                self.recorder.add("webhook.dropped", webhook=delivery.kind, url=delivery.url.partition("#")[0])
            else:
                status = await self._attempts(delivery)
                # The delivery is answered; Twilio's duplicate is a second delivery nobody waits for.
                self._answered(delivery, status)
                if self.faults.roll(self.faults.config.webhook_duplicate_rate):
                    self.recorder.add("webhook.duplicated", webhook=delivery.kind, url=delivery.url)
                    await self._attempts(delivery)
        except Exception as exc:  # never let one bad delivery kill the queue
            self.recorder.add("webhook.error", webhook=delivery.kind, error=repr(exc))
        finally:
            self._answered(delivery, status)
            if self.on_result is not None:
                self.on_result(delivery, status)

    @staticmethod
    def _answered(delivery: Delivery, status: int | None) -> None:
        if delivery.future is not None and not delivery.future.done():
            delivery.future.set_result(status)

    async def _attempts(self, delivery: Delivery) -> int | None:
        url, ov = split_overrides(delivery.url, delivery.timeout or self.timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ov.total_timeout
        status: int | None = None
        for attempt in range(ov.retry_count + 1):
            params = list(delivery.params)
            if delivery.retry_param:
                params.append((delivery.retry_param, str(attempt)))
            status, failure = await self._attempt(delivery, url, params, ov, attempt)
            retry = (
                (failure == "ct" and ("ct" in ov.retry_policy or "all" in ov.retry_policy))
                or (failure == "rt" and ("rt" in ov.retry_policy or "all" in ov.retry_policy))
                or (status is not None and 500 <= status and ({"5xx", "all"} & ov.retry_policy))
                or (status is not None and 400 <= status < 500 and ({"4xx", "all"} & ov.retry_policy))
            )
            if not retry or loop.time() >= deadline:
                break
        return status

    async def _attempt(
        self, delivery: Delivery, url: str, params: list[tuple[str, str]], ov: Overrides, attempt: int
    ) -> tuple[int | None, str | None]:
        assert self._client is not None, "dispatcher not started"
        if delivery.method.upper() == "GET":
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
            signature = sign(delivery.token, url, [])
            body = None
        else:
            signature = sign(delivery.token, url, params)
            body = urlencode(params)
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": delivery.idempotency_token,
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        timeout = httpx.Timeout(ov.read_timeout, connect=ov.connect_timeout, pool=None)
        entry = self.recorder.add(
            "webhook.sent",
            webhook=delivery.kind,
            url=url,
            method=delivery.method,
            attempt=attempt,
            params=dict(params),
        )
        try:
            resp = await self._client.request(
                delivery.method.upper(), url, content=body, headers=headers, timeout=timeout
            )
        except httpx.ConnectError as exc:
            entry["status"], entry["error"] = None, f"connect: {exc}"
            return None, "ct"
        except httpx.TimeoutException as exc:
            entry["status"], entry["error"] = None, f"timeout: {type(exc).__name__}"
            return None, "rt"
        except httpx.HTTPError as exc:
            entry["status"], entry["error"] = None, f"http: {exc}"
            return None, "ct"
        entry["status"] = resp.status_code
        return resp.status_code, None
