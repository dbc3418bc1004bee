"""Playing WhatsApp contacts through the sandbox and timing the AI's replies.

A turn = the sandbox's contact sends a message (the sandbox delivers the signed webhook to the API) → the AI's
reply reaches that contact's inbox. Replies are seen in the sandbox record (`contact.received`, with the
sandbox's wall-clock time), so the latency does not depend on how often we poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import httpx

from bench.stack import Stack

# Questions the rules backend answers from its FAQ (so a turn never escalates to a handoff).
QUESTIONS = (
    "What are your opening hours?",
    "How long does shipping take?",
    "What are your opening hours on Saturday?",
)
POLL_SECONDS = 0.1  # latency comes from the record's timestamps, not from this
TurnFn = Callable[[str], Awaitable[float]]


class ReplyWatcher:
    """Tails `/_sandbox/record` and resolves one waiter per contact on each message that reaches it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http: httpx.AsyncClient = stack.sandbox()
        self.since = 0
        self.waiters: dict[str, asyncio.Future[datetime]] = {}
        self.received = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReplyWatcher:
        # Skip what happened before us.
        entries = (await self.http.get("/_sandbox/record", params={"since": self.since})).json()["entries"]
        self.since = entries[-1]["seq"] if entries else 0
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        await self.http.aclose()

    async def _run(self) -> None:
        while True:
            try:
                resp = await self.http.get("/_sandbox/record", params={"kind": "contact.received", "since": self.since})
                entries = resp.json()["entries"]
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(POLL_SECONDS)
                continue
            for e in entries:
                self.since = max(self.since, e["seq"])
                self.received += 1
                fut = self.waiters.pop(e["contact"], None)
                if fut is not None and not fut.done():
                    fut.set_result(datetime.fromisoformat(e["wall"].replace("Z", "+00:00")))
            await asyncio.sleep(POLL_SECONDS)

    def expect(self, contact: str) -> asyncio.Future[datetime]:
        fut: asyncio.Future[datetime] = asyncio.get_running_loop().create_future()
        self.waiters[contact] = fut
        return fut


class Contacts:
    """Sends contact messages through the sandbox and waits for the reply."""

    def __init__(self, stack: Stack, watcher: ReplyWatcher) -> None:
        self.stack = stack
        self.watcher = watcher
        # aiohttp rather than httpx: the driver shares the 2 cores with the service, so it must be cheap.
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256), timeout=aiohttp.ClientTimeout(total=60)
        )
        self.turns: dict[str, int] = {}

    async def close(self) -> None:
        await self.http.close()

    async def send(self, contact: str, body: str) -> datetime:
        sent = datetime.now(UTC)
        async with self.http.post(
            f"{self.stack.sandbox_url}/_sandbox/contacts/{contact}/messages",
            json={"to": self.stack.business, "body": body, "profile_name": "Bench"},
        ) as resp:
            resp.raise_for_status()
            data = await resp.json()
        status = data.get("webhook_status")
        if status is not None and not 200 <= int(status) < 300:
            raise RuntimeError(f"the API answered the inbound webhook with HTTP {status}")
        return sent

    async def turn(self, contact: str, body: str | None = None, wait: float = 60.0) -> float:
        """One message → its reply; returns the latency in seconds (sandbox wall clock at both ends)."""
        n = self.turns.get(contact, 0)
        self.turns[contact] = n + 1
        fut = self.watcher.expect(contact)
        sent = await self.send(contact, body or QUESTIONS[n % len(QUESTIONS)])
        try:
            got = await asyncio.wait_for(fut, wait)
        finally:
            self.watcher.waiters.pop(contact, None)
        return (got - sent).total_seconds()


async def paced(turn: TurnFn, contacts: list[str], rate: float, duration: float) -> tuple[list[float], int, int]:
    """Offer `rate` messages/s spread over idle conversations for `duration` s (a conversation still waiting
    for its reply is not sent another). Returns (latencies, errors, offers skipped for lack of an idle one)."""
    idle: asyncio.Queue[str] = asyncio.Queue()
    for c in contacts:
        idle.put_nowait(c)
    latencies: list[float] = []
    errors = skipped = 0
    tasks: list[asyncio.Task[None]] = []

    async def one(contact: str) -> None:
        nonlocal errors
        try:
            latencies.append(await turn(contact))
        except Exception:
            errors += 1  # not reused: its late reply would be taken for the next message's
            return
        idle.put_nowait(contact)

    start = time.perf_counter()
    for i in range(int(rate * duration)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            contact = idle.get_nowait()
        except asyncio.QueueEmpty:
            skipped += 1
            continue
        tasks.append(asyncio.create_task(one(contact)))
    await asyncio.gather(*tasks)
    return latencies, errors, skipped


async def sustained(
    turn: TurnFn, contacts: list[str], duration: float, in_flight: int = 32
) -> tuple[float, list[float], int]:
    """Closed loop: `in_flight` callers each take an idle conversation, send, wait for the reply, repeat, for
    `duration` s (all conversations stay open; at most `in_flight` wait for a reply at once, so an overloaded
    service is measured at its maximum instead of collapsing under an ever-growing queue).
    Returns (turns/s completed after the first 30 % of the window — filling the pipeline is not steady
    state —, latencies of those turns, errors). A conversation whose turn failed is not used again: its late
    reply would be taken for the next one's."""
    idle: asyncio.Queue[str] = asyncio.Queue()
    for c in contacts:
        idle.put_nowait(c)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    end = start + duration
    steady = start + 0.3 * duration

    async def caller() -> None:
        nonlocal errors
        while time.perf_counter() < end and not idle.empty():
            contact = idle.get_nowait()
            try:
                lat = await turn(contact)
            except Exception:
                errors += 1
                continue
            idle.put_nowait(contact)
            if steady <= time.perf_counter() <= end:
                latencies.append(lat)

    await asyncio.gather(*(caller() for _ in range(min(in_flight, len(contacts)))))
    return len(latencies) / (end - steady), latencies, errors


async def reservations_accepted(stack: Stack) -> int:
    """TaskRouter reservations accepted so far (the sandbox's record): one per Flex session the AI took."""
    async with stack.sandbox() as http:
        resp = await http.get("/_sandbox/record", params={"kind": "taskrouter.event"})
        resp.raise_for_status()
        return sum(1 for e in resp.json()["entries"] if e.get("event_type") == "reservation.accepted")


async def sessions_opened(stack: Stack, count: int, within: float = 120.0) -> None:
    """Until `count` reservations were accepted: a first reply goes out before its Flex session opens, so the
    opening is work left running; a measurement that follows it waits here to see a quiet service."""
    deadline = time.perf_counter() + within
    while (seen := await reservations_accepted(stack)) < count:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{seen} of {count} Flex sessions opened after {within:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


async def open_sessions(
    contacts_: Contacts, contacts: list[str], concurrency: int, body: str = "Hi! What are your opening hours?"
) -> tuple[list[float], int]:
    """One message of each conversation, `concurrency` at a time; a conversation's first opens its session (Flex
    conversation, interaction, AI task)."""
    queue = list(contacts)
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while queue:
            c = queue.pop()
            try:
                latencies.append(await contacts_.turn(c, body, wait=120))
            except Exception:
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors
