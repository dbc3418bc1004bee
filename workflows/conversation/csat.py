"""The rating asked for when a rep's session ends (policy `csat`): quick-reply buttons inside the WhatsApp window,
an approved template outside it, nothing when the org turned it off. The answer (a tapped button or a digit typed)
is recorded once per session: in the state, as the `CsatScore`/`CsatAt` search attributes (the admin API's list
and export), and as a note in the session's Flex conversation for the rep. A reply that is not a rating goes to
the AI as a normal message (and the question lapses)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from contracts.signals import ContactMessage
from rules import notices
from rules import window as window_rules
from rules.csat import SCALE, rating_of
from rules.texts import for_language
from workflows.conversation import metrics
from workflows.conversation.context import Conversation
from workflows.conversation.flex_posts import post_for_reps
from workflows.conversation.whatsapp_sends import send_whatsapp
from workflows.state import MAX_RATINGS, Rating, bounded_append


async def ask(c: Conversation) -> None:
    due = c.s.csat_due
    assert due is not None
    c.s.csat_due = None
    settings = c.policy.csat
    now = workflow.now()
    inside = window_rules.is_open(c.s.window_expires_at, now)
    if inside and settings.quick_reply_content_sid:
        content_sid, via = settings.quick_reply_content_sid, "quick_reply"
    elif settings.template_content_sid:
        content_sid, via = settings.template_content_sid, "template"
    else:
        return  # nothing configured that may reach the contact now
    sent = await send_whatsapp(c, "rating question", f"csat:{c.key}:{due.session_number}", content_sid=content_sid)
    if sent is not None:
        c.s.csat_asked = due.model_copy(update={"asked_at": now, "via": via})


def takes_rating(c: Conversation, msg: ContactMessage) -> bool:
    """The contact's message answers the rating question: recorded (`record` posts the note). Otherwise it goes
    on to the AI; a digit typed later is then no rating any more (it may answer the AI), a tapped button still
    is, until the answer window passes."""
    asked = c.s.csat_asked
    if asked is None:
        return False
    now = workflow.now()
    if now - asked.asked_at > timedelta(seconds=c.policy.csat.answer_within_seconds):
        c.s.csat_asked = None
        return False
    score = rating_of(msg.body if asked.typed_answer_possible else None, msg.button_payload)
    if score is None:
        asked.typed_answer_possible = False
        return False
    rating = Rating(
        session_number=asked.session_number, score=score, at=now, via="button" if msg.button_payload else "typed"
    )
    bounded_append(c.s.ratings, rating, MAX_RATINGS)
    metrics.rating_given(c, score)
    c.s.rating_to_note = asked
    c.s.csat_asked = None
    return True


async def record(c: Conversation) -> None:
    """The rating in the rated session's Flex conversation, for the rep, and a thank-you to the contact."""
    asked = c.s.rating_to_note
    assert asked is not None and c.s.ratings
    c.s.rating_to_note = None
    rating = c.s.ratings[-1]
    if asked.conversation_sid is not None:
        text = notices.rating_received(rating.score, SCALE)
        idempotency_id = f"notice:csat:{asked.session_number}"
        await post_for_reps(c, asked.conversation_sid, text, idempotency_id, {"waHandoffNotice": "csat"}, "the rating")
    thanks = c.policy.csat.thanks
    if thanks:
        language = c.s.session.language if c.s.session else None
        await send_whatsapp(
            c, "rating thanks", f"csat-thanks:{c.key}:{asked.session_number}", body=for_language(thanks, language)
        )
