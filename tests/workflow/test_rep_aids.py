"""What the rep gets: the window warning ahead of its close, transfers that keep context, one WhatsApp message
for a text with an attachment; and what the AI gets back: the typing indicator while it composes, the reps' part
when the conversation returns to it."""

from __future__ import annotations

from datetime import timedelta

from contracts.signals import ConversationMediaRef
from tests.polling import eventually
from tests.workflow.fakes import task_seen
from tests.workflow.harness import Conv

MIB = 1024 * 1024


def notices_of(conv: Conv, kind: str) -> list[str]:
    return [p.body or "" for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == kind]


async def test_the_rep_is_warned_an_hour_before_the_window_closes_and_again_at_the_close(conv: Conv) -> None:
    view = await conv.to_with_rep(window_warning_minutes=60)
    assert view.window_expires_at is not None
    closes = view.window_expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    await conv.skip(view.window_expires_at - await conv.now() - timedelta(minutes=61))
    await conv.quiet()
    assert notices_of(conv, "window_closing") == []
    await conv.skip(timedelta(minutes=2))
    [warning] = await _eventually_notices(conv, "window_closing", 1)
    assert f"closes at {closes}" in warning and "/template" in warning and "order_update" in warning
    await conv.skip(timedelta(hours=1))
    await _eventually_notices(conv, "window_closed", 1)
    assert len(notices_of(conv, "window_closing")) == 1
    # Never to the contact (the fixture checks every scenario for leaked notices too).
    assert not [s for s in conv.fake.of("send_whatsapp") if "window" in (s.body or "")]


async def test_a_contact_message_moves_the_warning_with_the_window(conv: Conv) -> None:
    view = await conv.to_with_rep(window_warning_minutes=60)
    assert view.window_expires_at is not None
    await conv.skip(timedelta(hours=2))
    await conv.contact_msg("SM9", "one more question")
    moved = await conv.until(lambda v: v.window_expires_at != view.window_expires_at, "the window extended")
    assert moved.window_expires_at is not None
    await conv.skip(view.window_expires_at - await conv.now() - timedelta(minutes=30))
    await conv.quiet()
    assert notices_of(conv, "window_closing") == []  # the old deadline's warning time passed: no warning
    await conv.skip(moved.window_expires_at - await conv.now() - timedelta(minutes=59))
    [warning] = await _eventually_notices(conv, "window_closing", 1)
    assert moved.window_expires_at.strftime("%H:%M:%S") in warning


async def test_a_transfer_follows_the_new_rep_and_brings_the_context(conv: Conv) -> None:
    view = await conv.to_with_rep()
    sess, ch = view.session_id, view.conversation_sid
    assert sess and ch
    await conv.rep_says(ch, "Hi, I'm Alice. Your order ships tomorrow.", "IMa1")
    await conv.until_calls("send_whatsapp", 3)
    # Flex's transfer: a new task of this session offered to bob; then alice's task completes.
    await conv.tr(
        "reservation.created",
        "WThuman2",
        reservation="WRbob",
        worker_sid="WKbob",
        worker_name="bob",
        session=sess,
        queue="WQbilling",
    )
    moved = await conv.until(lambda v: v.human_task_sid == "WThuman2", "following the new task")
    assert (moved.state, moved.transfers, moved.queue_sid, moved.rep_worker_sid) == ("queued", 1, "WQbilling", None)
    [note] = [p for p in conv.fake.of("post_to_flex") if p.idempotency_id.startswith("transfer-note:")]
    assert note.author == "system" and "Handoff from the AI agent" in (note.body or "")
    assert "Since the handoff" in (note.body or "") and "ships tomorrow" in (note.body or "")
    await conv.tr("task.completed", "WThuman", session=sess)
    await conv.tr(
        "reservation.accepted", "WThuman2", reservation="WRbob", worker_sid="WKbob", worker_name="bob", session=sess
    )
    held = await conv.until(lambda v: v.state == "with_rep" and v.rep_worker_sid == "WKbob", "bob holds it")
    assert held.sessions_ended == 0
    desc = await conv.handle.describe()
    assert {p.key.name: p.value for p in desc.typed_search_attributes}["FlexTaskSid"] == "WThuman2"
    await conv.rep_says(ch, "Bob here, taking over.", "IMb1")
    await conv.rep_says(ch, "Bob here, taking over.", "IMb1")  # a retried webhook
    await conv.until_calls("send_whatsapp", 4)
    await conv.quiet()
    relayed = [s.body for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("rep:")]
    assert relayed == ["Hi, I'm Alice. Your order ships tomorrow.", "Bob here, taking over."]
    await conv.tr("task.completed", "WThuman2", session=sess)
    await conv.until(lambda v: v.sessions_ended == 1, "the session ends with bob's task")


