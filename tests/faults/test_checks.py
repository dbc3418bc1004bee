"""The fault suite's judge (loadgen.checks) on hand-made evidence: a clean conversation passes, and each kind of
defect it must catch is caught (so a green fault run means something)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.policy import QueueUpdates
from contracts.views import AI_OFFER_TIMED_OUT
from loadgen.checks import (
    GAP_NO_STATUS_RECONCILIATION,
    ConvEvidence,
    FeatureSettings,
    check_conversation,
    status_callbacks_answered,
)
from loadgen.conversation import TEMPLATE_COMMAND, ConvLog, Sent
from loadgen.feature_checks import FeatureEvidence, Send, first_assigned, sends_by_contact

CONTACT = "+34600000001"
HUMAN_Q, AI_Q, TEMPLATE = "WQhuman", "WQai", "HXtemplate"
SIX = {
    "handedOff": True,
    "handoffReason": "wants a human",
    "handoffSummary": "s",
    "handoffSentiment": "neutral",
    "handoffLanguage": "en",
    "handoffTimestamp": "2026-11-25T10:00:00Z",
}


def _conv() -> ConvLog:
    c = ConvLog(index=0, contact=CONTACT, workflow_id="wf", tag="[t]", phase_a_done=True, human_task_sid="WTh")
    c.contact_msgs = [
        Sent(sid="SM1", body="hours? [t]", phase="ai"),
        Sent(sid="SM2", body="human please [t]", phase="handoff"),
    ]
    c.rep_msgs = [
        Sent(sid="IM1", body="hi, alice here [t]", phase="inside"),
        Sent(sid="IM2", body="still there? [t]", phase="late"),
        Sent(sid="IM3", body=TEMPLATE_COMMAND, phase="template"),
    ]
    return c


def _evidence() -> ConvEvidence:
    wa = f"whatsapp:{CONTACT}"
    return ConvEvidence(
        inbox=[
            {"body": "We open at 9.", "status": "delivered"},
            {"body": "Connecting you.", "status": "delivered"},
            {"body": "hi, alice here [t]", "status": "delivered"},
            {"body": "still there? [t]", "status": "failed"},
            {"body": "Hi Ana", "content_sid": TEMPLATE, "status": "delivered"},
        ],
        flex=[
            {"author": wa, "body": "hours? [t]"},
            {"author": "AI Support Agent", "body": "We open at 9."},
            {"author": wa, "body": "human please [t]"},
            {"author": "AI Support Agent", "body": "Connecting you."},
            {"author": "system", "body": "[note] summary", "attributes": {"waHandoffNote": True}},
            {"author": "alice", "body": "hi, alice here [t]"},
            {"author": "alice", "body": "still there? [t]"},
            {"author": "system", "body": "[notice] 63016", "attributes": {"waHandoffNotice": "delivery_failed"}},
        ],
        tasks=[
            {"sid": "WTai", "queue": AI_Q, "status": "completed", "attributes": dict(SIX)},
            {"sid": "WTh", "queue": HUMAN_Q, "status": "assigned", "attributes": dict(SIX)},
        ],
        outbound_bodies=["We open at 9.", "Connecting you.", "hi, alice here [t]", "still there? [t]"],
        outbound_sids_by_body={"still there? [t]": ["SMlate"]},
        status_callbacks_answered={"SMlate": ["queued", "failed"]},
    )


def _check(conv: ConvLog, ev: ConvEvidence, **kw: Any) -> list[Any]:
    return check_conversation(
        conv,
        ev,
        template_sid=TEMPLATE,
        human_queue_sid=HUMAN_Q,
        busy_message=None,
        task_status_changes=kw.get("changes", {"WTai": ["reserved", "assigned", "completed"]}),
        invites_by_task=kw.get("invites", Counter({"WTh": 1})),
    )


def test_a_clean_conversation_passes() -> None:
    assert _check(_conv(), _evidence()) == []


def test_a_rep_reply_delivered_twice_is_a_duplicate() -> None:
    ev = _evidence()
    ev.inbox.append({"body": "hi, alice here [t]", "status": "delivered"})
    found = _check(_conv(), ev)
    assert [v.category for v in found] == ["duplicated"]
    assert "IM1" in found[0].detail


def test_a_notice_sent_to_whatsapp_is_a_leak() -> None:
    ev = _evidence()
    ev.inbox.append({"body": "[notice] 63016", "status": "delivered"})
    ev.outbound_bodies.append("[notice] 63016")
    categories = [v.category for v in _check(_conv(), ev)]
    assert categories.count("leaked") == 2  # an unexpected delivery, and a notice handed to WhatsApp


def test_two_human_tasks_or_two_invites_are_caught() -> None:
    ev = _evidence()
    ev.tasks.append({"sid": "WTh2", "queue": HUMAN_Q, "status": "pending", "attributes": dict(SIX)})
    found = _check(_conv(), ev, invites=Counter({"WTh": 1, "WTh2": 1}))
    details = " | ".join(v.detail for v in found)
    assert "2 human tasks" in details and "2 invites" in details


def test_a_human_task_without_the_six_attributes_is_wrong() -> None:
    ev = _evidence()
    del ev.tasks[1]["attributes"]["handoffSentiment"]
    found = _check(_conv(), ev)
    assert [v.category for v in found] == ["wrong"] and "handoffSentiment" in found[0].detail


def test_a_missing_notice_is_lost_and_blamed_on_the_lost_callback_only_when_it_was() -> None:
    ev = _evidence()
    ev.flex = [m for m in ev.flex if "waHandoffNotice" not in (m.get("attributes") or {})]
    found = _check(_conv(), ev)
    assert [(v.category, v.known_gap) for v in found] == [("lost", None)]
    ev.status_callbacks_answered = {"SMlate": ["queued"]}  # the failure callback never got through
    found = _check(_conv(), ev)
    assert [(v.category, v.known_gap) for v in found] == [("lost", GAP_NO_STATUS_RECONCILIATION)]


def test_a_dropped_rep_message_must_reach_nobody() -> None:
    conv = _conv()
    conv.rep_msgs.append(Sent(sid="IM9", body="lost in transit [t]", phase="inside", dropped=True))
    ev = _evidence()
    assert _check(conv, ev) == []
    ev.inbox.append({"body": "lost in transit [t]", "status": "delivered"})
    assert [v.category for v in _check(conv, ev)] == ["wrong"]


def test_status_callbacks_answered_only_counts_2xx() -> None:
    entries: list[dict[str, Any]] = [
        {"kind": "webhook.sent", "webhook": "messaging.status", "status": 204,
         "params": {"MessageSid": "SM1", "MessageStatus": "queued"}},
        {"kind": "webhook.sent", "webhook": "messaging.status", "status": None,
         "params": {"MessageSid": "SM1", "MessageStatus": "failed"}},
        {"kind": "webhook.sent", "webhook": "messaging.status", "status": 503,
         "params": {"MessageSid": "SM1", "MessageStatus": "failed"}},
    ]  # fmt: skip
    assert status_callbacks_answered(entries) == {"SM1": ["queued"]}


def test_a_late_handoff_is_slow_but_a_missing_one_is_stalled() -> None:
    conv = _conv()
    conv.stalled = ["reservation for a rep"]
    assert [v.category for v in _check(conv, _evidence())] == ["slow"]
    ev = _evidence()
    ev.tasks = [t for t in ev.tasks if t["queue"] != HUMAN_Q]
    categories = sorted(v.category for v in _check(conv, ev))
    assert categories == ["lost", "lost", "stalled"]  # no human task, no invite, and the wait is a stall


def test_messages_the_ai_could_not_take_are_part_of_the_handoff_only_when_the_ai_gave_way() -> None:
    """The AI's offer timed out: the service handed the conversation to the humans before any AI reply. The
    unanswered messages are part of that one handoff; with an ordinary reason they are lost AI replies."""
    conv = _conv()
    conv.stalled = ["AI answer"]
    ev = _evidence()
    ev.flex = [m for m in ev.flex if m.get("author") != "AI Support Agent"]
    ev.inbox = [m for m in ev.inbox if m["body"] not in ("We open at 9.", "Connecting you.")]
    gave_way = dict(SIX, handoffReason=AI_OFFER_TIMED_OUT)
    ev.tasks = [{**t, "attributes": gave_way} for t in ev.tasks]
    assert _check(conv, ev) == []
    ev.tasks = [{**t, "attributes": dict(SIX)} for t in ev.tasks]
    assert sorted(v.category for v in _check(conv, ev)) == ["lost", "stalled"]
    # Giving way never excuses a reply posted twice.
    ev.tasks = [{**t, "attributes": gave_way} for t in ev.tasks]
    ev.flex += [{"author": "AI Support Agent", "body": "x"}] * 3
    ev.inbox += [{"body": "x", "status": "delivered"}] * 3
    assert [v.category for v in _check(conv, ev)] == ["duplicated"]


def test_a_late_notice_is_slow_a_missing_one_is_stalled_with_its_cause() -> None:
    conv = _conv()
    conv.stalled = ["notice for the late free-form reply"]
    assert [v.category for v in _check(conv, _evidence())] == ["slow"]
    ev = _evidence()
    ev.flex = [m for m in ev.flex if "waHandoffNotice" not in (m.get("attributes") or {})]
    ev.status_callbacks_answered = {"SMlate": ["queued"]}
    found = _check(conv, ev)
    assert sorted((v.category, v.known_gap) for v in found) == [
        ("lost", GAP_NO_STATUS_RECONCILIATION),
        ("stalled", GAP_NO_STATUS_RECONCILIATION),
    ]


def test_runs_on_one_stack_never_share_contact_numbers(tmp_path: Any) -> None:
    """Two runs judged on the same contact number judge each other's messages (CI saw exactly that once)."""
    from loadgen.stack import Stack

    first, second = Stack(tmp_path), Stack(tmp_path)  # a second process on a reused data directory counts on
    blocks = [first.next_contact_block(), first.next_contact_block(), second.next_contact_block()]
    assert blocks == [0, 1, 2]


