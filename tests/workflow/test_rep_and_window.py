"""The rep phase, the 24-hour window (one lazily re-armed timer) and rep-side media."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.signals import ConversationMediaRef
from tests.workflow.harness import TEMPLATES, Conv

MIB = 1024 * 1024


async def window_timers(conv: Conv) -> list[timedelta]:
    """Durations of the timers whose summary names the 24h window, from the workflow's history."""
    out: list[timedelta] = []
    async for event in conv.handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_TIMER_STARTED:
            continue
        summary = ""
        if event.user_metadata.HasField("summary"):
            summary = str(pydantic_data_converter.payload_converter.from_payload(event.user_metadata.summary, str))
        if "window" in summary:
            out.append(event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta())
    return out


async def test_rep_reply_inside_window_is_relayed_exactly_once(conv: Conv) -> None:
    view = await conv.to_with_rep()
    ch = view.conversation_sid
    assert ch is not None
    before = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(ch, "Hi, I am Alice", "IMrep1")
    await conv.rep_says(ch, "Hi, I am Alice", "IMrep1")  # the webhook retried
    # Our own posts echoed back by Conversations are never relayed.
    await conv.rep_says(ch, "echo", "IMown1", author=f"whatsapp:{conv.contact}")
    await conv.rep_says(ch, "note", "IMown2", author="system")
    await conv.rep_says(ch, "ai", "IMown3", author="AI Support Agent")
    await conv.rep_says(ch, "tagged", "IMown4", attributes={"waHandoffId": "x"})
    await conv.until_calls("send_whatsapp", before + 1)
    await conv.quiet()
    sends = conv.fake.of("send_whatsapp")[before:]
    assert [(s.body, s.idempotency_id) for s in sends] == [("Hi, I am Alice", "rep:IMrep1")]
    assert (await conv.view()).duplicates_ignored >= 1


