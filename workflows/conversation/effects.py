"""The conversation's side effects: every activity call, with its limits and retry policy, and the inputs they
share. Twilio credentials never appear here: inputs name the org, the worker resolves it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar, Unpack, cast

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from contracts.activities import KNOWN_SIDS_PASSED, ActivityDef, PostToFlexInput, SendWhatsAppInput
from workflows.conversation.context import Conversation
from workflows.conversation.publish import publish
from workflows.state import MAX_POSTS_UNSURE, SessionState, bounded_append

InputT = TypeVar("InputT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)

TWILIO_CLIENT_ERROR = "TwilioClientError"
NOT_AI_TASK = "NotAiTask"


def twilio_retry(attempts: int, longest_wait: timedelta | None = None) -> RetryPolicy:
    """Bounded retries with backoff from 1 s (429/5xx honour Retry-After through next_retry_delay in the
    activity); a 4xx is non-retryable and becomes state plus a notice."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=longest_wait,
        maximum_attempts=attempts,
        non_retryable_error_types=[TWILIO_CLIENT_ERROR],
    )


TWILIO_RETRY = twilio_retry(8, timedelta(seconds=60))
TWILIO_TIMEOUT = timedelta(seconds=30)
# Reading back delivery statuses is routine and holds the conversation's other events while it runs: a short
# retry, then simply again at the next check.
STATUS_READBACK_RETRY = twilio_retry(3)
# Activities made of several steps heartbeat every 2 s: a killed worker's run is retried after this, not after
# its whole limit.
STEPS_HEARTBEAT = timedelta(seconds=20)
# The AI's attempts inside one turn: after these, the conversation goes to a rep ("AI unavailable").
AI_ATTEMPTS = 3


async def call(
    c: Conversation,
    defn: ActivityDef[InputT, ResultT],
    arg: InputT,
    summary: str,
    *,
    limit: timedelta = TWILIO_TIMEOUT,
    retry: RetryPolicy = TWILIO_RETRY,
    heartbeat: timedelta | None = None,
) -> ResultT:
    """Run one activity. State is published first, so a slow or retrying step shows in the search attributes
    (a handoff whose activity keeps retrying is visible as handoff_requested, not as the previous state)."""
    publish(c)
    try:
        result = await workflow.execute_activity(
            defn.name,
            arg,
            result_type=defn.result_type,
            start_to_close_timeout=limit,
            heartbeat_timeout=heartbeat,
            retry_policy=retry,
            summary=summary,
        )
    except ActivityError:
        # Its posts may have reached Flex before it failed: the next post under the same id looks first.
        for post in _posts_in(arg):
            if post.idempotency_id not in c.s.posts_unsure:
                bounded_append(c.s.posts_unsure, post.idempotency_id, MAX_POSTS_UNSURE)
        raise
    return cast(ResultT, result)


def _posts_in(arg: BaseModel) -> list[PostToFlexInput]:
    """The Flex posts an activity input carries (itself, or fields holding one or a list of them)."""
    if isinstance(arg, PostToFlexInput):
        return [arg]
    found: list[PostToFlexInput] = []
    for name in type(arg).model_fields:
        value = getattr(arg, name)
        if isinstance(value, PostToFlexInput):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, PostToFlexInput))
    return found


def error_text(err: BaseException) -> tuple[str, bool]:
    """(short description, is a Twilio 4xx) of an activity failure."""
    cause: BaseException | None = err.cause if isinstance(err, ActivityError) else err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'error'}: {cause.message}", cause.type == TWILIO_CLIENT_ERROR
    return f"{type(cause).__name__}: {cause}", False


def activity_input(c: Conversation, model: type[InputT], sess: SessionState | None = None, **fields: Any) -> InputT:
    """`model` with `org` and the fields it shares by name with the org's policy and the session filled in (the
    SIDs: `workspace_sid`, `conversations_service_sid`, `conversation_sid`, `task_sid`, `interaction_sid` …);
    `fields` name the rest, and any the session holds under another meaning (a rep's task), and win."""
    wanted = model.model_fields.keys()
    known: dict[str, Any] = {"org": c.org}
    for source in (c.policy, sess):
        if source is not None:
            known.update({name: getattr(source, name) for name in wanted & type(source).model_fields.keys()})
    return model.model_validate(known | fields)


def post_input(
    c: Conversation,
    conversation_sid: str | None,
    author: str,
    body: str | None,
    idempotency_id: str,
    *,
    media_sid: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> PostToFlexInput:
    assert conversation_sid is not None
    return PostToFlexInput(
        org=c.org,
        conversations_service_sid=c.policy.conversations_service_sid,
        conversation_sid=conversation_sid,
        author=author,
        body=body,
        media_sid=media_sid,
        attributes=attributes or {},
        idempotency_id=idempotency_id,
        may_exist=idempotency_id in c.s.posts_unsure,
    )


class Outgoing(TypedDict, total=False):
    """What one WhatsApp send carries: a text, an attachment (the text its caption), or a template; and since
    when an earlier round may have sent it (the send then looks for it first)."""

    body: str | None
    media_url: str | None
    content_sid: str | None
    content_variables: dict[str, str] | None
    may_have_sent_since: datetime | None


def send_input(c: Conversation, idempotency_id: str, **out: Unpack[Outgoing]) -> SendWhatsAppInput:
    return SendWhatsAppInput(
        org=c.org,
        from_number=c.business_number,
        to_number=c.reply_address,
        body=out.get("body"),
        media_url=out.get("media_url"),
        content_sid=out.get("content_sid"),
        content_variables=out.get("content_variables") or {},
        status_callback_url=f"{c.policy.public_base_url}/webhooks/{c.org}/whatsapp/status/{c.key}",
        idempotency_id=idempotency_id,
        known_sids=list(c.s.sent)[-KNOWN_SIDS_PASSED:],
        may_have_sent_since=out.get("may_have_sent_since"),
    )
