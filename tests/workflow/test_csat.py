"""The rating asked when a rep's session ends: buttons inside the window, a template outside, nothing when off;
the answer recorded once (a duplicate changes nothing), noted in Flex; anything else goes to the AI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.policy import Csat
from contracts.signals import ContactMessage
from contracts.views import ConversationView
from tests.workflow.harness import Conv

QUICK = "HX" + "c" * 32
TEMPLATE = "HX" + "d" * 32
ON = Csat(enabled=True, quick_reply_content_sid=QUICK, template_content_sid=TEMPLATE)


async def rep_session_ends(conv: Conv, **policy: Any) -> ConversationView:
    view = await conv.to_with_rep(**policy)
    assert view.session_id and view.conversation_sid
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "the rep's session ends")
    return view


def rating_questions(conv: Conv) -> list[str | None]:
    return [s.content_sid for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("csat:")]


async def test_buttons_inside_the_window_and_the_tapped_answer_recorded_once(conv: Conv) -> None:
    ended = await rep_session_ends(conv, csat=ON)
    await conv.until_calls("send_whatsapp", 3)
    assert rating_questions(conv) == [QUICK]
    answer = await conv.contact_msg("SM8", "Great", profile="Ana")
    answer_with_button = ContactMessage(**{**answer.model_dump(), "message_sid": "SM9", "button_payload": "csat_4"})
    await conv.signal("contact_message", answer_with_button)
    await conv.signal("contact_message", answer_with_button)  # Twilio retried the webhook
    view = await conv.until(lambda v: len(v.ratings) == 1, "the rating")
    view = await conv.quiet()
    assert [(r.score, r.via, r.session_number) for r in view.ratings] == [(4, "button", 1)]
    [note] = [p for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "csat"]
    assert note.conversation_sid == ended.conversation_sid and "rated this conversation 4/5" in (note.body or "")
    thanks = [s.body for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("csat-thanks:")]
    assert thanks == ["Thank you for your rating!"]
    # "Great" before the button was not a rating: it went to the AI (a new session); the button did not.
    assert view.session_number == 2 and view.duplicates_ignored >= 1
    assert (await conv.search_attributes())["CsatScore"] == 4


async def test_a_typed_digit_is_a_rating_and_opens_no_session(conv: Conv) -> None:
    await rep_session_ends(conv, csat=ON)
    await conv.until_calls("send_whatsapp", 3)
    await conv.contact_msg("SM8", "5")
    view = await conv.until(lambda v: len(v.ratings) == 1, "the rating")
    view = await conv.quiet()
    assert [(r.score, r.via) for r in view.ratings] == [(5, "typed")]
    assert view.session_number == 1 and view.session_id is None


async def test_after_the_window_the_question_is_the_approved_template(conv: Conv) -> None:
    view = await conv.to_with_rep(csat=ON)
    assert view.session_id
    await conv.skip(timedelta(hours=25))
    await conv.until(lambda v: not v.window_open, "the window closed")
    await conv.tr("task.completed", "WThuman", session=view.session_id)
    await conv.until(lambda v: v.sessions_ended == 1, "the rep's session ends")
    await conv.until(lambda v: bool(rating_questions(conv)), "the question")
    assert rating_questions(conv) == [TEMPLATE]


async def test_nothing_is_asked_when_the_org_turned_it_off(conv: Conv) -> None:
    await rep_session_ends(conv)
    await conv.contact_msg("SM8", "4")
    view = await conv.until(lambda v: v.session_number == 2, "the digit opened a session for the AI")
    assert rating_questions(conv) == [] and view.ratings == []
