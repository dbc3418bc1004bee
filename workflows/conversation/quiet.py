"""Ending a quiet AI-held session: the AI's task is released (its chat capacity freed) and the interaction
closed; the next contact message opens a new session. Never a rep's task: the session is not handed off, and
the activity refuses a handed-off task."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import RELEASE_AI_TASK, ReleaseAiTaskInput
from rules.backoff import backoff
from workflows.conversation import lifecycle
from workflows.conversation.context import Conversation
from workflows.conversation.effects import NOT_AI_TASK, activity_input, call, error_text
from workflows.state import SessionState

MAX_RELEASE_ROUNDS = 5
RELEASE_RETRY_FIRST = timedelta(seconds=30)


async def release_ai_session(c: Conversation, sess: SessionState) -> None:
    try:
        release = activity_input(c, ReleaseAiTaskInput, sess)
        res = await call(c, RELEASE_AI_TASK, release, "end quiet AI session: release the AI's task")
    except ActivityError as err:
        detail, is_4xx = error_text(err)
        sess.release_attempts += 1
        c.s.last_error = f"releasing the AI's task failed: {detail}"
        if is_4xx or detail.startswith(NOT_AI_TASK) or sess.release_attempts >= MAX_RELEASE_ROUNDS:
            # Nothing more we may do (or the task is someone else's now): stop holding the session.
            c.skip(f"AI session {sess.number} ended without releasing its task: {detail}")
            lifecycle.end_session(c, f"quiet AI session, release failed: {detail}")
            return
        sess.release_retry_at = workflow.now() + backoff(RELEASE_RETRY_FIRST, sess.release_attempts)
        return
    lifecycle.end_session(c, f"quiet AI session released (task {res.action})")
