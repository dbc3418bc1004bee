"""What the waiting contact is told: their place in the queue (count, spacing, never after acceptance, never
outside the window) and, outside business hours, when a person will answer (routed at once, or held)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from contracts.activities import ReadQueuePositionResult
from contracts.policy import WEEKDAYS, BusinessHours, QueueUpdates
from rules import business_hours
from tests.workflow.harness import Conv

UPDATES = QueueUpdates(every_seconds=300, max_updates=3)


def position(n: int, avg: float | None = 120.0, available: int = 1) -> ReadQueuePositionResult:
    return ReadQueuePositionResult(position=n, pending=n, available_workers=available, avg_acceptance_seconds=avg)


def queue_texts(conv: Conv) -> list[str]:
    return [s.body for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("queue-position:")]


async def ask_for_a_human(conv: Conv, **policy: Any) -> None:
    """The contact says hi, the AI answers, and the contact asks for a person."""
    await conv.to_first_ai_reply("SM1", "hi", **policy)
    await conv.contact_msg("SM2", "human please")


async def test_updates_at_handoff_then_every_interval_at_most_max(conv: Conv) -> None:
    conv.fake.queue_positions = [position(3), position(2, avg=None), position(1, avg=30.0, available=2)]
    await conv.to_queued(queue_updates=UPDATES)
    await conv.until(lambda v: v.queue_updates_sent == 1, "the first update")
    assert queue_texts(conv) == ["You are number 3 in line. Expected wait: about 6 minutes."]
    await conv.skip(timedelta(minutes=4, seconds=50))
    view = await conv.quiet()
    assert view.queue_updates_sent == 1  # not before the interval
    await conv.skip(timedelta(seconds=15))
    await conv.until(lambda v: v.queue_updates_sent == 2, "the second update")
    await conv.skip(timedelta(minutes=5, seconds=5))
    await conv.until(lambda v: v.queue_updates_sent == 3, "the third update")
    await conv.skip(timedelta(minutes=20))
    view = await conv.quiet()
    assert view.queue_updates_sent == 3 and len(conv.fake.of("read_queue_position")) == 3
    assert queue_texts(conv) == [
        "You are number 3 in line. Expected wait: about 6 minutes.",
        "You are number 2 in line. A person will be with you as soon as possible.",
        "You are number 1 in line. Expected wait: about 1 minute.",
    ]
    reads = conv.fake.of("read_queue_position")
    assert {r.queue_sid for r in reads} == {"WQhuman"} and {r.task_sid for r in reads} == {"WThuman"}
    # Never on the rep's side, and the static "all busy" message is not sent on top of the updates.
    assert not [p for p in conv.fake.of("post_to_flex") if "in line" in (p.body or "")]
    assert not [s for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("busy:")]


async def test_no_update_once_a_rep_accepted(conv: Conv) -> None:
    await conv.to_queued(queue_updates=UPDATES)
    await conv.until(lambda v: v.queue_updates_sent == 1, "the first update")
    await conv.rep_accepts(conv.session_id("SM1"), "WThuman")
    await conv.until(lambda v: v.state == "with_rep", "with_rep")
    await conv.skip(timedelta(minutes=30))
    await conv.quiet()
    assert len(queue_texts(conv)) == 1


async def test_a_rep_accepting_while_the_position_is_read_stops_that_update(conv: Conv) -> None:
    conv.fake.gates["read_queue_position"] = reading = asyncio.Event()
    await conv.to_queued(queue_updates=UPDATES)
    await conv.until_calls("read_queue_position", 1)
    await conv.rep_accepts(conv.session_id("SM1"), "WThuman")
    reading.set()
    await conv.until(lambda v: v.state == "with_rep", "with_rep")
    await conv.quiet()
    assert queue_texts(conv) == []


async def test_the_interval_counts_from_the_update_sent_not_from_the_read(conv: Conv) -> None:
    # Two failed reads: the first update goes out 3 s (the retries' backoff) after the conversation was queued.
    conv.fake.fail["read_queue_position"] = [ApplicationError("Twilio 503"), ApplicationError("Twilio 503")]
    await conv.to_queued(queue_updates=UPDATES)
    await conv.until(lambda _: len(queue_texts(conv)) == 1, "the first update, after two failed reads")
    await conv.skip(timedelta(seconds=UPDATES.every_seconds - 1))
    await conv.quiet()
    assert len(queue_texts(conv)) == 1, "the second update came less than the interval after the first"
    await conv.skip(timedelta(seconds=2))
    await conv.until(lambda _: len(queue_texts(conv)) == 2, "the second update, one interval after the first")


async def test_a_task_no_longer_pending_gets_no_update(conv: Conv) -> None:
    conv.fake.queue_positions = [ReadQueuePositionResult(position=None, pending=0, available_workers=1)]
    await conv.to_queued(queue_updates=UPDATES)
    await conv.until(lambda v: v.queue_updates_sent == 1, "the first look")
    await conv.quiet()
    assert queue_texts(conv) == []


async def test_no_update_outside_the_window(conv: Conv) -> None:
    now = await conv.now()
    # The contact's messages date from 23 h 52 min ago: the window closes 8 minutes from now.
    old = now - timedelta(hours=23, minutes=52)
    await conv.contact_msg("SM1", "hi", start=conv.start_input(queue_updates=UPDATES), received_at=old)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 1)
    await conv.contact_msg("SM2", "human please", received_at=old)
    await conv.until(lambda v: v.state == "queued", "queued")
    await conv.until(lambda v: v.queue_updates_sent == 1, "the first update")
    await conv.skip(timedelta(minutes=5, seconds=5))
    await conv.until(lambda v: v.queue_updates_sent == 2, "the second update")
    await conv.skip(timedelta(minutes=30))  # the third would be due 10 minutes in: the window closed at 8
    view = await conv.quiet()
    assert not view.window_open and view.queue_updates_sent == 2 and len(queue_texts(conv)) == 2


def closed_now(now: datetime, **kw: Any) -> BusinessHours:
    """Hours that opened an hour before `now` for one hour only, each weekday: closed now, open tomorrow."""
    start = (now - timedelta(hours=2)).strftime("%H:%M")
    end = (now - timedelta(hours=1)).strftime("%H:%M")
    if start > end:  # around midnight: move the span to the morning
        start, end = "08:00", "09:00"
    return BusinessHours(timezone="UTC", weekly={day: [f"{start}-{end}"] for day in WEEKDAYS}, **kw)


async def test_after_hours_the_task_goes_to_the_humans_and_the_contact_learns_when(conv: Conv) -> None:
    hours = closed_now(await conv.now())
    await conv.to_queued(queue_updates=UPDATES, business_hours=hours)
    [told] = [s for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("after-hours:")]
    assert told.body and told.body.startswith("Our team is away right now. A person will answer from ")
    assert "(UTC)" in told.body
    assert len(conv.fake.of("hand_off")) == 1  # routable when reps come online
    await conv.skip(timedelta(minutes=20))
    view = await conv.quiet()
    assert view.queue_updates_sent == 0  # nobody to wait for while reps are away


async def test_held_until_opening_while_the_ai_keeps_answering(conv: Conv) -> None:
    hours = closed_now(await conv.now(), when_closed="hold", ai_answers_while_closed=True)
    await ask_for_a_human(conv, business_hours=hours)
    view = await conv.until(lambda v: v.handoff_held_until is not None, "the handoff held")
    assert view.state == "ai" and conv.fake.of("hand_off") == []
    await conv.contact_msg("SM3", "what are your opening hours?")
    sends = await conv.until_calls("send_whatsapp", 4)  # reply, after-hours notice, the next AI reply
    assert sends[-1].idempotency_id == "ai:SM3"
    assert view.handoff_held_until is not None
    await conv.skip(view.handoff_held_until - await conv.now() + timedelta(seconds=5))
    await conv.until(lambda v: v.state == "queued", "handed off at the opening")
    assert len(conv.fake.of("hand_off")) == 1


async def test_held_without_the_ai_waits_in_handoff_requested(conv: Conv) -> None:
    hours = closed_now(await conv.now(), when_closed="hold", ai_answers_while_closed=False)
    await ask_for_a_human(conv, business_hours=hours)
    view = await conv.until(lambda v: v.state == "handoff_requested", "held")
    await conv.contact_msg("SM3", "hello?")
    await conv.quiet()
    assert [t.new_message_count for t in conv.fake.of("ai_turn")] == [1, 1]  # nothing answered after the ask
    assert view.handoff_held_until is not None
    await conv.skip(view.handoff_held_until - await conv.now() + timedelta(seconds=5))
    await conv.until(lambda v: v.state == "queued", "handed off at the opening")


async def test_updates_follow_the_orgs_own_interval_and_count(conv: Conv) -> None:
    await conv.to_queued(queue_updates=QueueUpdates(every_seconds=120, max_updates=2))
    first = await conv.until(lambda v: v.queue_updates_sent == 1, "the update at the handoff")
    await conv.skip(timedelta(seconds=110))
    assert (await conv.quiet()).queue_updates_sent == 1  # 10 s early: not yet
    await conv.skip(timedelta(seconds=15))
    await conv.until(lambda v: v.queue_updates_sent == 2, "the second update, 2 minutes on")
    await conv.skip(timedelta(minutes=10))
    view = await conv.quiet()
    assert view.queue_updates_sent == 2 and len(queue_texts(conv)) == 2 and first.state == view.state == "queued"


async def test_after_hours_the_first_update_waits_for_the_opening(conv: Conv) -> None:
    hours = closed_now(await conv.now())
    await conv.to_queued(queue_updates=UPDATES, business_hours=hours)
    [told] = [s for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("after-hours:")]
    opening = hours_opening(hours, await conv.now())
    await conv.skip(opening - await conv.now() - timedelta(minutes=1))
    view = await conv.quiet()
    assert view.window_open and view.queue_updates_sent == 0 and queue_texts(conv) == []
    await conv.skip(timedelta(minutes=2))
    await conv.until(lambda v: v.queue_updates_sent == 1, "the first update once reps are back")
    assert queue_texts(conv) == ["You are number 1 in line. Expected wait: about 2 minutes."]
    assert told.body is not None and opening.strftime("%H:%M") in told.body


async def test_a_held_handoff_is_released_at_the_opening_not_before(conv: Conv) -> None:
    hours = closed_now(await conv.now(), when_closed="hold", ai_answers_while_closed=True)
    await ask_for_a_human(conv, business_hours=hours)
    view = await conv.until(lambda v: v.handoff_held_until is not None, "the handoff held")
    assert view.handoff_held_until == hours_opening(hours, await conv.now())
    await conv.skip(view.handoff_held_until - await conv.now() - timedelta(seconds=30))
    held = await conv.quiet()
    assert held.state == "ai" and held.handoff_held_until is not None and conv.fake.of("hand_off") == []
    await conv.skip(timedelta(seconds=31))
    released = await conv.until(lambda v: v.state == "queued", "handed off at the opening")
    assert released.handoff_held_until is None and len(conv.fake.of("hand_off")) == 1


def closing_soon(now: datetime) -> tuple[BusinessHours, datetime]:
    """Hours open now (UTC) that close at a whole minute two to three minutes ahead, and that close."""
    closes = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    weekly: dict[str, list[str]] = {WEEKDAYS[closes.weekday()]: [f"00:00-{closes.strftime('%H:%M')}"]}
    if closes.date() != now.date() or closes.strftime("%H:%M") == "00:00":
        weekly = {WEEKDAYS[now.weekday()]: ["00:00-24:00"]}
        if closes.strftime("%H:%M") != "00:00":
            weekly[WEEKDAYS[closes.weekday()]] = [f"00:00-{closes.strftime('%H:%M')}"]
    return BusinessHours(timezone="UTC", weekly=weekly), closes


async def test_a_handoff_just_before_closing_goes_to_the_humans_as_usual(conv: Conv) -> None:
    hours, closes = closing_soon(await conv.now())
    await conv.to_first_ai_reply("SM1", "hi", business_hours=hours)
    await conv.skip(closes - await conv.now() - timedelta(seconds=20))
    await conv.contact_msg("SM2", "human please")
    await conv.until(lambda v: v.state == "queued", "queued")
    assert not [s for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("after-hours:")]


async def test_a_handoff_at_closing_time_tells_the_contact_when_reps_are_back(conv: Conv) -> None:
    hours, closes = closing_soon(await conv.now())
    await conv.to_first_ai_reply("SM1", "hi", business_hours=hours)
    await conv.skip(closes - await conv.now())
    await conv.contact_msg("SM2", "human please")
    await conv.until(lambda v: v.state == "queued", "queued")
    [told] = [s for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("after-hours:")]
    # Next open a week on, after the window closes: the contact hears the business will follow up.
    assert told.body is not None and "00:00 (UTC)" in told.body and "follow up" in told.body


def hours_opening(hours: BusinessHours, now: datetime) -> datetime:
    opening = business_hours.next_opening(now, hours)
    assert opening is not None and opening > now
    return opening