async def test_a_transfer_whose_old_task_ends_first_is_still_followed(conv: Conv) -> None:
    view = await conv.to_with_rep()
    sess = view.session_id
    assert sess
    conv.fake.fetch_results = [task_seen("WThuman2", "pending", "WQhuman")]
    await conv.tr("task.completed", "WThuman", session=sess)  # the new task's events are late
    moved = await conv.until(lambda v: v.human_task_sid == "WThuman2", "the newer task found")
    assert moved.state == "queued" and moved.sessions_ended == 0
    [read] = conv.fake.of("fetch_task")
    assert read.human_task_of_session == sess


async def test_a_reps_text_with_an_image_is_one_whatsapp_message(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.conversation_sid
    before = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(
        view.conversation_sid,
        "Here is your invoice",
        "IMcap",
        media=[
            ConversationMediaRef(sid="MEaudio", content_type="audio/ogg", filename="note.ogg", size=MIB),
            ConversationMediaRef(sid="MEpdf", content_type="application/pdf", filename="invoice.pdf", size=MIB),
        ],
    )
    await conv.until_calls("send_whatsapp", before + 2)
    await conv.quiet()
    sends = conv.fake.of("send_whatsapp")[before:]
    assert [(s.body, s.media_url.rsplit("/", 1)[-1] if s.media_url else None) for s in sends] == [
        (None, "MEaudio"),  # audio takes no caption
        ("Here is your invoice", "MEpdf"),  # the text rides on the document
    ]


async def test_the_typing_indicator_shows_once_per_message_before_the_ai_answers(conv: Conv) -> None:
    await conv.to_first_ai_reply("SM1", "hello")
    await conv.contact_msg("SM2", "and another")
    await conv.until_calls("send_whatsapp", 2)
    names = conv.fake.names()
    assert conv.fake.of("show_typing") == ["SM1", "SM2"]
    assert names.index("show_typing") < names.index("ai_turn")


async def test_the_ai_gets_the_reps_part_when_the_conversation_comes_back(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.conversation_sid and view.session_id
    await conv.rep_says(view.conversation_sid, "Your refund of 20 EUR is approved.", "IMr1")
    await conv.until_calls("send_whatsapp", 3)
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "the rep's session ends")
    await conv.contact_msg("SM9", "when will I get it?")
    await conv.until(lambda v: v.task_sid == "WT2", "a new session")
    await conv.ai_offer(conv.session_id("SM9"), task="WT2", reservation="WR2")
    await conv.until_calls("send_whatsapp", 4)
    turn = conv.fake.of("ai_turn")[-1]
    assert turn.handback is not None and turn.handback.rep_said == ["Your refund of 20 EUR is approved."]


async def _eventually_notices(conv: Conv, kind: str, count: int) -> list[str]:
    async def posted() -> list[str]:
        return notices_of(conv, kind)

    return await eventually(f"{count} {kind} notice(s)", posted, lambda got: len(got) >= count)


async def test_the_warning_comes_as_many_minutes_ahead_as_the_org_says(conv: Conv) -> None:
    view = await conv.to_with_rep(window_warning_minutes=15)
    assert view.window_expires_at is not None
    await conv.skip(view.window_expires_at - await conv.now() - timedelta(minutes=16))
    await conv.quiet()
    assert notices_of(conv, "window_closing") == []
    await conv.skip(timedelta(minutes=2))
    [warning] = await _eventually_notices(conv, "window_closing", 1)
    assert "(in 14 minutes)" in warning or "(in 15 minutes)" in warning


async def test_a_rep_taking_over_with_less_than_the_warning_left_is_warned_at_once(conv: Conv) -> None:
    # The contact's messages date from 23 h 30 min ago (a late webhook): the window closes in 30 minutes.
    old = await conv.now() - timedelta(hours=23, minutes=30)
    sess = conv.session_id("SM1")
    await conv.contact_msg("SM1", "hi", start=conv.start_input(window_warning_minutes=60), received_at=old)
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(sess)
    await conv.until_calls("send_whatsapp", 1)
    await conv.contact_msg("SM1b", "I want a human please", received_at=old)
    await conv.until(lambda v: v.state == "queued", "queued")
    assert notices_of(conv, "window_closing") == []  # no rep holds it yet
    await conv.rep_accepts(sess, "WThuman")
    [warning] = await _eventually_notices(conv, "window_closing", 1)
    assert "(in 30 minutes)" in warning or "(in 29 minutes)" in warning
    await conv.skip(timedelta(minutes=31))
    await _eventually_notices(conv, "window_closed", 1)
    assert len(notices_of(conv, "window_closing")) == 1


async def test_no_warning_while_the_ai_holds_the_conversation(conv: Conv) -> None:
    await conv.to_first_ai_reply("SM1", "hello", window_warning_minutes=60)
    await conv.skip(timedelta(hours=25))
    view = await conv.quiet()
    assert not view.window_open and view.state == "ai"
    assert notices_of(conv, "window_closing") == [] and notices_of(conv, "window_closed") == []
