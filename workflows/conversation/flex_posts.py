"""Posts into the session's Flex conversation, and notices: what reps are told (never sent to WhatsApp)."""

from __future__ import annotations

from typing import Any

from temporalio.exceptions import ActivityError

from contracts.activities import POST_TO_FLEX, PostToFlexInput, PostToFlexResult
from workflows.conversation import metrics
from workflows.conversation.context import SYSTEM_AUTHOR, Conversation
from workflows.conversation.effects import call, error_text, post_input
from workflows.state import MAX_NOTICES, WaitingPost, bounded_append


async def post(c: Conversation, inp: PostToFlexInput) -> PostToFlexResult:
    who = "contact" if inp.author == c.contact_identity else inp.author
    return await call(c, POST_TO_FLEX, inp, f"post to Flex as {who}")


async def post_for_reps(
    c: Conversation, conversation_sid: str, text: str, idempotency_id: str, attributes: dict[str, Any], what: str
) -> None:
    """A system message in a Flex conversation; a refused or failed post is only noted (`last_error`): what reps
    are told never holds the conversation up."""
    try:
        await post(c, post_input(c, conversation_sid, SYSTEM_AUTHOR, text, idempotency_id, attributes=attributes))
    except ActivityError as err:
        c.s.last_error = f"posting {what} failed: {error_text(err)[0]}"


async def notice(c: Conversation, kind: str, text: str, idempotency_id: str) -> None:
    """A notice for reps: in state always, in Flex when the session has a conversation (never WhatsApp)."""
    bounded_append(c.s.notices, text, MAX_NOTICES)
    metrics.notice_posted(c, kind)
    sess = c.s.session
    if sess is None:
        return
    if sess.conversation_sid is None:
        # Said while the session opens (e.g. of a reply sent meanwhile): posted once it is open.
        sess.posts_waiting.append(
            WaitingPost(
                after=None,
                author=SYSTEM_AUTHOR,
                body=text,
                idempotency_id=f"notice:{idempotency_id}",
                attributes={"waHandoffNotice": kind},
            )
        )
        return
    await post_for_reps(
        c, sess.conversation_sid, text, f"notice:{idempotency_id}", {"waHandoffNotice": kind}, "a notice"
    )