async def test_rep_media_checked_before_relay(conv: Conv) -> None:
    view = await conv.to_with_rep()
    ch = view.conversation_sid
    assert ch is not None
    before = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(
        ch,
        None,
        "IMmedia",
        media=[
            ConversationMediaRef(sid="MEok", content_type="application/pdf", filename="invoice.pdf", size=MIB),
            ConversationMediaRef(sid="MEbig", content_type="image/jpeg", filename="photo.jpg", size=6 * MIB),
            ConversationMediaRef(sid="MEzip", content_type="application/zip", filename="x.zip", size=10),
        ],
    )
    view = await conv.until(lambda v: len(v.notices) >= 2, "media notices")
    await conv.quiet()
    sends = conv.fake.of("send_whatsapp")[before:]
    assert [s.media_url for s in sends] == ["https://mcs.us1.twilio.com/v1/Services/IS1/Media/MEok"]
    assert any("photo.jpg" in n and "5.0 MB" in n for n in view.notices)
    assert any("x.zip" in n and "application/zip" in n for n in view.notices)
    flex_notices = [p.body for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice")]
    assert len(flex_notices) == 2


async def test_outside_window_reply_refused_and_template_sent(conv: Conv) -> None:
    view = await conv.to_with_rep()
    ch = view.conversation_sid
    assert ch is not None and view.window_expires_at is not None
    await conv.skip(timedelta(hours=25))
    view = await conv.until(lambda v: not v.window_open and len(v.notices) >= 1, "window closed notice")
    closed = view.window_expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    assert any("window closed at " + closed in n for n in view.notices)
    before = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(ch, "Are you still there?", "IMlate")
    view = await conv.until(lambda v: any("Not sent" in n for n in v.notices), "refusal notice")
    refusal = next(n for n in view.notices if "Not sent" in n)
    assert closed in refusal and "/template" in refusal and "order_update" in refusal
    await conv.rep_says(ch, "/template order_update Ana 42", "IMtpl")
    await conv.rep_says(ch, "/template nope", "IMtpl2")
    await conv.rep_says(ch, "/template", "IMtpl3")
    view = await conv.until(lambda v: sum("Template not sent" in n for n in v.notices) == 2, "template notices")
    await conv.template("api-1", "welcome_back", [])
    await conv.until_calls("send_whatsapp", before + 2)
    await conv.quiet()
    sends = conv.fake.of("send_whatsapp")[before:]
    assert [(s.content_sid, s.content_variables, s.body) for s in sends] == [
        (TEMPLATES["order_update"], {"1": "Ana", "2": "42"}, None),
        (TEMPLATES["welcome_back"], {}, None),
    ]
    assert any("unknown template 'nope'" in n and "welcome_back" in n for n in view.notices)
    assert any("missing template name" in n for n in view.notices)


async def test_one_window_timer_for_a_burst_of_messages(conv: Conv) -> None:
    t0 = await conv.now()
    await conv.begin("SM1", "a")
    for i in range(2, 12):
        await conv.contact_msg(f"SM{i}", f"m{i}", received_at=t0)
    await conv.until(lambda v: v.events_processed >= 11, "all messages")
    await conv.skip(timedelta(hours=25))
    await conv.until(lambda v: not v.window_open, "window closed")
    timers = await window_timers(conv)
    assert len(timers) == 1, timers
    assert timedelta(hours=23, minutes=59) < timers[0] <= timedelta(hours=24)


async def test_window_timer_is_rearmed_lazily_not_per_message(conv: Conv) -> None:
    await conv.begin("SM1", "a")
    await conv.until(lambda v: v.window_open, "window open")
    for i in range(2, 7):
        await conv.skip(timedelta(hours=1))
        await conv.contact_msg(f"SM{i}", f"m{i}")
    view = await conv.until(lambda v: v.events_processed >= 6, "all messages")
    last_deadline = view.window_expires_at
    await conv.skip(timedelta(hours=24, minutes=5))
    view = await conv.until(lambda v: not v.window_open, "closed")
    assert view.window_expires_at == last_deadline
    timers = await window_timers(conv)
    # 6 messages over 5 hours: the first timer, then one re-arm for the remainder when it fired.
    assert len(timers) == 2, timers
    assert timedelta(hours=4, minutes=55) < timers[1] <= timedelta(hours=5, minutes=5)


async def test_contact_messages_during_rep_phase_go_to_flex_not_to_the_ai(conv: Conv) -> None:
    view = await conv.to_with_rep()
    turns = len(conv.fake.of("ai_turn"))
    deadline_before = view.window_expires_at
    await conv.skip(timedelta(hours=2))
    posts = len(conv.fake.of("post_to_flex"))
    await conv.contact_msg("SM5", "thanks Alice")
    await conv.contact_msg("SM6", "bye")
    await conv.until_calls("post_to_flex", posts + 2)
    view = await conv.until(lambda v: v.window_expires_at != deadline_before, "window extended")
    await conv.quiet()
    last = [(p.author, p.body) for p in conv.fake.of("post_to_flex")[-2:]]
    assert last == [(f"whatsapp:{conv.contact}", "thanks Alice"), (f"whatsapp:{conv.contact}", "bye")]
    assert len(conv.fake.of("ai_turn")) == turns
    assert view.window_expires_at is not None and deadline_before is not None
    assert view.window_expires_at - deadline_before >= timedelta(hours=2)


async def test_rep_accepting_after_the_window_closed_is_told_at_once(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    await conv.to_queued("SM1", "hi", queue_sla_seconds=3 * 24 * 3600)
    await conv.skip(timedelta(hours=25))
    view = await conv.until(lambda v: not v.window_open, "window closed while queued")
    assert view.notices == []  # nobody holds the task yet: nothing to tell
    await conv.rep_accepts(sess, "WThuman")
    view = await conv.until(lambda v: len(v.notices) == 1, "notice on acceptance")
    assert "window closed at" in view.notices[0] and "/template" in view.notices[0]
    await conv.quiet()
    assert len([p for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice")]) == 1
