"""The lean AI turn (`answer_contact`): its composition over fake steps (order, refusals, AI retries, the window),
then against the Twilio sandbox through the official client: a retry by a new worker posts and sends nothing
twice, and the contact gets the reply Flex shows."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.clients import TwilioClients
from activities.turn import AnswerContactActivity, TurnSteps, answer_contact
from activities.twilio_activities import TwilioActivities
from contracts.activities import (
    AnswerContactInput,
    PostToFlexInput,
    PostToFlexResult,
    SendWhatsAppInput,
    SendWhatsAppResult,
)
from contracts.ai import AiTurnInput, AiTurnResult, TranscriptLine
from tests.activities.conftest import CONTACT, Sb
from tests.activities.test_sandbox_activities import _contact_says, _inbox, open_inp, post_inp, send_inp

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def refused(message: str) -> ApplicationError:
    return ApplicationError(message, type="TwilioClientError", non_retryable=True)


class Steps:
    """Recording fake steps; `errors[name]` holds one outcome per call (an exception or None)."""

    def __init__(self, ai: list[AiTurnResult | BaseException] | None = None, ai_delay: float = 0.0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.errors: dict[str, list[BaseException | None]] = {}
        self.ai_answers = ai or [AiTurnResult(reply="We open at nine.")]
        self.ai_delay = ai_delay

    def _call(self, name: str, inp: Any) -> None:
        self.calls.append((name, inp))
        pending = self.errors.get(name)
        if pending:
            error = pending.pop(0)
            if error is not None:
                raise error

    async def post(self, inp: PostToFlexInput) -> PostToFlexResult:
        self._call("post", inp)
        return PostToFlexResult(message_sid=f"IM{len(self.calls)}", body=inp.body)

    async def ai(self, inp: AiTurnInput) -> AiTurnResult:
        self._call("ai", inp)
        await asyncio.sleep(self.ai_delay)
        answer = self.ai_answers.pop(0) if len(self.ai_answers) > 1 else self.ai_answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def send(self, inp: SendWhatsAppInput) -> SendWhatsAppResult:
        self._call("send", inp)
        return SendWhatsAppResult(message_sid="SM1", status="queued")

    async def typing(self, org: str, message_sid: str) -> bool:
        self._call("typing", message_sid)
        return True

    def steps(self) -> TurnSteps:
        return TurnSteps(post=self.post, ai=self.ai, send=self.send, typing=self.typing)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


def turn_inp(
    *,
    contact: tuple[str, ...] = ("hola",),
    send_until: datetime | None = None,
    conversation_sid: str = "CH1",
    service_sid: str = "IS1",
    send: SendWhatsAppInput | None = None,
    ai_timeout_seconds: float = 5.0,
    ai_attempts: int = 3,
) -> AnswerContactInput:
    def post(author: str, body: str | None, key: str) -> PostToFlexInput:
        return PostToFlexInput(
            org="acme",
            conversations_service_sid=service_sid,
            conversation_sid=conversation_sid,
            author=author,
            body=body,
            idempotency_id=key,
        )

    return AnswerContactInput(
        contact_posts=[post(f"whatsapp:{CONTACT}", b, f"contact:SM{i}") for i, b in enumerate(contact)],
        ai=AiTurnInput(
            org="acme",
            transcript=[TranscriptLine(speaker="contact", text=b, at=NOW) for b in contact],
            new_message_count=len(contact),
        ),
        ai_timeout_seconds=ai_timeout_seconds,
        ai_attempts=ai_attempts,
        reply_post=post("AI Support Agent", None, "ai:SM9"),
        reply_send=send
        or SendWhatsAppInput(
            org="acme",
            from_number="+14155238886",
            to_number=CONTACT,
            status_callback_url="https://service.example/status",
            idempotency_id="ai:SM9",
        ),
        send_until=send_until or datetime.now(UTC) + timedelta(hours=1),
    )


async def test_posts_the_contact_messages_then_the_reply_then_sends_it() -> None:
    st = Steps()
    out = await answer_contact(turn_inp(contact=("hola", "¿abren hoy?")), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "post", "ai", "post", "send"]
    assert [p.body for n, p in st.calls if n == "post"] == ["hola", "¿abren hoy?", "We open at nine."]
    assert st.calls[-1][1].body == "We open at nine." and st.calls[-1][1].idempotency_id == "ai:SM9"
    assert out.ai is not None and out.reply == "We open at nine." and out.sent is not None
    assert (out.ai_error, out.reply_post_error, out.send_error, out.window_closed) == (None, None, None, False)


async def test_the_typing_indicator_shows_before_the_ai_composes_when_asked_for() -> None:
    st = Steps()
    typing = turn_inp().model_copy(update={"typing_for": "SM" + "7" * 32})
    at_once = typing.model_copy(update={"typing_after_seconds": 0})  # the org's setting
    await answer_contact(at_once, st.steps(), ai_backoff=0)
    assert st.names() == ["post", "typing", "ai", "post", "send"]
    assert st.calls[1][1] == "SM" + "7" * 32
    # By default only for an AI still composing after a while: a quick reply costs no indicator call.
    quick = Steps()
    await answer_contact(typing, quick.steps(), ai_backoff=0)
    assert quick.names() == ["post", "ai", "post", "send"]
    slow = Steps(ai_delay=0.2)
    await answer_contact(typing.model_copy(update={"typing_after_seconds": 0.05}), slow.steps(), ai_backoff=0)
    assert slow.names() == ["post", "ai", "typing", "post", "send"]
    quiet = Steps()
    await answer_contact(turn_inp(), quiet.steps(), ai_backoff=0)
    assert "typing" not in quiet.names()


async def test_a_contact_post_flex_refuses_is_reported_and_the_turn_goes_on() -> None:
    st = Steps()
    st.errors["post"] = [ApplicationError("Conversation busy", type="TwilioClientError", non_retryable=True)]
    out = await answer_contact(turn_inp(contact=("hola", "¿abren hoy?")), st.steps(), ai_backoff=0)
    assert (
        list(out.contact_post_errors) == ["contact:SM0"]
        and "Conversation busy" in out.contact_post_errors["contact:SM0"]
    )
    assert st.names() == ["post", "post", "ai", "post", "send"] and out.sent is not None


async def test_the_contact_gets_the_reply_flex_already_holds() -> None:
    """A retried turn whose AI words the reply differently: Flex's earlier post wins, for Flex and WhatsApp."""
    st = Steps(ai=[AiTurnResult(reply="Open at 9.")])

    async def found(inp: PostToFlexInput) -> PostToFlexResult:
        st.calls.append(("post", inp))
        return PostToFlexResult(
            message_sid="IMold", body="We open at nine." if inp.author.startswith("AI") else inp.body
        )

    out = await answer_contact(
        turn_inp(), TurnSteps(post=found, ai=st.ai, send=st.send, typing=st.typing), ai_backoff=0
    )
    assert out.reply == "We open at nine."
    assert st.calls[-1][1].body == "We open at nine."


