"""Operator commands (updates): the validators that refuse what cannot be done, and what the main loop does
with an accepted one. The caller gets a `CommandOutcome` saying what happened."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from contracts.signals import CommandOutcome, CommandOutcomeName, HandoffRequest, PolicyUpdate, TemplateSendRequest
from rules import commands as command_rules
from workflows.conversation import handoff, rep
from workflows.conversation.context import Conversation


def _refused(refusal: command_rules.Refusal) -> ApplicationError:
    return ApplicationError(refusal.message, type=refusal.kind, non_retryable=True)


def validate_handoff(c: Conversation, req: HandoffRequest) -> None:
    if c.seen(f"cmd:{req.request_id}"):
        return  # a retried request: its handler answers "duplicate", whatever the state is now
    sess = c.s.session
    try:
        command_rules.check_handoff(
            state=c.s.state, has_session=sess is not None, handed_off=bool(sess and sess.handed_off)
        )
    except command_rules.Refusal as refusal:
        raise _refused(refusal) from None


def validate_template(c: Conversation, req: TemplateSendRequest) -> None:
    if c.seen(f"cmd:{req.request_id}"):
        return
    try:
        command_rules.check_template(req.template_name, req.variables, c.policy.templates)
    except command_rules.Refusal as refusal:
        raise _refused(refusal) from None


def outcome(c: Conversation, request_id: str, name: CommandOutcomeName, detail: str = "", **extra: str | None) -> None:
    sess = c.s.session
    task = (sess.human_task_sid or sess.task_sid) if sess else None
    c.outcomes[request_id] = CommandOutcome(
        request_id=request_id, outcome=name, detail=detail, state=c.s.state, task_sid=task, **extra
    )


def hand_off(c: Conversation, req: HandoffRequest) -> None:
    result = handoff.request(
        c, source="operator", reason=req.reason, summary=req.summary or c.fallback_summary(req.reason)
    )
    sess = c.s.session
    if result == "handoff_pending" and sess is not None and handoff.due(c, sess):
        c.handoff_waiters.append(req.request_id)  # told what the round did, right after it
        return
    detail = "it runs once the Flex task exists" if result == "handoff_pending" else ""
    outcome(c, req.request_id, result, detail)


async def send_template(c: Conversation, req: TemplateSendRequest) -> None:
    sid, detail = await rep.send_template(c, req.template_name, req.variables, cause=f"api:{req.request_id}")
    outcome(c, req.request_id, "template_sent" if sid else "template_not_sent", detail, message_sid=sid)


def apply_policy(c: Conversation, update: PolicyUpdate) -> None:
    """The org's edited settings from now on; deadlines that depend on them move with them."""
    c.policy = update.policy
    sess = c.s.session
    if c.s.state == "queued" and sess is not None and sess.queued_since is not None and not c.s.stuck:
        c.timers.set("sla", sess.queued_since + timedelta(seconds=c.policy.queue_sla_seconds))
    outcome(c, update.request_id, "policy_applied")
