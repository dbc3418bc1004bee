"""After the run: what happened, read from the sandbox only (inboxes, Flex conversations, TaskRouter tasks and
the record), compared with what each script sent. Plus the workflows' health from Temporal (status, and no
WorkflowTaskFailed in any history)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.policy import QueueUpdates
from contracts.views import AI_OFFER_TIMED_OUT, AI_UNAVAILABLE
from loadgen.conversation import ConvLog
from loadgen.feature_checks import FeatureEvidence, check_csat, check_queue_updates, update_pattern
from loadgen.record import Entry

HANDOFF_ATTRIBUTES = {
    "handedOff": bool,
    "handoffReason": str,
    "handoffSummary": str,
    "handoffSentiment": str,
    "handoffLanguage": str,
    "handoffTimestamp": str,
}
AI_AUTHOR = "AI Support Agent"
REFUSAL_PREFIX = "Sorry, we could not receive your attachment"
LATE_NOTICE_KINDS = {"delivery_failed", "reply_refused", "send_failed"}
DELIVERED = {"delivered", "sent", "read"}

# "slow": a step took longer than the driver waited, but what it waited for is there in the end (reported).
Category = Literal["lost", "duplicated", "leaked", "wrong", "stalled", "slow", "workflow"]


# Defects the suite found that belong to other modules; a violation they explain carries the text (the report
# prints it; the focused xfail test pins the defect down).
GAP_NO_STATUS_RECONCILIATION = (
    "no delivery-status reconciliation: the failed status callback of a send never reached the service "
    "(dropped or API down), so the workflow never learned of 63016 and posted no notice "
    "(workflows/conversation.py: _reconcile covers TaskRouter tasks only)"
)

GAP_FIND_SENT = (
    "a retried template send is taken for done: activities/twilio_activities.py TwilioActivities._find_sent "
    "(attempt > 1) accepts ANY outbound message to the contact created since the first attempt was scheduled "
    "minus 5 s for a template (here the rep's refused free-form reply sent just before), so the template is "
    "reported sent and never goes out"
)

GAP_AI_OFFLINE = (
    "the AI worker went Offline after one of its reservations timed out (TaskRouter's TimeoutActivity): "
    "conversations offered to the AI meanwhile waited until it was Available again (the service's "
    "ensure_ai_worker_available, or the run's operator when --operator-repairs-ai-worker is on)"
)
AI_STEPS = ("AI answer",)
AI_GAVE_WAY = frozenset({AI_UNAVAILABLE, AI_OFFER_TIMED_OUT})


class Violation(BaseModel):
    category: Category
    conversation: str
    detail: str
    known_gap: str | None = None


class FeatureSettings(BaseModel):
    """What the org told the service to send on its own (the judge knows their texts and their rules)."""

    queue_updates: QueueUpdates = Field(default_factory=QueueUpdates)
    csat_content_sids: list[str] = Field(default_factory=list)  # empty: CSAT off
    csat_thanks: str | None = None


class ConvEvidence(BaseModel):
    """What the sandbox holds for one conversation."""

    inbox: list[dict[str, Any]] = Field(default_factory=list)
    flex: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)  # {sid, queue, status, attributes}
    outbound_bodies: list[str] = Field(default_factory=list)  # every Messages create to this contact
    outbound_sids_by_body: dict[str, list[str]] = Field(default_factory=dict)
    template_send_faulted: bool = False  # a send to this contact was retried (its _find_sent lookup is in the record)
    # Message SID → statuses whose callback the service answered with 2xx (at least once).
    status_callbacks_answered: dict[str, list[str]] = Field(default_factory=dict)
    features: FeatureEvidence = Field(default_factory=FeatureEvidence)


def ai_reply_coverage(flex: list[dict[str, Any]], contact_id: str, ai_turn_bodies: set[str]) -> tuple[int, int]:
    """(contact messages no AI reply follows, AI replies that follow no contact message), walking the Flex thread
    in order. A message is answered by the first AI reply after it; messages that came in a burst are answered
    by one reply, by design (one AI turn per backlog), so counting replies against messages would call a burst
    lost. A reply with no contact message since the previous reply answers nothing: a duplicate."""
    waiting = idle = 0
    for m in flex:
        if m.get("author") == contact_id and m.get("body") in ai_turn_bodies:
            waiting += 1
        elif m.get("author") == AI_AUTHOR:
            if not waiting:
                idle += 1
            waiting = 0
    return waiting, idle


def _count(items: list[Any], value: Any) -> int:
    return sum(1 for i in items if i == value)


def check_conversation(
    conv: ConvLog,
    ev: ConvEvidence,
    *,
    template_sid: str,
    human_queue_sid: str,
    busy_message: str | None,
    task_status_changes: dict[str, list[str]],
    invites_by_task: Counter[str],
    ai_offline: bool = False,
    features: FeatureSettings | None = None,
) -> list[Violation]:
    out: list[Violation] = []
    features = features or FeatureSettings()

    def bad(category: Category, detail: str, known_gap: str | None = None) -> None:
        out.append(Violation(category=category, conversation=conv.tag, detail=detail, known_gap=known_gap))

    human = [t for t in ev.tasks if t["queue"] == human_queue_sid]
    # The service handed the conversation over because the AI could not answer it (its offer timed out, or the
    # AI failed): the contact messages it left unanswered are part of that one handoff.
    ai_gave_way = len(human) == 1 and (human[0].get("attributes") or {}).get("handoffReason") in AI_GAVE_WAY
    contact_id = f"whatsapp:{conv.contact}"
    ai_turn_bodies = {m.body for m in conv.contact_msgs if m.phase in ("ai", "handoff") and not m.dropped}
    unanswered, idle_replies = ai_reply_coverage(ev.flex, contact_id, ai_turn_bodies)
    for step in conv.stalled:
        if step == "reservation for a rep" and len(human) == 1:
            bad("slow", "the handoff reached a rep's queue only after the driver gave up waiting")
            continue
        if ai_gave_way and step in AI_STEPS:
            continue
        bad("stalled", f"never happened: {step}", GAP_AI_OFFLINE if ai_offline and step in AI_STEPS else None)

    delivered = [m for m in ev.inbox if m.get("status") in DELIVERED]
    delivered_bodies = [m.get("body") for m in delivered if not m.get("content_sid")]
    flex_contact = [m for m in ev.flex if m.get("author") == contact_id]
    flex_contact_bodies = [m.get("body") for m in flex_contact]
    flex_ai = [m.get("body") for m in ev.flex if m.get("author") == AI_AUTHOR]
    notices = [m for m in ev.flex if "waHandoffNotice" in (m.get("attributes") or {})]
    notes = [m for m in ev.flex if isinstance(m.get("attributes"), dict) and m["attributes"].get("waHandoffNote")]

    # Contact messages: each one the service received is in the Flex thread exactly once; a dropped one nowhere.
    ai_phase = 0
    for msg in conv.contact_msgs:
        n = _count(flex_contact_bodies, msg.body)
        if msg.dropped:
            if n:
                bad("wrong", f"contact message {msg.sid} was dropped before the service, yet is in Flex")
            continue
        if msg.phase in ("ai", "handoff"):
            ai_phase += 1
        if ev.flex and n == 0:
            bad("lost", f"contact message {msg.sid} ({msg.phase}) not in the Flex conversation")
        elif n > 1:
            bad("duplicated", f"contact message {msg.sid} in the Flex conversation {n} times")
        if msg.media and not msg.dropped:
            images = sum(1 for m in flex_contact if m.get("media"))
            if images != 1:
                bad("lost" if images == 0 else "duplicated", f"contact image copied into Flex {images} times")
            refusals = sum(1 for n_ in notices if n_["attributes"]["waHandoffNotice"] == "contact_media_refused")
            if refusals != 1:
                bad("lost" if refusals == 0 else "duplicated", f"{refusals} media-refused notices in Flex")
            told = sum(1 for b in delivered_bodies if isinstance(b, str) and b.startswith(REFUSAL_PREFIX))
            if told != 1:
                bad("lost" if told == 0 else "duplicated", f"the contact was told about the refused media {told} times")

    # Every contact message before the handoff is answered by exactly one AI reply, delivered exactly once.
    if ev.flex and unanswered and not ai_gave_way:
        gap = GAP_AI_OFFLINE if ai_offline and "AI answer" in conv.stalled else None
        bad("lost", f"{unanswered} of {ai_phase} contact messages with no AI reply after them", gap)
    if ev.flex and idle_replies:
        bad("duplicated", f"{idle_replies} AI replies answer no contact message ({len(flex_ai)} for {ai_phase})")
    for body in set(flex_ai):
        n, want = _count(delivered_bodies, body), _count(flex_ai, body)
        if n != want:
            bad("lost" if n < want else "duplicated", f"AI reply delivered {n}× (posted {want}×): {str(body)[:60]!r}")

    # Rep messages.
    late_seen = 0
    late_unheard = 0  # late replies whose send failed but whose failure callback the service never got
    for msg in conv.rep_msgs:
        if msg.phase == "template":
            continue
        n = _count(delivered_bodies, msg.body)
        if msg.dropped or msg.phase == "late":
            if n:
                bad(
                    "wrong",
                    f"rep message {msg.sid} ({'dropped' if msg.dropped else 'outside the window'}) reached the contact",
                )
            if msg.phase == "late" and not msg.dropped:
                late_seen += 1
                sends = ev.outbound_sids_by_body.get(msg.body, [])
                if sends and not any(
                    {"failed", "undelivered"} & set(ev.status_callbacks_answered.get(sid, [])) for sid in sends
                ):
                    late_unheard += 1
            continue
        if n != 1:
            bad("lost" if n == 0 else "duplicated", f"rep reply {msg.sid} inside the window delivered {n} times")
    late_notices = sum(1 for n_ in notices if n_["attributes"]["waHandoffNotice"] in LATE_NOTICE_KINDS)
    # Only a conversation that ran phase B has a known number of refused sends (a stalled one may have had,
    # e.g., a busy message refused after the window jump, with its own legitimate notice).
    if conv.phase_a_done and late_notices != late_seen:
        gap = (
            GAP_NO_STATUS_RECONCILIATION
            if late_notices < late_seen and late_seen - late_notices <= late_unheard
            else None
        )
        bad(
            "lost" if late_notices < late_seen else "duplicated",
            f"{late_notices} window/delivery notices for {late_seen} free-form replies outside the window",
            gap,
        )
    templates_sent = sum(1 for m in conv.rep_msgs if m.phase == "template" and not m.dropped)
    templates_got = sum(1 for m in delivered if m.get("content_sid") == template_sid)
    if templates_got != templates_sent:
        lost = templates_got < templates_sent
        bad(
            "lost" if lost else "duplicated",
            f"template delivered {templates_got}× for {templates_sent} sends",
            GAP_FIND_SENT if lost and ev.template_send_faulted else None,
        )

    # What the service tells the contact on its own: queue updates, the rating question and its thank-you.
    feature_evidence = ev.features.model_copy(update={"flex": ev.flex})
    for finding in check_queue_updates(feature_evidence, features.queue_updates):
        bad(finding.category, finding.detail)
    if features.csat_content_sids and features.csat_thanks:
        for finding in check_csat(
            feature_evidence,
            question_sids=features.csat_content_sids,
            thanks=features.csat_thanks,
            asked=conv.rating_asked,
            rating=conv.rating,
        ):
            bad(finding.category, finding.detail)

    # Nothing else reached the contact; notes and notices never did.
    known = set(flex_ai) | {m.body for m in conv.rep_msgs} | ({busy_message} if busy_message else set())
    if features.csat_thanks:
        known.add(features.csat_thanks)
    queue_update = update_pattern(features.queue_updates)
    for b in delivered_bodies:
        if isinstance(b, str) and queue_update.match(b):
            continue
        if b not in known and not (isinstance(b, str) and b.startswith(REFUSAL_PREFIX)):
            bad("leaked", f"unexpected message reached the contact: {str(b)[:80]!r}")
    if busy_message and _count(delivered_bodies, busy_message) > 1:
        bad("duplicated", "the busy message reached the contact more than once")
    internal = {m.get("body") for m in notices + notes if m.get("body")}
    for b in ev.outbound_bodies:
        if b in internal:
            bad("leaked", f"a handoff note or notice was sent to WhatsApp: {b[:80]!r}")

    # Handoff: exactly one human task with the six attributes; the AI let go of its task exactly once.
    # The AI's own task carries the six attributes too (they are merged into it before the transfer): a human
    # task is one in the human queue.
    ai = [t for t in ev.tasks if t["queue"] != human_queue_sid]
    asked = any(m.phase == "handoff" and not m.dropped for m in conv.contact_msgs)
    if conv.phase_a_done or conv.human_task_sid or asked:
        if len(human) != 1:
            bad("lost" if not human else "duplicated", f"{len(human)} human tasks for one handoff")
        for t in human:
            attrs = t["attributes"]
            wrong = [k for k, typ in HANDOFF_ATTRIBUTES.items() if not isinstance(attrs.get(k), typ)]
            if wrong or attrs.get("handedOff") is not True:
                bad("wrong", f"human task {t['sid']} lacks/mistypes {wrong or ['handedOff']}")
        if len(ai) > 1:
            bad("duplicated", f"{len(ai)} AI tasks in one session")
        # Transfer (the usual case): the AI's task ended exactly once and exactly one invite was made. (If the AI
        # had rejected a pending reservation instead, its task itself moved to the human queue: no AI task left.)
        for t in ai:
            ends = [s for s in task_status_changes.get(t["sid"], []) if s in ("completed", "canceled")]
            if len(ends) != 1:
                bad("wrong", f"AI task {t['sid']} ended {len(ends)} times")
            invites = sum(invites_by_task.get(h["sid"], 0) for h in human)
            if invites != 1:
                bad("duplicated" if invites > 1 else "lost", f"{invites} invites for one transfer")
    # The handoff needs the AI's task: when the AI never got it (the AI-offline defect), the handoff's losses are
    # that defect's too.
    if any(v.known_gap == GAP_AI_OFFLINE for v in out):
        for v in out:
            if v.known_gap is None and any(k in v.detail for k in ("human task", "invites", "reservation for a rep")):
                v.known_gap = GAP_AI_OFFLINE
    # A stalled wait is judged by its effect at the end: missing (its loss is reported; the stall carries the
    # known defect that explains the loss, if any), or there after all (slow).
    effect = {
        "AI answer": ("AI repl",),
        "rep reply reaching the contact": ("rep reply",),
        "contact image copied into Flex": ("contact image",),
        "media refusal reaching the contact": ("refused media", "media-refused"),
        "template reaching the contact": ("template delivered",),
        "notice for the late free-form reply": ("window/delivery notices",),
        "rating question reaching the contact": ("rating questions",),
        "rating thank-you reaching the contact": ("rating thank-yous",),
    }
    for v in out:
        markers = effect.get(v.detail.removeprefix("never happened: ")) if v.category == "stalled" else None
        if markers is None:
            continue
        losses = [w for w in out if w is not v and any(m in w.detail for m in markers)]
        if not losses:
            v.category = "slow"
        elif v.known_gap is None:
            v.known_gap = next((w.known_gap for w in losses if w.known_gap), None)
    return out


def task_rows(tasks: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for t in tasks:
        try:
            attrs = json.loads(t.attributes or "{}")
        except ValueError:
            attrs = {}
        rows.append(
            {
                "sid": t.sid,
                "queue": t.task_queue_sid,
                "status": t.assignment_status,
                "attributes": attrs if isinstance(attrs, dict) else {},
            }
        )
    return rows


def status_callbacks_answered(entries: list[Entry]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in entries:
        if e["kind"] == "webhook.sent" and e.get("webhook") == "messaging.status":
            status = e.get("status")
            if isinstance(status, int) and 200 <= status < 300:
                p = e.get("params") or {}
                out.setdefault(p.get("MessageSid", ""), []).append(p.get("MessageStatus", ""))
    return out


def status_changes(entries: list[Entry]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in entries:
        if e["kind"] == "task.status":
            out.setdefault(e["task_sid"], []).append(e["status"])
    return out
