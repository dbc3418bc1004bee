"""The conversation's side effects: every activity call, with its limits and retry policy, and the inputs they
share. Twilio credentials never appear here: inputs name the org, the worker resolves it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from contracts.activities import KNOWN_SIDS_PASSED, ActivityDef, PostToFlexInput, SendWhatsAppInput
from workflows.conversation.context import Conversation
from workflows.conversation.publish import publish
from workflows.state import MAX_POSTS_UNSURE, bounded_append

InputT = TypeVar("InputT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)

TWILIO_CLIENT_ERROR = "TwilioClientError"
NOT_AI_TASK = "NotAiTask"

# Twilio activities: bounded retries with backoff (429/5xx honour Retry-After through next_retry_delay in the
# activity); a 4xx is non-retryable and becomes state plus a notice.
TWILIO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
    non_retryable_error_types=[TWILIO_CLIENT_ERROR],
)
TWILIO_TIMEOUT = timedelta(seconds=30)
# Reading back delivery statuses is routine and holds the conversation's other events while it runs: a short
# retry, then simply again at the next check.
STATUS_READBACK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=[TWILIO_CLIENT_ERROR],
)
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


def send_input(
    c: Conversation,
    idempotency_id: str,
    *,
    body: str | None = None,
    media_url: str | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, str] | None = None,
    may_have_sent_since: datetime | None = None,
) -> SendWhatsAppInput:
    return SendWhatsAppInput(
        org=c.org,
        from_number=c.business_number,
        to_number=c.reply_address,
        body=body,
        media_url=media_url,
        content_sid=content_sid,
        content_variables=content_variables or {},
        status_callback_url=f"{c.policy.public_base_url}/webhooks/{c.org}/whatsapp/status/{c.key}",
        idempotency_id=idempotency_id,
        known_sids=list(c.s.sent)[-KNOWN_SIDS_PASSED:],
        may_have_sent_since=may_have_sent_since,
    )