def test_downtime_reports_median_and_longest_recovery_per_kind_of_fault(tmp_path: Any) -> None:
    """An outage after a restart must show up in the figures, not only as stalled steps."""
    import random

    from loadgen.chaos import Chaos, ChaosConfig
    from loadgen.stack import Stack

    chaos = Chaos(Stack(tmp_path), ChaosConfig(), random.Random(0))
    chaos.journal = [
        (10.0, "worker SIGKILL", 4.0),
        (60.0, "worker SIGKILL", 81.5),
        (70.0, "API restart", 2.0),
        (90.0, "worker SIGKILL", 5.0),
    ]
    assert chaos.downtime() == {
        "API restart": {"count": 1, "median_s": 2.0, "max_s": 2.0},
        "worker SIGKILL": {"count": 3, "median_s": 5.0, "max_s": 81.5},
    }


def test_spaced_chaos_keeps_every_fault_and_spreads_it_out() -> None:
    """The 2,000 run spaces its process faults so kills per conversation match the shorter runs."""
    import pytest

    from loadgen.chaos import ChaosConfig

    base = ChaosConfig()
    spaced = base.spaced(2.0)
    assert base.worker_kill_every is not None
    assert spaced.worker_kill_every == (base.worker_kill_every[0] * 2, base.worker_kill_every[1] * 2)
    assert spaced.handoff_kill_cooldown == base.handoff_kill_cooldown * 2
    assert spaced.api_restart_every == (base.api_restart_every or 0) * 2
    assert spaced.temporal_restart_every == (base.temporal_restart_every or 0) * 2
    assert spaced.handoff_kill_rate == base.handoff_kill_rate and spaced.kill_on == base.kill_on
    assert ChaosConfig(worker_kill_every=None, api_restart_every=None).spaced(3).worker_kill_every is None
    with pytest.raises(ValueError, match="positive"):
        base.spaced(0)