async def test_an_ai_that_fails_for_good_posts_nothing_more_and_says_why() -> None:
    st = Steps(ai=[ApplicationError("bad key", type="AiUnavailable", non_retryable=True)])
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "ai"]
    assert out.ai is None and out.ai_error == "AiUnavailable: bad key"


async def test_a_retryable_ai_failure_is_tried_again_within_the_turn() -> None:
    st = Steps(ai=[ApplicationError("503", type="AiUnavailable"), AiTurnResult(reply="Hi")])
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "ai", "ai", "post", "send"] and out.reply == "Hi"


async def test_an_ai_that_never_answers_gives_up_after_its_attempts() -> None:
    st = Steps(ai_delay=5.0)
    out = await answer_contact(turn_inp(ai_timeout_seconds=0.05, ai_attempts=2), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "ai", "ai"]
    assert out.ai is None and out.ai_error is not None and "no answer within 0.05 s" in out.ai_error


async def test_a_refused_reply_post_still_reaches_the_contact() -> None:
    st = Steps()
    st.errors["post"] = [None, refused("conversation closed")]
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0)
    assert out.reply_post_error == "TwilioClientError: conversation closed"
    assert out.sent is not None and st.calls[-1][1].body == "We open at nine."


async def test_a_refused_send_comes_back_for_the_workflow_to_notice() -> None:
    st = Steps()
    st.errors["send"] = [refused("63016 outside the window")]
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0)
    assert out.sent is None and out.send_error == "TwilioClientError: 63016 outside the window"


def server_error() -> ApplicationError:
    return ApplicationError("503", type="TwilioRetryableError")


async def test_a_retryable_step_failure_is_repeated_in_place_and_the_send_looks_first() -> None:
    """A 5xx on one step does not redo the whole turn: the step runs again (it looks for its own effect first);
    a repeated send is told to look for the send that may have gone out."""
    st = Steps()
    st.errors["post"] = [None, server_error()]  # the reply's post
    st.errors["send"] = [server_error()]
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0, step_backoff=0)
    assert st.names() == ["post", "ai", "post", "post", "send", "send"]
    sends = [inp for n, inp in st.calls if n == "send"]
    assert sends[0].may_have_sent_since is None and sends[1].may_have_sent_since is not None
    assert out.sent is not None and out.reply == "We open at nine."


async def test_a_retryable_failure_that_lasts_fails_the_turn() -> None:
    """Still failing after the in-place repeats: the activity's retry (or the workflow's step path) takes over."""
    for step, at in (("post", 0), ("post", 1), ("send", 0)):
        st = Steps()
        st.errors[step] = [None] * at + [server_error()] * 3
        with pytest.raises(ApplicationError, match="503"):
            await answer_contact(turn_inp(), st.steps(), ai_backoff=0, step_backoff=0)
        assert [n for n, _ in st.calls].count(step) == at + 3


