"""A scripted conversation, step by step, with the history event range of each step (figures 4 and 5).

Each step waits for its visible effect in the sandbox and then for the workflow's history to stop growing
(status callbacks and TaskRouter events arrive a little after), so a step's events are the ones it caused.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle

from bench.conversations import Contacts
from bench.stack import Stack
from cli.sandbox_setup import SANDBOX_ORG
from contracts.ids import workflow_id

QUIET_SECONDS = 1.0
_SID = re.compile(r"\b([A-Z]{2})[0-9a-f]{32}\b")


class Scripted:
    def __init__(self, stack: Stack, contacts: Contacts, contact: str) -> None:
        self.stack = stack
        self.contacts = contacts
        self.contact = contact
        self.workflow_id = workflow_id(SANDBOX_ORG, stack.business, contact)
        self.steps: list[tuple[str, int, int]] = []
        self.last_event = 0
        self.http = stack.sandbox()
        self.queries = 0
        self.record_seq = 0
        self.rest_calls: list[list[str]] = []

    async def handle(self) -> WorkflowHandle[Any, Any]:
        return (await self.stack.client()).get_workflow_handle(self.workflow_id)

    async def events(self) -> list[HistoryEvent]:
        history = await (await self.handle()).fetch_history()
        return list(history.events)

    async def settle(self, name: str) -> None:
        """Wait until the history stops growing, then record the step's event range."""
        n, still_since = -1, time.monotonic()
        while True:
            events = await self.events()
            if len(events) != n:
                n, still_since = len(events), time.monotonic()
            elif time.monotonic() - still_since >= QUIET_SECONDS:
                break
            await asyncio.sleep(0.2)
        last = events[-1].event_id if events else 0
        self.steps.append((name, self.last_event + 1, last))
        self.last_event = last
        # Twilio REST calls the service made during the step, as the sandbox recorded them.
        entries = (await self.http.get("/_sandbox/record", params={"kind": "rest", "since": self.record_seq})).json()
        calls = [f"{e['method']} {_shape(e['path'])}" for e in entries["entries"]]
        if entries["entries"]:
            self.record_seq = entries["entries"][-1]["seq"]
        self.rest_calls.append(calls)

    async def state(self) -> dict[str, Any]:
        self.queries += 1
        view = await (await self.handle()).query("state")
        return view.model_dump(mode="json") if hasattr(view, "model_dump") else dict(view)

    async def wait_for(self, what: str, probe: Any, limit: float = 60) -> Any:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.1)
        state = await self.state()
        raise TimeoutError(f"{what} did not happen within {limit:.0f} s; the conversation's state: {state}")

    async def reservation(self) -> tuple[str, dict[str, Any]] | None:
        for rep in self.stack.seed.reps:
            data = (await self.http.get(f"/_sandbox/reps/{rep.name}/reservations", params={"status": "pending"})).json()
            for res in data.get("reservations", []):
                attrs = res.get("task_attributes") or {}
                if isinstance(attrs, str):
                    attrs = json.loads(attrs or "{}")
                if (attrs.get("waHandoff") or {}).get("workflowId") == self.workflow_id:
                    return rep.name, res
        return None

    async def inbox_count(self, body: str) -> int:
        msgs = (await self.http.get(f"/_sandbox/contacts/{self.contact}/inbox")).json()["messages"]
        return sum(1 for m in msgs if m.get("body") == body and m.get("status") not in ("failed", "undelivered"))

    async def close(self) -> None:
        await self.http.aclose()


def _shape(path: str) -> str:
    """`…/Conversations/CH9f0a…/Messages` → `…/Conversations/CH…/Messages` (SIDs shortened to their prefix)."""
    return _SID.sub(r"\1…", path)


async def play(stack: Stack, contacts: Contacts, turns: int, rep_replies: int) -> Scripted:
    """turn 1 (opens the session) … turn N, handoff, rep accepts, rep replies ×k, rep completes the task."""
    s = Scripted(stack, contacts, stack.new_contact())
    entries = (await s.http.get("/_sandbox/record")).json()["entries"]
    s.record_seq = entries[-1]["seq"] if entries else 0
    for i in range(turns):
        await contacts.turn(s.contact)
        await s.settle("session open + AI turn" if i == 0 else "AI turn")
    await contacts.send(s.contact, "I want to talk to a human agent, please.")
    rep, res = await s.wait_for("a reservation for a rep", s.reservation)
    await s.settle("handoff")
    await s.http.post(f"/_sandbox/reps/{rep}/reservations/{res['reservation_sid']}/accept")
    await s.settle("rep accepts")
    conversation_sid = res.get("conversation_sid") or (await s.state()).get("conversation_sid")
    for i in range(rep_replies):
        body = f"Rep reply {i + 1}: happy to help."
        await s.http.post(f"/_sandbox/reps/{rep}/messages", json={"conversation_sid": conversation_sid, "body": body})
        await s.wait_for("the rep reply reaching the contact", lambda b=body: s.inbox_count(b))
        await s.settle("rep reply relayed")
    await s.http.post(f"/_sandbox/reps/{rep}/tasks/{res['task_sid']}/complete")
    await s.settle("rep completes the task")
    return s
