"""End to end (dev server, sandbox, worker, API), judged from the sandbox's record: a contact waiting for a rep
is told their place in the queue and the expected wait, computed from TaskRouter's own data — at the handoff,
then every `every_seconds`, at most `max_updates` times, never once a rep has accepted, never outside the
24-hour window. The reps are offline meanwhile, so the tasks wait in the queue (pending) as they do when every
rep is busy."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from cli.connect import client_for
from cli.sandbox_setup import SANDBOX_ORG
from tests.e2e.conftest import Stack, stack_with
from tests.e2e.steps import (
    Entry,
    flex_notices,
    offered,
    rep_activity,
    reps_away,
    says,
    says_late,
    sent_to,
    to_the_humans,
    wall,
)
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

EVERY = 4  # seconds between updates (the org's `queue_updates.every_seconds`)
MAX_UPDATES = 4
SLA = 30  # the queue SLA: its notice in Flex marks a time well past every update that could still come
UPDATE = re.compile(r"^You are number (\d+) in line\.")
# A timer fires a little after its time and the send follows: the gap between two updates may grow by this.
SLACK = timedelta(seconds=6)


queue = stack_with(
    {
        "queue_updates": {"every_seconds": EVERY, "max_updates": MAX_UPDATES},
        "queue_sla_seconds": SLA,
    },
    name="queue",
)


async def updates(conv: Conversation) -> list[Entry]:
    """The queue updates the service sent this contact, in order (`messaging.created`, whatever their fate)."""
    return [e for e in await sent_to(conv) if UPDATE.match(str(e.get("body") or ""))]


def positions(entries: list[Entry]) -> list[int]:
    return [int(UPDATE.match(str(e["body"])).group(1)) for e in entries]  # type: ignore[union-attr]


async def wait_updates(conv: Conversation, count: int) -> list[Entry]:
    return await eventually(
        f"{count} queue update(s) for {conv.contact}", lambda: updates(conv), lambda u: len(u) >= count
    )


async def sla_notice(conv: Conversation, conversation_sid: str) -> None:
    await eventually(
        "the queue SLA notice in Flex", lambda: flex_notices(conv, conversation_sid, "queue_stuck"), within=SLA + 30
    )


async def chat_capacity(stack: Stack, rep: str, capacity: int) -> None:
    org = stack.orgs.get(SANDBOX_ORG)
    assert org is not None
    worker_sid = next(r.worker_sid for r in stack.seed.reps if r.name == rep)

    def update() -> None:
        worker = client_for(org).taskrouter.v1.workspaces(stack.seed.workspace_sid).workers(worker_sid)
        for channel in worker.worker_channels.list():
            if channel.task_channel_unique_name == stack.seed.task_channel:
                worker.worker_channels(channel.sid).update(capacity=capacity)

    await asyncio.to_thread(update)


async def test_updates_come_every_interval_up_to_the_maximum_and_stop_when_a_rep_accepts(queue: Stack) -> None:
    first, second = Conversation(queue), Conversation(queue)
    async with reps_away(queue):
        for conv in (first, second):
            await says(conv, "Hi! What are your opening hours?")
            await conv.wait_delivered(1)
        one = await to_the_humans(first)
        await wait_updates(first, 1)
        two = await to_the_humans(second)
        await wait_updates(second, 1)

        # One rep comes back with room for one chat: TaskRouter offers her the oldest task, the first contact's.
        rep = queue.seed.reps[0].name
        await chat_capacity(queue, rep, 1)
        try:
            await rep_activity(queue, rep, "Available")
            name, reservation = await offered(first, one["human_task_sid"])
            await first.post(f"/_sandbox/reps/{name}/reservations/{reservation['reservation_sid']}/accept")
            accepted = (await first.wait_state("with_rep"))["state"]
            await wait_updates(second, MAX_UPDATES)
            await sla_notice(second, two["conversation_sid"])  # long past any further update of either
        finally:
            await chat_capacity(queue, rep, 50)

    seen_by_first, seen_by_second = await updates(first), await updates(second)
    # The first contact: told at once and while waiting, never after the rep accepted.
    assert 1 <= len(seen_by_first) < MAX_UPDATES, seen_by_first  # fewer than the maximum: the acceptance cut them
    accepted_at = datetime.fromisoformat(accepted["rep_accepted_at"])
    assert all(wall(e) <= accepted_at for e in seen_by_first), (accepted_at, seen_by_first)
    assert set(positions(seen_by_first)) == {1}
    # The second contact: exactly the maximum, one interval apart, moving up once the first left the queue.
    assert len(seen_by_second) == MAX_UPDATES
    gaps = [wall(b) - wall(a) for a, b in pairwise(seen_by_second)]
    assert all(
        timedelta(seconds=EVERY) - timedelta(milliseconds=200) <= g <= timedelta(seconds=EVERY) + SLACK for g in gaps
    ), gaps
    assert positions(seen_by_second)[0] == 2 and positions(seen_by_second)[-1] == 1, positions(seen_by_second)
    assert positions(seen_by_second) == sorted(positions(seen_by_second), reverse=True)
    # Each reached the contact's WhatsApp once, and nothing about the queue went into Flex as if from the contact.
    for conv in (first, second):
        delivered = [m["body"] for m in await conv.delivered() if UPDATE.match(m["body"] or "")]
        assert len(delivered) == len(await updates(conv))


async def test_no_update_once_the_window_has_closed(queue: Stack) -> None:
    """The dev server runs in real time, so the contact's 24-hour window is made to close 10 s from now honestly:
    their message reaches the service stamped 24 h − 10 s ago (as a late webhook would; WhatsApp measures the
    window from the sending, and `rules/window.py` takes a past timestamp as it is). Updates every 4 s fit at
    most three times before the close; the queue SLA's notice, 30 s after the handoff, marks a time by which a
    fourth would have gone out."""
    conv = Conversation(queue)
    async with reps_away(queue):
        closes = datetime.now(UTC) + timedelta(seconds=10)
        await says_late(conv, "Hi, I want to talk to a human agent, please.", closes - timedelta(hours=24))
        queued = (await conv.wait_state("queued"))["state"]
        assert datetime.fromisoformat(queued["window_expires_at"]) == closes
        await wait_updates(conv, 1)
        await sla_notice(conv, queued["conversation_sid"])
        state: dict[str, Any] = (await conv.state())["state"]
    seen = await updates(conv)
    assert 1 <= len(seen) < MAX_UPDATES, seen
    # Each was decided inside the window; its send follows the decision by at most a moment.
    assert all(wall(e) <= closes + timedelta(seconds=1) for e in seen), (closes, [e["wall"] for e in seen])
    assert state["queue_updates_sent"] == len(seen) and not state["window_open"]
