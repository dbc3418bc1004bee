"""Missed webhooks: a dropped delivery-status callback (read back with one batched Messages fetch) and
a transfer whose human task sid never came back (looked up by session)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from tests.workflow.fakes import task_seen
from tests.workflow.harness import Conv


async def _timers(conv: Conv, text: str) -> int:
    history = await conv.handle.fetch_history()
    return sum(
        1
        for ev in history.events
        if ev.event_type == EventType.EVENT_TYPE_TIMER_STARTED and text in ev.user_metadata.summary.data.decode()
    )


async def test_a_dropped_63016_callback_still_becomes_a_notice(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.conversation_sid
    sends = len(conv.fake.of("send_whatsapp"))
    await conv.rep_says(view.conversation_sid, "Hello, Alice here", "IMrep1")
    await conv.until_calls("send_whatsapp", sends + 1)
    rep_sid = f"SMout{sends + 1}"
    # The earlier messages were delivered (callbacks came); the rep's reply failed and its callback was lost.
    for i in range(1, sends + 1):
        await conv.status(f"SMout{i}", "delivered")
    conv.fake.message_statuses[rep_sid] = ("undelivered", 63016)
    await conv.quiet()
    assert conv.fake.of("fetch_message_statuses") == []
    await conv.skip(timedelta(minutes=10, seconds=5))
    view = await conv.until(lambda v: bool(v.delivery_failures), "failure from the read-back")
    [fetched] = conv.fake.of("fetch_message_statuses")
    assert fetched.message_sids == [rep_sid]
    [failure] = view.delivery_failures
    assert (failure.message_sid, failure.error_code, failure.what) == (rep_sid, 63016, "rep reply")
    assert not view.window_open  # 63016 closes the window as the callback would have
    notices = [p.body for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNotice")]
    assert sum("error 63016" in (b or "") for b in notices) == 1
    # The late callback arrives after all: nothing twice.
    await conv.status(rep_sid, "undelivered", 63016)
    view = await conv.until(lambda v: v.duplicates_ignored >= 1, "late callback ignored")
    assert len(view.delivery_failures) == 1
    await conv.skip(timedelta(hours=2))
    await conv.quiet()
    assert len(conv.fake.of("fetch_message_statuses")) == 1


async def test_in_flight_messages_are_read_once_more_then_dropped_and_no_timer_per_message(conv: Conv) -> None:
    await conv.to_first_ai_reply("SM1", "hello")
    before = await _timers(conv, "delivery")
    for i in range(2, 6):
        await conv.contact_msg(f"SM{i}", f"question {i}")
        await conv.until_calls("send_whatsapp", i)
    await conv.quiet()
    assert await _timers(conv, "delivery") == before == 1  # one timer for the whole burst
    # Each send names the earlier ones, so a retried send never takes one of them for its own.
    assert [s.known_sids for s in conv.fake.of("send_whatsapp")][:3] == [[], ["SMout1"], ["SMout1", "SMout2"]]
    for i in range(1, 6):
        conv.fake.message_statuses[f"SMout{i}"] = ("sent", None)  # the phone is off: no "delivered" yet
    await conv.skip(timedelta(minutes=11))
    await conv.until_calls("fetch_message_statuses", 1)
    await conv.skip(timedelta(minutes=61))
    calls = await conv.until_calls("fetch_message_statuses", 2)
    assert sorted(calls[0].message_sids) == sorted(calls[1].message_sids) == [f"SMout{i}" for i in range(1, 6)]
    await conv.skip(timedelta(hours=3))
    await conv.quiet()
    assert len(conv.fake.of("fetch_message_statuses")) == 2
    assert (await conv.view()).delivery_failures == []


async def test_transfer_without_the_human_task_sid_is_reconciled_by_session(conv: Conv) -> None:
    conv.fake.human_task_known = False
    sess = conv.session_id("SM1")
    view = await conv.to_queued("SM1", "hi")
    assert view.human_task_sid is None and view.handoff_path == "transferred"
    conv.fake.fetch_results = [
        # The human task is not visible yet: the AI's own task (completed at the transfer) must not end anything.
        task_seen("WT1", "completed"),
        task_seen("WThuman7", "assigned", reservation=("WRb", "WKbob", "accepted")),
    ]
    await conv.skip(timedelta(seconds=61))
    await conv.until_calls("fetch_task", 1)
    await conv.quiet()
    view = await conv.view()
    assert view.state == "queued" and view.sessions_ended == 0
    await conv.skip(timedelta(seconds=121))
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep from reconciliation")
    assert view.human_task_sid == "WThuman7" and view.rep_worker_sid == "WKbob"
    assert [f.human_task_of_session for f in conv.fake.of("fetch_task")] == [sess, sess]


async def test_an_ai_reservation_timeout_puts_the_ai_worker_back_to_available(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    # The offer's reservation.created was missed; TaskRouter reports the timeout (AI worker now Offline).
    await conv.tr(
        "reservation.timeout",
        "WT1",
        reservation="WR1",
        worker_sid="WKai",
        worker_name="AI Support Agent",
        session=sess,
    )
    [ensured] = await conv.until_calls("ensure_ai_worker_available", 1)
    assert ensured.worker_sid == "WKai"
    await conv.ai_offer(sess, reservation="WR2")  # TaskRouter offers it again once the AI is available
    [accepted] = await conv.until_calls("accept_ai_reservation", 1)
    assert accepted.reservation_sid == "WR2"


async def test_a_timed_out_offer_found_by_reconciliation_puts_the_ai_worker_back(conv: Conv) -> None:
    conv.fake.fetch_results = [task_seen("WT1", "pending", "WQai", ("WR1", "WKai", "timeout"))]
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.quiet()
    assert conv.fake.of("fetch_task") == []
    await conv.skip(timedelta(seconds=31))  # well inside TaskRouter's 120 s reservation timeout
    [ensured] = await conv.until_calls("ensure_ai_worker_available", 1)
    assert ensured.worker_sid == "WKai"
    assert (await conv.view()).awaiting == "ai_reservation"  # still waiting for the new offer


async def test_a_task_never_offered_makes_sure_the_ai_worker_is_available(conv: Conv) -> None:
    """Another conversation's lost timeout left the AI worker Offline: this one's task gets no offer at all."""
    conv.fake.fetch_results = [task_seen("WT1", "pending", "WQai")]
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.quiet()
    assert conv.fake.of("ensure_ai_worker_available") == []
    await conv.skip(timedelta(seconds=31))
    [ensured] = await conv.until_calls("ensure_ai_worker_available", 1)
    assert ensured.worker_sid is None and ensured.worker_name == "AI Support Agent"  # found by name
    assert (await conv.view()).awaiting == "ai_reservation"


async def test_an_offer_that_never_comes_back_after_its_timeout_goes_to_the_humans(conv: Conv) -> None:
    """Fault run: a missed reservation.created plus a killed worker let the AI's offer time out; TaskRouter kept
    the task pending without offering it to the AI again, and the contact waited for nobody until the task TTL."""
    timed_out = task_seen("WT1", "pending", "WQai", ("WR1", "WKai", "timeout"))
    conv.fake.fetch_results = [timed_out, timed_out.model_copy()]
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.skip(timedelta(seconds=31))
    await conv.until_calls("ensure_ai_worker_available", 1)
    assert conv.fake.of("merge_handoff_attributes") == []  # first the AI gets its chance to be offered it again
    await conv.skip(timedelta(seconds=61))
    [handed] = await conv.until_calls("hand_to_humans", 1)
    # Only the AI worker's reservation may be transferred: a rep may already hold the re-routed task.
    assert handed.task_sid == "WT1" and handed.reservation_sid is None and handed.ai_worker_sid == "WKai"
    [merged] = conv.fake.of("merge_handoff_attributes")
    assert "offer timed out" in merged.handoff_attributes["handoffReason"]
    assert len(conv.fake.of("ensure_ai_worker_available")) == 1
    view = await conv.view()
    assert view.state == "queued" and view.awaiting == "human_acceptance"


async def test_an_offer_made_again_after_its_timeout_keeps_the_conversation_with_the_ai(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.tr(
        "reservation.timeout", "WT1", reservation="WR1", worker_sid="WKai", worker_name="AI Support Agent", session=sess
    )
    await conv.until_calls("ensure_ai_worker_available", 1)
    await conv.ai_offer(sess, reservation="WR2")
    await conv.until_calls("send_whatsapp", 1)
    await conv.skip(timedelta(minutes=5))
    await conv.quiet()
    assert conv.fake.of("merge_handoff_attributes") == [] and (await conv.view()).state == "ai"


async def test_a_missed_rep_task_end_is_read_back_before_the_next_contact_message_goes_to_the_rep(conv: Conv) -> None:
    view = await conv.to_with_rep()
    old_conversation, old_session = view.conversation_sid, view.session_id
    assert old_conversation and old_session
    # The rep completed the task; its `task.completed` (and the reservation's events) never came.
    conv.fake.fetch_results.append(task_seen("WThuman", "completed"))
    await conv.contact_msg("SM7", "are you still there?")
    view = await conv.until(lambda v: v.task_sid == "WT2", "a new session's task")
    # The rep's task read back, then the session's tasks (a transfer would show a newer one): none.
    [check, newer] = conv.fake.of("fetch_task")
    assert check.task_sid == newer.task_sid == "WThuman" and newer.human_task_of_session == old_session
    assert view.sessions_ended == 1 and view.session_number == 2 and view.state == "ai"
    assert view.conversation_sid not in (None, old_conversation)
    [posted] = [p for p in conv.fake.of("post_to_flex") if p.idempotency_id == "contact:SM7"]
    assert posted.conversation_sid == view.conversation_sid  # the new conversation, never the finished one
    # The AI answers it in the new session (at once, while the session opened), after it in the new conversation;
    # the AI's offer and the late task end of the old one change nothing.
    assert conv.fake.of("send_whatsapp")[-1].body == "AI: are you still there?"
    [reply] = [p for p in conv.fake.of("post_to_flex") if p.idempotency_id == "ai:SM7"]
    assert reply.conversation_sid == view.conversation_sid
    sends = len(conv.fake.of("send_whatsapp"))
    await conv.ai_offer(conv.session_id("SM7"), task="WT2", reservation="WR2")
    await conv.until_calls("accept_ai_reservation", 1)
    await conv.tr("task.completed", "WThuman", session=old_session)
    await conv.quiet()
    view = await conv.view()
    assert view.sessions_ended == 1 and view.session_number == 2
    assert len(conv.fake.of("send_whatsapp")) == sends


async def test_a_rep_still_holding_the_task_gets_the_message_after_one_read_per_batch(conv: Conv) -> None:
    view = await conv.to_with_rep()
    assert view.conversation_sid
    assigned = task_seen("WThuman", "assigned")
    conv.fake.fetch_results += [assigned, assigned]
    await conv.contact_msg("SM7", "one more thing")
    await conv.until_calls("fetch_task", 1)
    await conv.quiet()
    await conv.contact_msg("SM8", "and another")
    await conv.until_calls("fetch_task", 2)
    await conv.quiet()
    view = await conv.view()
    assert view.state == "with_rep" and view.sessions_ended == 0 and view.session_number == 1
    posts = {p.idempotency_id: p.conversation_sid for p in conv.fake.of("post_to_flex")}
    assert posts["contact:SM7"] == posts["contact:SM8"] == view.conversation_sid
    assert len(conv.fake.of("fetch_task")) == 2  # one read per contact message batch, none for anything else
