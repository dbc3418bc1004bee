"""The AI's turn: one `answer_contact` activity posts the contact's waiting messages into Flex, asks the AI, posts
its reply and sends it to WhatsApp.

In Flex a reply follows the messages it answers; contact messages that arrive while a turn runs come right after
it and are answered together by the next turn (question, answer, burst, answer to the burst). A turn that fails
(its activity's retries spent) is tried again in rounds with backoff; a later round's send first looks for one an
earlier round may have made. The AI failing for good, or every round failing, hands off "AI unavailable".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import ANSWER_CONTACT, AnswerContactInput
from contracts.ai import AiTurnInput, AiTurnResult
from contracts.views import AI_UNAVAILABLE
from rules import notices, turns
from rules import window as window_rules
from rules.backoff import backoff
from rules.flex_context import flatten_flex_context
from workflows.conversation import delivery, handoff, lifecycle, metrics
from workflows.conversation.context import AI_AUTHOR, Conversation
from workflows.conversation.effects import (
    AI_ATTEMPTS,
    STEPS_HEARTBEAT,
    TWILIO_TIMEOUT,
    call,
    error_text,
    post_input,
    send_input,
    twilio_retry,
)
from workflows.conversation.flex_posts import notice
from workflows.conversation.whatsapp_sends import send_failed
from workflows.state import SessionState, WaitingPost

# One round: the activity's own retries (a killed worker, a Twilio outage of a minute); then rounds with backoff.
TURN_RETRY = twilio_retry(4, timedelta(seconds=30))
TURN_ROUND_RETRY_FIRST = timedelta(seconds=30)
MAX_TURN_ROUNDS = 3


def due(c: Conversation, sess: SessionState) -> bool:
    return turns.ai_turn_due(
        state=c.s.state,
        handoff_requested=not lifecycle.ai_answering(c, sess),
        reservation_accepted=sess.ai_reservation_status == "accepted",
        unanswered=len(sess.ai_pending_sids),
        task_known=sess.task_sid is not None,
        conversation_known=sess.conversation_sid is not None,
        opening_failed=sess.open_attempts > 0,
        window_known=c.s.window_expires_at is not None,
        media_waiting=any(m.media for m in sess.backlog),
        retry_at=sess.turn_retry_at,
        now=workflow.now(),
        answered_before_open=sess.answered_before_open,
    )


def ai_input(c: Conversation, sess: SessionState, new_messages: int) -> AiTurnInput:
    return AiTurnInput(
        backend=c.policy.ai_backend,
        org=c.org,
        transcript=turns.ai_context(c.s.transcript, new_messages, c.policy.ai_context_chars),
        new_message_count=new_messages,
        flex_context=flatten_flex_context(sess.task_attributes),
        unanswered_turns=sess.ai_unanswered_turns,
        handback=c.s.handback,
    )


async def take(c: Conversation, sess: SessionState) -> None:
    batch = list(sess.ai_pending_sids)
    backlog = list(sess.backlog)
    assert c.s.window_expires_at is not None
    now = workflow.now()
    if sess.turn_first_at is None:
        sess.turn_first_at = now
    reply_id = f"ai:{batch[-1]}"
    typing_for = _typing_for(c, sess, batch[-1], now)
    # Before the Flex session exists the turn only answers; its messages and reply go into Flex when it opens.
    flex_open = sess.conversation_sid is not None
    try:
        res = await call(
            c,
            ANSWER_CONTACT,
            AnswerContactInput(
                contact_posts=[
                    post_input(
                        c,
                        sess.conversation_sid,
                        c.contact_identity,
                        m.body or "(empty message)",
                        f"contact:{m.message_sid}",
                    )
                    for m in backlog
                    if flex_open
                ],
                ai=ai_input(c, sess, len(batch)),
                ai_timeout_seconds=c.policy.ai_turn_timeout_seconds,
                ai_attempts=AI_ATTEMPTS,
                reply_post=post_input(c, sess.conversation_sid, AI_AUTHOR, None, reply_id) if flex_open else None,
                reply_send=send_input(
                    c, reply_id, may_have_sent_since=sess.turn_first_at if sess.turn_rounds_failed else None
                ),
                send_until=c.s.window_expires_at,
                typing_for=typing_for,
                typing_after_seconds=c.policy.typing_indicator_after_seconds,
            ),
            f"AI turn ({len(batch)} new message(s)) with its Flex posts and WhatsApp send",
            limit=timedelta(seconds=c.policy.ai_turn_timeout_seconds * AI_ATTEMPTS + 6)
            + TWILIO_TIMEOUT * (2 + len(backlog)),
            retry=TURN_RETRY,
            heartbeat=STEPS_HEARTBEAT,
        )
    except ActivityError as err:
        _round_failed(c, sess, error_text(err)[0])
        return
    sess.turn_first_at = sess.turn_retry_at = None
    sess.turn_rounds_failed = 0
    if flex_open:
        del sess.backlog[: len(backlog)]
    else:
        sess.answered_before_open = True
    del sess.ai_pending_sids[: len(batch)]
    metrics.ai_turn_done(c, now, res.ai is not None, res.sent is not None and not res.send_error)
    for idempotency_id, detail in res.contact_post_errors.items():
        c.s.last_error = f"posting a contact message to Flex failed: {detail}"
        await notice(c, "contact_message_not_in_flex", notices.contact_message_not_in_flex(detail), idempotency_id)
    if res.ai is None:
        failed(c, res.ai_error or "no answer")
        return
    _note_result(sess, res.ai)
    if res.reply:
        now = workflow.now()
        sess.ai_quiet_from = now
        if res.reply_post_error:
            c.s.last_error = f"posting the AI reply to Flex failed: {res.reply_post_error}"
        c.add_transcript("ai", res.reply, now)
        if not flex_open:
            sess.posts_waiting.append(
                WaitingPost(after=batch[-1], author=AI_AUTHOR, body=res.reply, idempotency_id=reply_id)
            )
        if res.window_closed:
            await notice(
                c,
                "ai_reply_not_sent",
                notices.send_failed("The AI reply", "the WhatsApp window is closed"),
                f"{reply_id}:refused",
            )
        elif res.send_error:
            await send_failed(c, "AI reply", reply_id, res.send_error)
        elif res.sent is not None:
            delivery.watch(c, res.sent, "AI reply")
            metrics.reply_sent(c, sess, "ai")
    if res.ai.escalate:
        handoff.request(
            c,
            source="ai",
            reason=res.ai.reason or "the AI agent escalated",
            summary=res.ai.summary,
            sentiment=res.ai.sentiment,
            language=res.ai.language,
        )


def _typing_for(c: Conversation, sess: SessionState, newest: str, now: datetime) -> str | None:
    """The contact's message to show the typing indicator against: at most once per message (a later round of
    the same turn shows none), only inside the window."""
    if not c.policy.typing_indicator or sess.typing_shown_for == newest:
        return None
    if not window_rules.is_open(c.s.window_expires_at, now):
        return None
    sess.typing_shown_for = newest
    return newest


def _round_failed(c: Conversation, sess: SessionState, detail: str) -> None:
    sess.turn_rounds_failed += 1
    metrics.ai_turn_failed(c)
    if sess.turn_rounds_failed >= MAX_TURN_ROUNDS:
        sess.turn_first_at = sess.turn_retry_at = None
        sess.turn_rounds_failed = 0
        failed(c, f"{MAX_TURN_ROUNDS} rounds failed, the last: {detail}")
        return
    c.s.last_error = f"AI turn failed ({detail}): trying again"
    sess.turn_retry_at = workflow.now() + backoff(TURN_ROUND_RETRY_FIRST, sess.turn_rounds_failed)
    c.timers.set("retry", sess.turn_retry_at)


def failed(c: Conversation, detail: str) -> None:
    """The AI cannot answer: the conversation goes to a rep."""
    c.s.last_error = f"AI turn failed: {detail}"
    handoff.request(c, source="ai_failure", reason=AI_UNAVAILABLE, summary=c.fallback_summary(AI_UNAVAILABLE))


def _note_result(sess: SessionState, result: AiTurnResult) -> None:
    sess.language = result.language
    sess.ai_unanswered_turns = 0 if result.answered else sess.ai_unanswered_turns + 1