def test_a_burst_answered_by_one_reply_is_answered_and_its_late_answer_only_slow() -> None:
    """The driver gave up waiting for the first answer and sent its next message; the service answered both in
    one AI turn (one reply per backlog, by design). Nothing is lost: the driver's wait was only too short."""
    conv = _conv()
    conv.stalled = ["AI answer"]
    ev = _evidence()
    ev.flex = [m for m in ev.flex if m.get("body") != "We open at 9."]  # hours? and human please, then one reply
    ev.inbox = [m for m in ev.inbox if m["body"] != "We open at 9."]
    assert [(v.category, v.detail) for v in _check(conv, ev)] == [("slow", "never happened: AI answer")]


def test_replies_are_judged_by_their_place_in_the_thread_not_by_their_number() -> None:
    """Two replies to the first message and none after the second: as many replies as messages, yet one is a
    duplicate and one message is unanswered."""
    ev = _evidence()
    wa = f"whatsapp:{CONTACT}"
    ev.flex[:4] = [
        {"author": wa, "body": "hours? [t]"},
        {"author": "AI Support Agent", "body": "We open at 9."},
        {"author": "AI Support Agent", "body": "Connecting you."},
        {"author": wa, "body": "human please [t]"},
    ]
    found = _check(_conv(), ev)
    assert sorted(v.category for v in found) == ["duplicated", "lost"]
    assert any("1 of 2 contact messages with no AI reply" in v.detail for v in found)
    assert any("1 AI replies answer no contact message" in v.detail for v in found)


