"""One scripted WhatsApp conversation, driven through the sandbox's control API (the contact's phone, the
rep's Flex UI), waiting on what the sandbox records. Phase A runs per conversation; phase B after the global
clock jump past the 24-hour window; then the rep ends the task and the contact rates the conversation. Every send
and what became of it is logged for the checks.

A webhook the sandbox dropped entirely never reached the service: the contact (or rep) sends again, and the
dropped message is expected to reach nobody.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from cli.sandbox_setup import SandboxSeedInfo
from loadgen.record import RecordFollower

Phase = Literal["ai", "handoff", "rep", "inside", "late", "template"]
TEMPLATE_COMMAND = "/template order_update Ana 42"
OVERSIZE_BYTES = 17 * 1024 * 1024  # over Flex's 16 MiB attachment limit
NOTICE_AUTHOR = "system"
# A notice follows a refused send within seconds, or after one reconciliation round (60 s) if its status
# callback was lost; waiting longer only slows the run.
NOTICE_WAIT = 150.0
# No delivery of a message's webhook after this long: the sandbox dropped it (re-checked before judging).
DROP_WAIT = 20.0


class Sent(BaseModel):
    sid: str
    body: str
    phase: Phase
    seq: int = 0  # the record's seq when it was sent (later entries are its effects)
    dropped: bool = False  # the sandbox dropped every delivery of its webhook: the service never saw it
    media: list[dict[str, Any]] = Field(default_factory=list)


class ConvLog(BaseModel):
    index: int
    contact: str
    workflow_id: str
    tag: str
    contact_msgs: list[Sent] = Field(default_factory=list)
    rep_msgs: list[Sent] = Field(default_factory=list)
    rep: str | None = None
    reservation_sid: str | None = None
    human_task_sid: str | None = None
    conversation_sid: str | None = None
    oversize: bool = False
    stalled: list[str] = Field(default_factory=list)  # steps whose effect never showed up
    phase_a_done: bool = False
    rating_asked: bool = False  # the rep's task was ended: the rating question is due
    rating: int | None = None  # the score the contact tapped


class Driver:
    """Shared by all conversations of a run."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        sandbox_url: str,
        seed: SandboxSeedInfo,
        follower: RecordFollower,
        *,
        step_timeout: float,
        rating_content_sid: str | None = None,
    ) -> None:
        self.http = http
        self.sandbox = sandbox_url
        self.seed = seed
        self.business = seed.whatsapp_numbers[0]
        self.follower = follower
        self.step_timeout = step_timeout
        self.template_sid = seed.templates["order_update"]
        # The org's rating question (CSAT on), answered by tapping one of its buttons.
        self.rating_content_sid = rating_content_sid
        self._pending: dict[str, tuple[str, dict[str, Any]]] = {}  # workflowId → (rep, reservation)
        self._board_task: asyncio.Task[None] | None = None
        self._board_waiters = 0

    # -- sandbox calls (the control API is not fault-injected; a transient error is simply retried)
    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        for attempt in range(5):
            try:
                # A contact's message or tap returns once its webhook was answered: that takes what the service
                # takes, so the wait is a step's.
                resp = await self.http.request(method, f"{self.sandbox}{path}", json=body, timeout=self.step_timeout)
            except httpx.HTTPError as exc:
                # A POST whose answer never came may have acted (a tap, a message): again would act twice.
                if method != "GET" and not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if resp.status_code >= 500:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            resp.raise_for_status()
            return resp.json() if resp.content else {}
        raise RuntimeError(f"sandbox {method} {path} kept failing")

    # -- pending reservations of all reps, polled while anyone waits for one
    async def _board(self) -> None:
        while True:
            pending: dict[str, tuple[str, dict[str, Any]]] = {}
            for rep in self.seed.reps:
                data = await self._call("GET", f"/_sandbox/reps/{rep.name}/reservations?status=pending")
                for res in data.get("reservations", []):
                    attrs = res.get("task_attributes") or {}
                    if isinstance(attrs, str):
                        attrs = json.loads(attrs or "{}")
                    wf = (attrs.get("waHandoff") or {}).get("workflowId")
                    if wf:
                        pending[wf] = (rep.name, res)
            self._pending = pending
            await asyncio.sleep(1.0)

    async def wait_reservation(
        self, workflow_id: str, within: float, skip: Collection[str] = ()
    ) -> tuple[str, dict[str, Any]] | None:
        self._board_waiters += 1
        if self._board_task is None or self._board_task.done():
            self._board_task = asyncio.create_task(self._board())
        try:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                found = self._pending.get(workflow_id)
                if found and found[1]["reservation_sid"] not in skip:
                    return found
                await asyncio.sleep(0.5)
            return None
        finally:
            self._board_waiters -= 1
            if self._board_waiters == 0 and self._board_task is not None:
                self._board_task.cancel()
                self._board_task = None

    # -- what the contact received (from the record)
    def delivered(self, contact: str) -> list[dict[str, Any]]:
        out = []
        for e in self.follower.deliveries_by_contact.get(contact, []):
            if e["kind"] == "contact.received":
                created = self.follower.outbound.get(e["message_sid"], {})
                out.append({**created, **e})
        return out

    async def contact_says(
        self, conv: ConvLog, body: str, phase: Phase, media: list[dict[str, Any]] | None = None
    ) -> Sent:
        """Send; if the sandbox dropped the inbound webhook (never sent), the contact sends it again."""
        return await self._say(
            conv.contact_msgs,
            body,
            "sent again",
            phase,
            lambda text: self._call(
                "POST",
                f"/_sandbox/contacts/{conv.contact}/messages",
                {"to": self.business, "body": text, "profile_name": "Ana", "media": media or []},
            ),
            media,
        )

    async def rep_says(self, conv: ConvLog, body: str, phase: Phase) -> Sent:
        assert conv.rep and conv.conversation_sid
        return await self._say(
            conv.rep_msgs,
            body,
            "retyped",
            phase,
            lambda text: self._call(
                "POST",
                f"/_sandbox/reps/{conv.rep}/messages",
                {"conversation_sid": conv.conversation_sid, "body": text},
            ),
        )

    async def _say(
        self,
        said: list[Sent],
        body: str,
        again: str,
        phase: Phase,
        post: Callable[[str], Awaitable[dict[str, Any]]],
        media: list[dict[str, Any]] | None = None,
    ) -> Sent:
        """Posts the message, and again (up to 4 times in all) while the sandbox drops its webhook."""
        for attempt in range(4):
            text = body if attempt == 0 else f"{body} ({again} {attempt})"
            seq = self.follower.max_seq
            result = await post(text)
            sent = Sent(sid=result["message_sid"], body=text, phase=phase, seq=seq, media=media or [])
            said.append(sent)
            if result.get("webhook_status") is not None:
                return sent
            seen = await self.follower.wait(self._webhook_seen(sent.sid), DROP_WAIT)
            if seen:
                return sent  # delivered but not answered (API down): the replayer retries it as Twilio would
            sent.dropped = True
        return sent

    def _webhook_seen(self, sid: str) -> Callable[[], int]:
        return lambda: self.follower.webhook_sent_by_message.get(sid, 0)

    async def _expect(self, conv: ConvLog, step: str, probe: Any, within: float | None = None) -> bool:
        ok = await self.follower.wait(probe, min(within or self.step_timeout, self.step_timeout))
        if not ok:
            conv.stalled.append(step)
        return bool(ok)

    # -- the script
    async def phase_a(self, conv: ConvLog) -> None:
        before = len(self.delivered(conv.contact))
        await self.contact_says(conv, f"Hi! What are your opening hours? {conv.tag}", "ai")
        await self._expect(conv, "AI answer", lambda: len(self.delivered(conv.contact)) > before)

        await self.contact_says(conv, f"I want to talk to a human agent, please. {conv.tag}", "handoff")
        found = await self.wait_reservation(conv.workflow_id, self.step_timeout)
        if found is None:
            conv.stalled.append("reservation for a rep")
            return
        if not await self._accept(conv, found):
            return

        reply = await self.rep_says(conv, f"Hi Ana, this is {conv.rep}. How can I help? {conv.tag}", "inside")
        await self._expect(
            conv,
            "rep reply reaching the contact",
            lambda: any(d.get("body") == reply.body for d in self.delivered(conv.contact)),
        )

        refused = (
            {"content_type": "video/mp4", "size": OVERSIZE_BYTES, "filename": "big.mp4"}
            if conv.oversize
            else {"content_type": "application/x-msdownload", "size": 2048, "filename": "setup.exe"}
        )
        media = [{"content_type": "image/jpeg", "size": 20_000, "filename": "receipt.jpg"}, refused]
        before = len(self.delivered(conv.contact))
        msg = await self.contact_says(conv, f"Here is my receipt. {conv.tag}", "rep", media)
        if not msg.dropped:
            csid = conv.conversation_sid or ""
            await self._expect(
                conv,
                "contact image copied into Flex",
                lambda: any(e.get("media") for e in self.follower.conv_messages.get(csid, []) if e["seq"] > msg.seq),
            )
            await self._expect(
                conv, "media refusal reaching the contact", lambda: len(self.delivered(conv.contact)) > before
            )
        conv.phase_a_done = True

    async def _accept(self, conv: ConvLog, found: tuple[str, dict[str, Any]]) -> bool:
        rep, res = found
        accepted = await self._call("POST", f"/_sandbox/reps/{rep}/reservations/{res['reservation_sid']}/accept")
        conv.rep, conv.reservation_sid, conv.human_task_sid = rep, res["reservation_sid"], res["task_sid"]
        conv.conversation_sid = accepted.get("conversation_sid") or res.get("conversation_sid")
        if not conv.conversation_sid:
            conv.stalled.append("conversation SID of the accepted task")
            return False
        return True

    async def late_handoff(self, conv: ConvLog, within: float) -> None:
        """A handoff the driver gave up on still reaches a rep, who takes it (the session then ends in phase C
        like the others). Its step stays stalled (judged slow when the human task is there). Waited for before
        the clock jumps a day: the service gets the time real hours would give it, and no task outlives its
        day-long TTL while the handoff is still on its way."""
        if "reservation for a rep" not in conv.stalled:
            return
        deadline = time.monotonic() + within
        gone: set[str] = set()  # offers that ended (timed out, rescinded) between the board's look and ours
        while (left := deadline - time.monotonic()) > 0:
            found = await self.wait_reservation(conv.workflow_id, left, skip=gone)
            if found is None:
                return
            try:
                await self._accept(conv, found)
                return
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code >= 500:
                    raise
                gone.add(found[1]["reservation_sid"])

    async def phase_b(self, conv: ConvLog) -> None:
        if not conv.phase_a_done or not conv.conversation_sid:
            return
        csid = conv.conversation_sid
        late = await self.rep_says(conv, f"Are you still there? Your order is on its way. {conv.tag}", "late")
        if not late.dropped:
            await self._expect(
                conv,
                "notice for the late free-form reply",
                lambda: any(
                    e["author"] == NOTICE_AUTHOR
                    for e in self.follower.conv_messages.get(csid, [])
                    if e["seq"] > late.seq
                ),
                within=NOTICE_WAIT,
            )
        tpl = await self.rep_says(conv, TEMPLATE_COMMAND, "template")
        if not tpl.dropped:
            await self._expect(
                conv,
                "template reaching the contact",
                lambda: any(d.get("content_sid") == self.template_sid for d in self.delivered(conv.contact)),
                within=NOTICE_WAIT,
            )

    async def wrap_up(self, conv: ConvLog) -> None:
        if conv.rep and conv.human_task_sid:
            try:
                await self._call("POST", f"/_sandbox/reps/{conv.rep}/tasks/{conv.human_task_sid}/complete")
            except (httpx.HTTPError, RuntimeError) as exc:
                conv.stalled.append(f"wrap-up: {exc}")
                return
            conv.rating_asked = self.rating_content_sid is not None

    async def rate(self, conv: ConvLog) -> None:
        """The rep's task ended: the rating question reaches the contact, who taps a score (1–5 by conversation);
        the thank-you follows."""
        if not conv.rating_asked or self.rating_content_sid is None:
            return
        asked = await self._expect(
            conv,
            "rating question reaching the contact",
            lambda: any(d.get("content_sid") == self.rating_content_sid for d in self.delivered(conv.contact)),
        )
        if not asked:
            return
        score = 1 + conv.index % 5
        before = len(self.delivered(conv.contact))
        await self._call("POST", f"/_sandbox/contacts/{conv.contact}/tap", {"button": score})
        conv.rating = score
        await self._expect(
            conv,
            "rating thank-you reaching the contact",
            lambda: len(self.delivered(conv.contact)) > before,
        )
