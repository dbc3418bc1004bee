"""Exactly once, continue-as-new (the first activation of a new run included), missed webhooks read back, and
bad data from Twilio never failing the workflow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contracts.ai import TranscriptLine
from tests.workflow.fakes import client_error, task_seen
from tests.workflow.harness import TEMPLATES, Conv
from workflows.state import ConversationState


async def test_a_duplicate_of_every_signal_type_causes_nothing_twice(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    first = await conv.begin("SM1", "hello")
    await conv.signal("contact_message", first)  # Twilio retried the inbound webhook
    await conv.until(lambda v: v.task_sid is not None, "task")
    offer = await conv.ai_offer(sess)
    await conv.signal("taskrouter_event", offer)
    await conv.until_calls("send_whatsapp", 1)
    await conv.status("SMout1", "failed", 63018)
    await conv.status("SMout1", "failed", 63018)
    await conv.template("tpl-1", "order_update", ["Ana", "1"])
    await conv.template("tpl-1", "order_update", ["Ana", "1"])
    first_request = await conv.request_handoff("req-1")
    assert first_request.outcome == "handed_off" and first_request.task_sid == "WThuman"
    again = await conv.request_handoff("req-1")  # the operator's retry: answered, nothing done again
    assert again.outcome in ("handed_off", "duplicate")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await conv.request_handoff("req-2")  # a second, distinct request once the humans have it
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "AlreadyHandedOff"
    await conv.until(lambda v: v.state == "queued", "queued")
    accepted = await conv.rep_accepts(sess, "WThuman")
    await conv.signal("taskrouter_event", accepted)
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep")
    assert view.conversation_sid is not None
    await conv.rep_says(view.conversation_sid, "hi", "IMrep")
    await conv.rep_says(view.conversation_sid, "hi", "IMrep")
    await conv.until_calls("send_whatsapp", 3)
    await conv.quiet()
    fake = conv.fake
    contact_posts = [p for p in fake.of("post_to_flex") if p.author.startswith("whatsapp:")]
    assert len(contact_posts) == 1
    assert len(fake.of("open_flex_conversation")) == 1 and len(fake.of("create_interaction")) == 1
    assert len(fake.of("accept_ai_reservation")) == 1 and len(fake.of("ai_turn")) == 1
    assert len(fake.of("merge_handoff_attributes")) == 1 and len(fake.of("hand_to_humans")) == 1
    templates = [s for s in fake.of("send_whatsapp") if s.content_sid == TEMPLATES["order_update"]]
    assert len(templates) == 1
    assert [s.body for s in fake.of("send_whatsapp") if s.body == "hi"] == ["hi"]
    failures = [p for p in fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "delivery_failed"]
    assert len(failures) == 1
    view = await conv.view()
    # Five duplicate signals; the two retried updates count too unless the server answers them from its own
    # record of the update id.
    assert 5 <= view.duplicates_ignored <= 7 and view.handoff_count == 1


async def test_continue_as_new_mid_handoff_loses_nothing(conv: Conv) -> None:
    conv.fake.fail["hand_to_humans"] = [client_error("temporarily refused", 20001)]
    sess = conv.session_id("SM1")
    first = await conv.begin("SM1", "hello", continue_as_new_after_events=3)
    await conv.until(lambda v: v.task_sid is not None, "task")
    offer = await conv.ai_offer(sess)
    await conv.until_calls("send_whatsapp", 1)
    await conv.contact_msg("SM2", "I need a human")
    # Third event processed: hand_off failed (at hand_to_humans) → retry pending → continue-as-new.
    view = await conv.until(lambda v: v.runs == 2, "continued as new")
    # The new run carries the pending retry (on a loaded machine it may already have run it: the counts below
    # show it ran in the new run, exactly once more).
    assert view.task_sid == "WT1"
    assert (view.state == "handoff_requested" and view.stuck) or view.state == "queued", view
    transcript = await conv.handle.query("transcript")
    assert [line["text"] for line in transcript] == ["hello", "AI: hello", "I need a human", "Let me get you a person."]
    # Duplicates from before the continue-as-new are still recognised.
    await conv.signal("contact_message", first)
    await conv.signal("taskrouter_event", offer)
    await conv.skip(timedelta(seconds=31))
    view = await conv.until(lambda v: v.state == "queued", "queued in the new run")
    await conv.rep_accepts(sess, "WThuman")
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep")
    fake = conv.fake
    # One handoff, retried once in the new run: its steps ran twice, each under its idempotency (same merge,
    # the note's id).
    assert len(fake.of("hand_off")) == 2
    merges = fake.of("merge_handoff_attributes")
    assert len(merges) == 2 and merges[0] == merges[1]
    assert len({p.idempotency_id for p in fake.of("post_to_flex") if p.attributes.get("waHandoffNote")}) == 1
    assert len(fake.of("hand_to_humans")) == 2
    assert len(fake.of("accept_ai_reservation")) == 1 and len(fake.of("ai_turn")) == 2
    assert view.duplicates_ignored == 2 and view.handoff_count == 1 and view.runs >= 2
    assert view.window_open and view.human_task_sid == "WThuman"


async def test_missed_reservation_offer_is_reconciled(conv: Conv) -> None:
    conv.fake.fetch_results = [task_seen("WT1", "reserved", "WQai", ("WR9", "WKai", "pending"))]
    await conv.begin("SM1", "hello")
    view = await conv.until(lambda v: v.task_sid is not None, "task")
    assert view.awaiting == "ai_reservation"
    await conv.quiet()
    assert conv.fake.of("fetch_task") == []  # nothing before the grace period
    await conv.skip(timedelta(seconds=61))
    await conv.until_calls("send_whatsapp", 1)
    accept = conv.fake.of("accept_ai_reservation")[0]
    assert (accept.reservation_sid, accept.worker_sid) == ("WR9", "WKai")
    assert conv.fake.of("fetch_task")[0].task_sid == "WT1"
    assert (await conv.view()).awaiting is None


async def test_missed_acceptance_and_missed_task_end_are_reconciled(conv: Conv) -> None:
    await conv.to_queued("SM1", "hi")
    conv.fake.fetch_results = [
        task_seen("WThuman", "pending"),
        task_seen("WThuman", "assigned", reservation=("WRb", "WKbob", "accepted")),
        task_seen("WThuman", "completed"),
    ]
    await conv.skip(timedelta(seconds=61))
    await conv.until_calls("fetch_task", 1)
    await conv.quiet()
    assert (await conv.view()).state == "queued"  # still pending: look again later (backoff)
    await conv.skip(timedelta(seconds=121))
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep from reconciliation")
    assert view.rep_worker_sid == "WKbob" and view.awaiting == "rep_task_end"
    await conv.skip(timedelta(hours=1, seconds=5))
    view = await conv.until(lambda v: v.sessions_ended == 1, "session end from reconciliation")
    assert view.state == "ai"
    # The three read-backs, then the session's tasks read once more: no newer one (no transfer), so it ended.
    fetches = conv.fake.of("fetch_task")
    assert [f.task_sid for f in fetches] == ["WThuman"] * 4
    assert fetches[-1].human_task_of_session == conv.session_id("SM1")


async def test_bad_data_is_noted_and_skipped(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    # An offer with no worker, an event of another session, a message for another conversation.
    await conv.tr("reservation.created", "WT1", reservation="WR1", worker_name="AI Support Agent", session=sess)
    await conv.tr("reservation.created", "WT7", reservation="WR7", worker_sid="WKai", session="other-session")
    await conv.rep_says("CHunknown", "hello?", "IMx")
    await conv.status("SMunknown", "failed", 12345)
    view = await conv.until(lambda v: len(v.skipped) >= 2, "skips noted")
    assert any("without reservation or worker" in s for s in view.skipped)
    assert any("not this session's" in s for s in view.skipped)
    assert view.delivery_failures[0].error_code == 12345
    # Still working.
    await conv.ai_offer(sess)
    await conv.until_calls("send_whatsapp", 1)


async def test_twilio_4xx_on_send_becomes_state_and_notice(conv: Conv) -> None:
    conv.fake.fail["send_whatsapp"] = [client_error("The 'To' number is not a valid WhatsApp user", 63024)]
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(sess)
    view = await conv.until(lambda v: v.last_error is not None, "error recorded")
    assert "TwilioClientError" in (view.last_error or "")
    assert len(conv.fake.of("send_whatsapp")) == 1  # non-retryable: no retry storm
    notices = [p.body for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "send_failed"]
    assert len(notices) == 1 and "AI reply was not sent" in (notices[0] or "")
    await conv.contact_msg("SM2", "still there?")
    await conv.until_calls("send_whatsapp", 2)


async def test_flex_refusing_the_ai_reply_still_answers_the_contact(conv: Conv) -> None:
    conv.fake.fail["post_to_flex"] = [None, client_error("Conversation is closed", 50350)]
    await conv.to_first_ai_reply("SM1", "hello")
    view = await conv.until(lambda v: v.last_error is not None, "error noted")
    assert "posting the AI reply to Flex failed" in (view.last_error or "")
    assert conv.fake.of("send_whatsapp")[0].body == "AI: hello"
    await conv.contact_msg("SM2", "and then?")
    await conv.until_calls("send_whatsapp", 2)


async def test_a_message_in_the_first_activation_after_continue_as_new_is_not_lost(conv: Conv) -> None:
    """Signal-with-start whose input carries state: what the first workflow task after continue-as-new sees for a
    webhook that arrives during the switch. The message must land in the carried state and be answered."""
    carried = ConversationState(
        events_processed=5,
        session_number=1,
        sessions_ended=1,
        dedup=["contact:SM1"],
        transcript=[TranscriptLine(speaker="contact", text="earlier", at=await conv.now())],
        runs=2,
    )
    start = conv.start_input()
    start.carried_state = carried.model_dump(mode="json")
    await conv.contact_msg("SM9", "are you there?", start=start)
    view = await conv.until(lambda v: v.task_sid is not None, "the message opened a session")
    assert (view.events_processed, view.session_number, view.runs) == (6, 2, 3)
    await conv.ai_offer(conv.session_id("SM9"))
    [send] = await conv.until_calls("send_whatsapp", 1)
    assert send.body == "AI: are you there?"
    transcript = await conv.handle.query("transcript")
    assert [line["text"] for line in transcript] == ["earlier", "are you there?", "AI: are you there?"]