def test_ai_reply_coverage_walks_the_thread_in_order() -> None:
    from loadgen.checks import AI_AUTHOR, ai_reply_coverage

    c, ai = {"author": "wa:c", "body": "m"}, {"author": AI_AUTHOR, "body": "r"}
    other = {"author": "wa:c", "body": "not an AI-turn message"}
    assert ai_reply_coverage([c, c, ai], "wa:c", {"m"}) == (0, 0)
    assert ai_reply_coverage([c, ai, c, c, ai], "wa:c", {"m"}) == (0, 0)
    assert ai_reply_coverage([ai, c], "wa:c", {"m"}) == (1, 1)
    assert ai_reply_coverage([c, ai, other, ai], "wa:c", {"m"}) == (0, 1)
    assert ai_reply_coverage([], "wa:c", {"m"}) == (0, 0)


async def test_scripts_run_at_most_max_concurrent_at_once_and_keep_their_order() -> None:
    """2,000 phase-B scripts at once starved the driver (its HTTP pool is quadratic in its queue)."""
    import asyncio

    from loadgen.faultrun import bounded_gather

    running = peak = 0

    async def script(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return i

    out = await bounded_gather((script(i) for i in range(50)), 7)
    assert out == list(range(50))
    assert peak == 7


# ---------------------------------------------------------------- what the service tells the contact on its own
UPDATES = QueueUpdates(every_seconds=10, max_updates=3)
RATING_SID = "HXrating"
THANKS = "Thank you for your rating!"
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FEATURES = FeatureSettings(queue_updates=UPDATES, csat_content_sids=[RATING_SID], csat_thanks=THANKS)


def _update(position: int, seconds: float, error: int | None = None) -> Send:
    body = f"You are number {position} in line. Expected wait: about 2 minutes."
    return Send(sid=f"SMq{seconds}", body=body, at=T0 + timedelta(seconds=seconds), error_code=error)


def _rated(score: int | None = 4) -> tuple[ConvLog, ConvEvidence]:
    """The clean conversation, plus two queue updates before the rep accepted and one rating exchange."""
    conv = _conv()
    conv.rating_asked, conv.rating = True, score
    ev = _evidence()
    updates = [_update(2, 0), _update(1, 10.4)]
    ev.inbox += [{"body": u.body, "status": "delivered"} for u in updates]
    question = Send(sid="SMcsat", content_sid=RATING_SID, at=T0 + timedelta(minutes=5))
    ev.inbox.append({"body": "How did we do?", "content_sid": RATING_SID, "status": "delivered"})
    sends = [*updates, question]
    if score is not None:
        sends.append(Send(sid="SMthanks", body=THANKS, at=T0 + timedelta(minutes=6)))
        ev.inbox.append({"body": THANKS, "status": "delivered"})
        ev.flex.append(
            {
                "author": "system",
                "body": f"[notice] The contact rated this conversation {score}/5.",
                "attributes": {"waHandoffNotice": "csat"},
            }
        )
    ev.features = FeatureEvidence(sends=sends, rep_accepted_at=T0 + timedelta(seconds=12))
    return conv, ev


def _judge(conv: ConvLog, ev: ConvEvidence) -> list[tuple[str, str]]:
    found = check_conversation(
        conv,
        ev,
        template_sid=TEMPLATE,
        human_queue_sid=HUMAN_Q,
        busy_message=None,
        task_status_changes={"WTai": ["reserved", "assigned", "completed"]},
        invites_by_task=Counter({"WTh": 1}),
        features=FEATURES,
    )
    return [(v.category, v.detail) for v in found]


def test_queue_updates_and_a_rating_exchange_done_right_pass_and_are_not_leaks() -> None:
    assert _judge(*_rated()) == []
    conv, ev = _rated(score=None)  # asked, never answered: nothing to note, nothing to thank for
    assert _judge(conv, ev) == []


def test_a_queue_update_sent_twice_or_beyond_the_maximum_is_a_duplicate() -> None:
    conv, ev = _rated()
    ev.features.sends.append(_update(1, 10.9))  # the same update again, half a second later
    assert _judge(conv, ev) == [("duplicated", "queue update sent twice (0.5 s apart)")]
    conv, ev = _rated()
    ev.features.rep_accepted_at = None
    ev.features.sends += [_update(1, 21), _update(1, 32)]
    assert _judge(conv, ev) == [("duplicated", "4 queue updates (at most 3)")]


def test_a_queue_update_after_the_rep_accepted_or_outside_the_window_is_wrong() -> None:
    conv, ev = _rated()
    ev.features.sends.append(_update(1, 40))  # 28 s after the rep accepted
    assert _judge(conv, ev) == [("wrong", "1 queue update(s) after the rep accepted (28 s)")]
    conv, ev = _rated()
    ev.features.sends[1] = _update(1, 10.4, error=63016)
    assert _judge(conv, ev) == [("wrong", "1 queue update(s) sent outside the window (63016)")]
    # Refused only because the run jumped the sandbox's clock a day: the real clock still had the window open.
    ev.features.clock_jumped_at = T0 + timedelta(seconds=10)
    assert _judge(conv, ev) == []
    ev.features.clock_jumped_at = T0 + timedelta(seconds=11)
    assert _judge(conv, ev) == [("wrong", "1 queue update(s) sent outside the window (63016)")]


def test_the_rating_question_is_asked_once_and_only_after_a_reps_session() -> None:
    conv, ev = _rated()
    ev.features.sends.append(Send(sid="SMcsat2", content_sid=RATING_SID, at=T0 + timedelta(minutes=5, seconds=1)))
    assert _judge(conv, ev) == [("duplicated", "2 rating questions")]
    conv, ev = _rated(score=None)
    ev.features.sends = [s for s in ev.features.sends if s.content_sid != RATING_SID]
    assert _judge(conv, ev) == [("lost", "0 rating questions")]
    conv.rating_asked = False
    assert _judge(conv, ev) == []
    ev.features.sends.append(Send(sid="SMx", content_sid=RATING_SID, at=T0))
    assert _judge(conv, ev) == [("wrong", "a rating question without a rep's session ending")]


def test_the_rating_is_noted_once_with_its_score_and_thanked_for_once() -> None:
    conv, ev = _rated()
    ev.flex.append(dict(ev.flex[-1]))  # the answer's duplicate webhook noted it again
    assert _judge(conv, ev) == [("duplicated", "2 rating notes in Flex")]
    conv, ev = _rated()
    ev.flex = [m for m in ev.flex if "rated this" not in str(m.get("body"))]
    assert _judge(conv, ev) == [("lost", "0 rating notes in Flex")]
    conv, ev = _rated()
    conv.rating = 2
    assert _judge(conv, ev) == [("wrong", "the rating note says 4/5, the contact tapped 2")]
    conv, ev = _rated()
    ev.features.sends.append(Send(sid="SMthanks2", body=THANKS, at=T0 + timedelta(minutes=7)))
    assert _judge(conv, ev) == [("duplicated", "2 rating thank-yous")]


def test_a_rating_message_refused_for_the_closed_window_is_wrong() -> None:
    conv, ev = _rated()
    ev.features.sends = [
        s.model_copy(update={"error_code": 63016}) if s.body == THANKS else s for s in ev.features.sends
    ]
    assert ("wrong", "1 rating thank-you(s) sent outside the window (63016)") in _judge(conv, ev)


def test_sends_and_acceptances_are_read_from_the_record() -> None:
    def at(second: int) -> str:
        return f"2026-12-02T12:00:{second:02d}.000Z"

    entries: list[dict[str, Any]] = [
        {"kind": "messaging.created", "message_sid": "SM1", "to": CONTACT, "body": "a", "wall": at(0)},
        {"kind": "contact.failed", "message_sid": "SM1", "error_code": 63016, "wall": at(1)},
        {"kind": "messaging.created", "message_sid": "SM2", "to": CONTACT, "content_sid": RATING_SID, "wall": at(2)},
        {"kind": "task.status", "task_sid": "WTh", "status": "reserved", "wall": at(3)},
        {"kind": "task.status", "task_sid": "WTh", "status": "assigned", "wall": at(4)},
        {"kind": "task.status", "task_sid": "WTh", "status": "assigned", "wall": at(9)},
    ]
    [first, second] = sends_by_contact(entries)[CONTACT]
    assert (first.sid, first.error_code, second.content_sid, second.error_code) == ("SM1", 63016, RATING_SID, None)
    assert first_assigned(entries) == {"WTh": T0 + timedelta(seconds=4)}


def test_a_late_rating_question_is_slow_a_missing_one_stays_stalled() -> None:
    conv, ev = _rated(score=None)  # the driver gave up before the question came: it never tapped
    conv.stalled = ["rating question reaching the contact"]
    assert _judge(conv, ev) == [("slow", "never happened: rating question reaching the contact")]
    ev.features.sends = [s for s in ev.features.sends if s.content_sid != RATING_SID]
    assert _judge(conv, ev) == [
        ("stalled", "never happened: rating question reaching the contact"),
        ("lost", "0 rating questions"),
    ]
