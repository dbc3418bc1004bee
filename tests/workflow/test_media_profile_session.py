"""Contact media, the profile name, session end and delivery failures, idle close."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError

from contracts.signals import InboundMedia
from contracts.views import ConversationView
from tests.workflow.harness import Conv


async def test_contact_media_copied_one_per_message_and_refusals_told(conv: Conv) -> None:
    conv.fake.refuse_media_urls = {"https://api.twilio.com/media/huge"}
    await conv.contact_msg(
        "MM1",
        "see attached",
        start=conv.start_input(),
        media=[
            InboundMedia(url="https://api.twilio.com/media/ok", content_type="image/jpeg"),
            InboundMedia(url="https://api.twilio.com/media/huge", content_type="video/mp4"),
            InboundMedia(url="https://api.twilio.com/media/zip", content_type="application/zip"),
        ],
    )
    view = await conv.until(lambda v: v.task_sid is not None, "task")
    fake = conv.fake
    # The unsupported type is refused before any download; the oversize one by the copying activity.
    assert [c.media_url for c in fake.of("copy_contact_media_to_flex")] == [
        "https://api.twilio.com/media/ok",
        "https://api.twilio.com/media/huge",
    ]
    contact_posts = [p for p in fake.of("post_to_flex") if p.author == f"whatsapp:{conv.contact}"]
    assert [(p.body, p.media_sid is not None, p.idempotency_id) for p in contact_posts] == [
        ("see attached", False, "contact:MM1"),
        (None, True, "contact:MM1:media:0"),
    ]
    flex_notes = [p.body for p in fake.of("post_to_flex") if p.attributes.get("waHandoffNotice")]
    assert len(flex_notes) == 2 and any("video/mp4" in n and "16.0 MB" in n for n in flex_notes)
    to_contact = [s.body for s in fake.of("send_whatsapp")]
    assert len(to_contact) == 2 and all(b and b.startswith("Sorry, we could not receive") for b in to_contact)
    assert any("application/zip" in (b or "") for b in to_contact)
    # Contact media is all posted before the task exists: the rep inherits the whole thread.
    names = fake.names()
    assert names.index("create_interaction") > max(i for i, n in enumerate(names) if n == "post_to_flex")
    assert view.state == "ai"


async def test_task_keeps_its_name_and_the_next_task_takes_the_new_one(conv: Conv) -> None:
    await conv.to_with_rep()
    await conv.contact_msg("SM3", "btw", profile="Ana Maria")
    await conv.until(lambda v: v.profile_name == "Ana Maria", "profile updated")
    view = await conv.view()
    assert view.profile_name_of_task == "Ana"
    assert len(conv.fake.of("create_interaction")) == 1
    assert view.session_id is not None
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "session end")
    await conv.contact_msg("SM4", "hello again", profile="Ana Maria")
    view = await conv.until(lambda v: v.task_sid == "WT2", "second task")
    creates = conv.fake.of("create_interaction")
    assert creates[0].task_attributes["name"] == "Ana"
    assert creates[1].task_attributes["name"] == "Ana Maria" == creates[1].task_attributes["customerName"]
    opens = conv.fake.of("open_flex_conversation")
    assert opens[1].contact_friendly_name == "Ana Maria"
    assert opens[0].unique_name != opens[1].unique_name
    assert view.session_number == 2 and view.state == "ai"


async def test_rep_task_end_ends_session_and_ai_answers_next_message(conv: Conv) -> None:
    view = await conv.to_with_rep()
    sess = view.session_id
    assert sess is not None
    # Rep reservation wrap-up is a session end (task.completed follows and is ignored: no session).
    await conv.tr(
        "reservation.wrapup", "WThuman", reservation="WRrep", worker_sid="WKalice", worker_name="alice", session=sess
    )
    view = await conv.until(lambda v: v.sessions_ended == 1, "session end")
    assert view.state == "ai" and view.session_id is None
    await conv.tr("task.completed", "WThuman", session=sess)
    turns_before = len(conv.fake.of("ai_turn"))
    await conv.contact_msg("SM9", "one more question")
    sess2 = conv.session_id("SM9")
    await conv.until(lambda v: v.task_sid == "WT2", "new task")
    await conv.ai_offer(sess2, task="WT2", reservation="WR2")
    await conv.until_calls("ai_turn", turns_before + 1)
    await conv.until_calls("send_whatsapp", 3)
    view = await conv.view()
    assert view.sessions_ended == 1 and view.session_number == 2 and view.state == "ai"
    assert conv.fake.of("send_whatsapp")[-1].body == "AI: one more question"


async def test_63016_becomes_a_notice_and_closes_the_window(conv: Conv) -> None:
    view = await conv.to_with_rep()
    ch = view.conversation_sid
    assert ch is not None
    await conv.rep_says(ch, "hello from Alice", "IMrep1")
    await conv.until_calls("send_whatsapp", 3)
    sent_sid = "SMout3"
    await conv.status(sent_sid, "sent")
    await conv.status(sent_sid, "undelivered", 63016)
    await conv.status(sent_sid, "undelivered", 63016)  # duplicate callback
    view = await conv.until(lambda v: len(v.delivery_failures) == 1, "delivery failure")
    assert not view.window_open
    failure = view.delivery_failures[0]
    assert failure.error_code == 63016 and failure.what == "rep reply"
    notice = [p.body for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "delivery_failed"]
    assert len(notice) == 1 and "63016" in (notice[0] or "")
    before = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(ch, "again?", "IMrep2")
    await conv.until(lambda v: any("Not sent" in n for n in v.notices), "refused after 63016")
    assert len(conv.fake.of("send_whatsapp")) == before


async def test_other_delivery_failures_keep_the_window(conv: Conv) -> None:
    view = await conv.to_with_rep()
    for i, code in enumerate((63018, 63019, 63021)):
        await conv.status(f"SMx{i}", "failed", code)
    view = await conv.until(lambda v: len(v.delivery_failures) == 3, "three failures")
    assert view.window_open
    assert [f.error_code for f in view.delivery_failures] == [63018, 63019, 63021]
    assert sum("not delivered" in n for n in view.notices) == 3


async def test_workflow_completes_when_idle_with_no_session_and_window_closed(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.session_id is not None
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "session end")
    await conv.skip(timedelta(days=6, hours=23))
    await conv.quiet()
    assert await last_event_type(conv) != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    await conv.skip(timedelta(days=1, hours=2))  # window (24 h) + the 7-day quiet period have passed
    handle = conv.client.get_workflow_handle(conv.workflow_id, result_type=ConversationView)
    result = await handle.result()
    assert result.state == "closed" and result.session_id is None and not result.window_open


async def test_no_idle_close_while_a_session_is_open(conv: Conv) -> None:
    await conv.begin("SM1", "hi", idle_close_seconds=3600)
    await conv.until(lambda v: v.task_sid is not None, "task")
    # The first message is answered while the session opens; the AI was never offered the task, so the next
    # one waits unanswered and holds the session (and the workflow) open until the window closes, well past
    # the quiet period and the idle close.
    await conv.contact_msg("SM2", "hello?")
    await conv.skip(timedelta(hours=23))
    await conv.quiet()
    assert await last_event_type(conv) != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    view = await conv.view()
    assert view.state == "ai" and view.session_id is not None
    assert conv.fake.of("release_ai_task") == []
    # Then the session ends (the AI's task released) and the workflow idle-closes after the closed window.
    await conv.skip(timedelta(hours=2, minutes=1))
    await conv.until(lambda v: v.sessions_ended == 1, "session ended at the window's close")
    assert len(conv.fake.of("release_ai_task")) == 1


async def last_event_type(conv: Conv) -> int:
    last = 0
    async for event in conv.handle.fetch_history_events():
        last = event.event_type
    return last


async def test_a_failed_status_read_back_is_tried_again_not_counted_as_a_look(conv: Conv) -> None:
    """Twilio failing two whole read-backs (3 attempts each) must not end the tracking of the send (two looks is
    the limit): the third check still finds the failure its lost callback never reported."""
    conv.fake.message_statuses["SMout1"] = ("undelivered", 63019)
    down = ApplicationError("Twilio 503", type="TwilioRetryableError")
    conv.fake.fail["fetch_message_statuses"] = [down] * 6
    await conv.to_first_ai_reply("SM1", "hello")
    await conv.skip(timedelta(minutes=11))
    await conv.until_calls("fetch_message_statuses", 3)
    view = await conv.until(lambda v: "reading delivery statuses failed" in (v.last_error or ""), "failure noted")
    assert view.delivery_failures == []
    await conv.skip(timedelta(minutes=61))  # the re-check, one period × DELIVERY_RECHECK_FACTOR later
    await conv.until_calls("fetch_message_statuses", 6)
    await conv.skip(timedelta(minutes=61))
    view = await conv.until(lambda v: len(v.delivery_failures) == 1, "failure read back on the third check")
    assert view.delivery_failures[0].error_code == 63019