async def test_a_long_retry_after_is_left_to_the_activity_retry_policy() -> None:
    st = Steps()
    st.errors["post"] = [ApplicationError("429", type="TwilioRetryableError", next_retry_delay=timedelta(seconds=30))]
    with pytest.raises(ApplicationError, match="429"):
        await answer_contact(turn_inp(), st.steps(), ai_backoff=0, step_backoff=0)
    assert st.names() == ["post"]


async def test_after_the_window_the_reply_is_posted_but_not_sent() -> None:
    st = Steps()
    out = await answer_contact(turn_inp(send_until=datetime.now(UTC) - timedelta(seconds=1)), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "ai", "post"] and out.window_closed and out.sent is None


async def test_an_escalation_without_a_reply_posts_and_sends_nothing() -> None:
    st = Steps(ai=[AiTurnResult(reply=None, escalate=True, reason="asked for a human")])
    out = await answer_contact(turn_inp(), st.steps(), ai_backoff=0)
    assert st.names() == ["post", "ai"] and out.ai is not None and out.ai.escalate and out.sent is None


async def test_it_heartbeats_while_it_runs() -> None:
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *d: beats.append(d)
    st = Steps(ai_delay=0.1)

    async def turn(inp: AnswerContactInput) -> Any:
        return await answer_contact(inp, st.steps(), ai_backoff=0)

    await env.run(turn, turn_inp())
    assert beats  # the first beat goes out at once; a killed worker's turn is retried on the heartbeat timeout


# ---------------------------------------------------------------- against the sandbox


async def test_a_retried_turn_on_a_new_worker_posts_and_sends_nothing_twice(sb: Sb) -> None:
    _contact_says(sb, "hola")
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = turn_inp(
        conversation_sid=conv.conversation_sid,
        service_sid=sb.seed["conversations_service_sid"],
        send=send_inp(sb, body=None, idempotency_id="ai:SM9"),
    )

    async def ai_says(text: str) -> Any:
        async def ai(_: AiTurnInput) -> AiTurnResult:
            return AiTurnResult(reply=text)

        return ai

    env = ActivityEnvironment()
    first = await env.run(AnswerContactActivity(sb.acts, await ai_says("We open at nine.")).answer_contact, inp)
    # The worker died before the server heard of it: attempt 2 on a new worker (empty in-process maps), whose
    # AI words the reply differently.
    env.info = dataclasses.replace(env.info, attempt=2, scheduled_time=datetime.now(UTC) - timedelta(seconds=2))
    fresh = TwilioActivities(TwilioClients(sb.orgs))
    again = await env.run(AnswerContactActivity(fresh, await ai_says("Open at 9.")).answer_contact, inp)
    assert first.sent is not None and again.sent is not None
    assert again.sent.message_sid == first.sent.message_sid and again.reply == "We open at nine."
    flex = sb.client.conversations.v1.services(sb.seed["conversations_service_sid"]).conversations(
        conv.conversation_sid
    )
    assert [(m.author, m.body) for m in flex.messages.list()] == [
        (f"whatsapp:{CONTACT}", "hola"),
        ("AI Support Agent", "We open at nine."),
    ]
    assert [m["body"] for m in _inbox(sb, expect=1)] == ["We open at nine."]


def test_concurrent_runs_of_one_post_create_one_message(sb: Sb) -> None:
    """Two runs of one step overlapping in a worker (an attempt cancelled on a missed heartbeat whose thread
    still runs while the retry starts): the second waits for the first and finds its message."""
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = post_inp(sb, conv.conversation_sid, author="AI Support Agent", body="Hi", idempotency_id="ai:SM1")

    async def both() -> list[PostToFlexResult]:
        return list(await asyncio.gather(*(asyncio.to_thread(sb.acts.post_to_flex, inp) for _ in range(6))))

    results = asyncio.run(both())
    assert len({r.message_sid for r in results}) == 1
    flex = sb.client.conversations.v1.services(sb.seed["conversations_service_sid"]).conversations(
        conv.conversation_sid
    )
    assert [m.body for m in flex.messages.list()] == ["Hi"]


def test_a_later_rounds_send_finds_the_earlier_rounds_send(sb: Sb) -> None:
    """A later round of a turn is attempt 1 of a new activity: `may_have_sent_since` makes its send look first."""
    _contact_says(sb, "hola")
    since = datetime.now(UTC) - timedelta(seconds=1)
    sent = sb.acts.send_whatsapp(send_inp(sb, body="We open at nine.", idempotency_id="ai:SM9"))
    fresh = TwilioActivities(TwilioClients(sb.orgs))
    again = ActivityEnvironment().run(
        fresh.send_whatsapp,
        send_inp(sb, body="We open at nine.", idempotency_id="ai:SM9", may_have_sent_since=since),
    )
    assert again.message_sid == sent.message_sid
    assert len(_inbox(sb, expect=1)) == 1
