"""The `answer_contact` activity: one AI turn in one round trip to the server.

The contact's waiting messages are posted into Flex, the AI answers, its reply is posted into Flex and sent to
WhatsApp, back to back in one activity (one workflow task and one action instead of four). Each step is
idempotent, so a retry (a killed worker, a 5xx) redoes nothing that took effect:
- the contact's posts and the reply's post find themselves in Flex by their idempotency id;
- a reply already in Flex is what gets sent, even when the AI words it differently the second time;
- the send looks for its own earlier send on a retry (`send_whatsapp`).
Refusals (4xx) of a contact post, of the reply post or of the send, and an AI that fails for good, come back in
the result for the workflow to act on (notice, handoff); anything else fails the attempt, and the activity is
retried (the workflow then tries again in rounds). A retryable failure of one step (a 5xx, a 429) is first
repeated in place, briefly (`repeat_in_place`). The activity heartbeats, so a killed worker's turn is retried
within the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.blocking import STEP_BACKOFF_SECONDS, heartbeating, in_thread, repeat_in_place
from activities.twilio_activities import TwilioActivities, post_again
from contracts.activities import (
    ANSWER_CONTACT,
    AnswerContactInput,
    AnswerContactResult,
    PostToFlexInput,
    PostToFlexResult,
    SendWhatsAppInput,
    SendWhatsAppResult,
)
from contracts.ai import AiTurnInput, AiTurnResult

AI_BACKOFF_SECONDS = 2.0  # doubled per attempt


@dataclass(frozen=True)
class TurnSteps:
    """The three steps a turn is made of; the activity passes the real ones, workflow tests their fakes."""

    post: Callable[[PostToFlexInput], Awaitable[PostToFlexResult]]
    ai: Callable[[AiTurnInput], Awaitable[AiTurnResult]]
    send: Callable[[SendWhatsAppInput], Awaitable[SendWhatsAppResult]]
    typing: Callable[[str, str], Awaitable[bool]]  # (org, the contact's message SID)


def _refusal(exc: ApplicationError) -> str | None:
    """The text of a final refusal (a non-retryable error); None for one worth a retry."""
    return f"{exc.type or 'error'}: {exc.message}" if exc.non_retryable else None


async def _ask_ai(inp: AnswerContactInput, steps: TurnSteps, backoff: float) -> AiTurnResult | str:
    """The AI's answer, or why it failed for good (after `ai_attempts`, or at once for a final error)."""
    error = "no attempt"
    for attempt in range(1, inp.ai_attempts + 1):
        try:
            return await asyncio.wait_for(steps.ai(inp.ai), inp.ai_timeout_seconds)
        except TimeoutError:
            error = f"AiTimeout: no answer within {inp.ai_timeout_seconds:g} s"
        except ApplicationError as exc:
            refused = _refusal(exc)
            if refused is not None:
                return refused
            error = f"{exc.type or 'error'}: {exc.message}"
        if attempt < inp.ai_attempts:
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
    return error


async def answer_contact(
    inp: AnswerContactInput,
    steps: TurnSteps,
    *,
    ai_backoff: float = AI_BACKOFF_SECONDS,
    step_backoff: float = STEP_BACKOFF_SECONDS,
) -> AnswerContactResult:
    """The turn itself (see the module doc); heartbeats when it runs inside an activity."""
    async with heartbeating():
        return await _answer(inp, steps, ai_backoff, step_backoff, inp.typing_after_seconds)


async def _ask_ai_typing(
    inp: AnswerContactInput, steps: TurnSteps, ai_backoff: float, typing_after: float
) -> AiTurnResult | str:
    """The AI's answer; the contact sees someone typing (and their message read) while a slow one composes."""
    if not inp.typing_for:
        return await _ask_ai(inp, steps, ai_backoff)
    if typing_after <= 0:
        await steps.typing(inp.ai.org, inp.typing_for)
        return await _ask_ai(inp, steps, ai_backoff)
    asking = asyncio.ensure_future(_ask_ai(inp, steps, ai_backoff))
    done, _ = await asyncio.wait({asking}, timeout=typing_after)
    if not done:
        await steps.typing(inp.ai.org, inp.typing_for)
    return await asking


async def _answer(
    inp: AnswerContactInput, steps: TurnSteps, ai_backoff: float, backoff: float, typing_after: float
) -> AnswerContactResult:
    refused: dict[str, str] = {}
    for post in inp.contact_posts:
        try:
            await repeat_in_place(steps.post, post, backoff=backoff, again=post_again)
        except ApplicationError as exc:
            # Flex refusing one message must not keep the AI from answering it: the workflow tells the rep.
            reason = _refusal(exc)
            if reason is None:
                raise
            refused[post.idempotency_id] = reason
    answer = await _ask_ai_typing(inp, steps, ai_backoff, typing_after)
    if isinstance(answer, str):
        return AnswerContactResult(ai_error=answer, contact_post_errors=refused)
    # The workflow reads the reply from `reply` and a summary only for a handoff: neither twice into its history.
    kept = answer.model_copy(update={"reply": None, "summary": answer.summary if answer.escalate else ""})
    out = AnswerContactResult(ai=kept, reply=answer.reply, contact_post_errors=refused)
    if not answer.reply:
        return out
    try:
        if inp.reply_post is not None:
            reply_post = inp.reply_post.model_copy(update={"body": answer.reply})
            posted = await repeat_in_place(steps.post, reply_post, backoff=backoff, again=post_again)
            out.reply = posted.body or answer.reply
    except ApplicationError as exc:
        # Flex missing the reply is bad; the contact missing it is worse: still send it.
        out.reply_post_error = _refusal(exc)
        if out.reply_post_error is None:
            raise
    if datetime.now(UTC) >= inp.send_until:
        out.window_closed = True
        return out
    first_try = datetime.now(UTC)

    def look_first(send: SendWhatsAppInput) -> SendWhatsAppInput:
        # A send answered by a 5xx may have gone out: the repeat looks for it before sending.
        return send if send.may_have_sent_since else send.model_copy(update={"may_have_sent_since": first_try})

    try:
        send = inp.reply_send.model_copy(update={"body": out.reply})
        out.sent = await repeat_in_place(steps.send, send, backoff=backoff, again=look_first)
    except ApplicationError as exc:
        out.send_error = _refusal(exc)
        if out.send_error is None:
            raise
    return out


class AnswerContactActivity:
    """The real steps: the Twilio activities' methods (blocking: run on the worker's activity threads) and the
    AI activity's backend call (async)."""

    def __init__(
        self,
        twilio: TwilioActivities,
        ai_turn: Callable[[AiTurnInput], Awaitable[AiTurnResult]],
        executor: Executor | None = None,
    ) -> None:
        self._twilio = twilio
        self._ai_turn = ai_turn
        self._executor = executor

    @activity.defn(name=ANSWER_CONTACT.name)
    async def answer_contact(self, inp: AnswerContactInput) -> AnswerContactResult:
        steps = TurnSteps(
            post=lambda p: in_thread(self._executor, self._twilio.post_to_flex, p),
            ai=self._ai_turn,
            send=lambda s: in_thread(self._executor, self._twilio.send_whatsapp, s),
            typing=lambda org, sid: in_thread(self._executor, functools.partial(self._twilio.show_typing, org), sid),
        )
        return await answer_contact(inp, steps)
