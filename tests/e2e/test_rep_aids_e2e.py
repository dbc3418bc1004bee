"""End to end (dev server, sandbox, worker, API), judged from the sandbox's record: the contact sees WhatsApp's
typing indicator before each AI reply (once per message, and it marks their message read); the rep holding the
conversation is warned in Flex before the 24-hour window closes and again when it closes, and neither notice
ever reaches the contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import Stack, stack_with
from tests.e2e.steps import flex_notices, record, rep_accepts, rep_says, says, says_late, sent_to, wall
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WARNING_MINUTES = 1
# The workflow's timers fire a little after their time, and the notice is then posted: this much later is fine.
LATENESS = timedelta(seconds=15)


aids = stack_with({"window_warning_minutes": WARNING_MINUTES}, name="aids")


async def test_the_typing_indicator_shows_before_each_ai_reply_once_per_message(aids: Stack) -> None:
    conv = Conversation(aids)
    first = await says(conv, "Hi! What are your opening hours?")
    await conv.wait_delivered(1)
    second = await says(conv, "How long does shipping take?")
    replies = await conv.wait_delivered(2)

    typing = [e for e in await record(conv, "whatsapp.typing") if e["contact"] == conv.contact]
    assert [e["message_sid"] for e in typing] == [first, second]  # one per message, each its own
    assert all(e["api"] == "v2" and e["window_open"] for e in typing)
    created = {e["message_sid"]: e for e in await sent_to(conv)}
    for shown, reply in zip(typing, replies, strict=True):
        assert shown["seq"] < created[reply["sid"]]["seq"], "the indicator came after the reply"
    phone = await conv.get(f"/_sandbox/contacts/{conv.contact}/typing")
    assert {first, second} <= set(phone["read_inbound"])  # the indicator marked them read
    [chat] = phone["chats"]
    assert (chat["message_sid"], chat["ended_by"], chat["reply_sid"]) == (second, "reply", replies[1]["sid"])


async def test_the_rep_is_warned_before_the_window_closes_and_when_it_does_never_the_contact(aids: Stack) -> None:
    """The dev server runs in real time, so the window is made to close two minutes from now honestly: the
    contact's message reaches the service stamped 24 h − 2 min ago (as a late webhook would; WhatsApp measures the
    window from the sending, and `rules/window.py` takes a past timestamp as it is). With
    `window_warning_minutes = 1` the warning is due one minute from now, the close two."""
    conv = Conversation(aids)
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    await says_late(conv, "Hi, I want to talk to a human agent, please.", closes - timedelta(hours=24))
    queued = (await conv.wait_state("queued"))["state"]
    assert datetime.fromisoformat(queued["window_expires_at"]) == closes
    rep = await rep_accepts(conv, queued["human_task_sid"])
    csid = queued["conversation_sid"]
    assert await flex_notices(conv, csid, "window_closing") == []  # not before its time

    async def notices(kind: str) -> list[dict[str, object]]:
        return await flex_notices(conv, csid, kind)

    [warning] = await eventually("the window warning in Flex", lambda: notices("window_closing"), within=150)
    assert f"closes at {closes.strftime('%Y-%m-%dT%H:%M:%SZ')}" in str(warning["body"])
    assert "/template" in str(warning["body"]) and "order_update" in str(warning["body"])
    [closed] = await eventually("the window-closed notice in Flex", lambda: notices("window_closed"), within=150)
    await rep_says(conv, rep, csid, "Are you still there?")  # after the close: refused, with a notice
    await eventually("the refusal notice", lambda: notices("reply_refused"))

    posted = {e["message_sid"]: wall(e) for e in await record(conv, "conversation.message")}
    warned_at, closed_at = posted[str(warning["sid"])], posted[str(closed["sid"])]
    due = closes - timedelta(minutes=WARNING_MINUTES)
    assert due <= warned_at <= due + LATENESS, (warned_at, due)
    assert closes <= closed_at <= closes + LATENESS, (closed_at, closes)
    assert len(await notices("window_closing")) == 1 and len(await notices("window_closed")) == 1

    # Nothing of it reached the contact: not the notices, not the late reply (the sandbox's own window is open,
    # so anything sent would have been delivered).
    bodies = [str(e.get("body")) for e in await sent_to(conv)]
    assert not [b for b in bodies if "window" in b or b == "Are you still there?"], bodies
