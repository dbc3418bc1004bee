"""The conversation's business metrics, through `workflow.metric_meter()`: replay-safe (nothing is recorded while
a history replays) and no commands, so recorded histories replay unchanged.

Names, labels and buckets come from `contracts.metrics`. Durations are differences of `workflow.now()` and times the
state already keeps (a session's opening, the handoff's request, the task reaching the queue); the times the state
did not keep (a rep's acceptance, the first replies) are set here, by the same calls that record them.

Recording is at least once: a workflow task redone after a worker died mid-task records its metrics again. Labels
are the org and closed sets of words, never a number, SID or text.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from contracts import metrics as m
from contracts.views import HandoffSource
from workflows.conversation.context import Conversation
from workflows.state import HandoffProgress, SessionState

# What `whatsapp_sends.send_whatsapp` calls a rep's own message (templates and the busy message are not one).
REP_MESSAGES = frozenset({"rep reply", "rep attachment", "rep reply with attachment"})
TEMPLATE = "template"


def _count(c: Conversation, metric: m.MetricDef, **labels: str) -> None:
    counter = workflow.metric_meter().create_counter(metric.name, metric.help)
    counter.add(1, {m.ORG: c.org, **labels})


def _observe(c: Conversation, metric: m.MetricDef, since: datetime | None, **labels: str) -> None:
    if since is None:
        return
    seconds = max(0.0, (workflow.now() - since).total_seconds())
    histogram = workflow.metric_meter().create_histogram_float(metric.name, metric.help, "s")
    histogram.record(seconds, {m.ORG: c.org, **labels})


def handoff_reason(source: HandoffSource, reason: str) -> str:
    """The `reason` label of a handoff request (a closed set; the free-text reason stays in Flex)."""
    if source == "operator":
        return "operator"
    if source in ("ai_failure", "ai_offer_timeout"):
        return "ai_unavailable"
    return "customer_asked" if reason.lower().startswith("customer asked") else "ai_decided"


def conversation_opened(c: Conversation) -> None:
    _count(c, m.CONVERSATIONS_OPENED)


def ai_turn_done(c: Conversation, started: datetime, ai_answered: bool, sent: bool) -> None:
    """A turn's activity returned: its latency, and what came of it."""
    _observe(c, m.AI_TURN_SECONDS, started)
    _count(c, m.AI_TURNS, outcome="replied" if sent else "no_reply" if ai_answered else "failed")


def ai_turn_failed(c: Conversation) -> None:
    _count(c, m.AI_TURNS, outcome="failed")


def handoff_requested(c: Conversation, source: HandoffSource, reason: str) -> None:
    _count(c, m.HANDOFFS_REQUESTED, reason=handoff_reason(source, reason))


def handed_off(c: Conversation, hp: HandoffProgress) -> None:
    _observe(c, m.HANDOFF_SECONDS_METRIC, hp.requested_at)
    _count(c, m.HANDOFFS, outcome="handed_off")


def handoff_round_failed(c: Conversation, gave_up: bool) -> None:
    _count(c, m.HANDOFFS, outcome="gave_up" if gave_up else "retrying")


def rep_accepted(c: Conversation, sess: SessionState) -> None:
    """Queue wait, from the task reaching the human queue (`sess.rep_accepted_at`, set by the caller, starts the
    rep's first response)."""
    _observe(c, m.QUEUE_WAIT_SECONDS, sess.queued_since)


def sent(c: Conversation, what: str) -> None:
    """A send outside an AI turn that Twilio took: a rep's message answers the contact; a template is counted."""
    sess = c.s.session
    if what == TEMPLATE:
        _count(c, m.TEMPLATES_SENT)
    if what not in REP_MESSAGES or sess is None:
        return
    reply_sent(c, sess, "rep")
    if sess.rep_accepted_at is not None and sess.rep_first_reply_at is None:
        sess.rep_first_reply_at = workflow.now()
        _observe(c, m.REP_FIRST_RESPONSE_SECONDS, sess.rep_accepted_at)


def reply_sent(c: Conversation, sess: SessionState, by: str) -> None:
    """Time to first reply: once per session, from its first contact message."""
    if sess.first_reply_at is None:
        sess.first_reply_at = workflow.now()
        _observe(c, m.TIME_TO_FIRST_REPLY_SECONDS, sess.opened_at, by=by)


def rep_reply_refused(c: Conversation) -> None:
    _count(c, m.REP_REPLIES_REFUSED)


def delivery_failed(c: Conversation, error_code: int | None) -> None:
    _count(c, m.DELIVERY_FAILURES, error_code=str(error_code) if error_code is not None else "none")


def notice_posted(c: Conversation, kind: str) -> None:
    _count(c, m.NOTICES_POSTED, kind=kind)


def queue_position_sent(c: Conversation) -> None:
    _count(c, m.QUEUE_POSITION_UPDATES)


def after_hours_handoff(c: Conversation) -> None:
    _count(c, m.AFTER_HOURS_HANDOFFS)


def rating_given(c: Conversation, score: int) -> None:
    _count(c, m.CSAT_ANSWERS, score=str(score))


def session_ended(c: Conversation, sess: SessionState) -> None:
    """Containment: a session the AI held to its end, never asked to hand off."""
    _count(c, m.SESSIONS_ENDED, outcome="handed_off" if sess.handoff is not None else "contained")
