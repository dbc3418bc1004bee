"""The handoff (order, both paths, 412, AI failure) and the stuck flag."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecutionDescription

from contracts import search_attributes as sa
from tests.workflow.fakes import client_error
from tests.workflow.harness import Conv

SIX = {"handedOff", "handoffReason", "handoffSummary", "handoffSentiment", "handoffLanguage", "handoffTimestamp"}


async def test_ai_escalation_transfers_in_order_and_keeps_others_attributes(conv: Conv) -> None:
    conv.fake.conflicts = 1  # the merge met a 412 and re-read: attributes set meanwhile must survive
    conv.fake.foreign_attributes = {"order_id": "A-42", "set_by": "crm"}
    view = await conv.to_with_rep()
    fake = conv.fake
    names = fake.names()
    i_merge = names.index("merge_handoff_attributes")
    i_hand = names.index("hand_to_humans")
    note_idx = [i for i, (n, inp) in enumerate(fake.calls) if n == "post_to_flex" and inp.author == "system"]
    assert len(note_idx) == 1 and i_merge < note_idx[0] < i_hand
    merge = fake.of("merge_handoff_attributes")[0]
    assert set(merge.handoff_attributes) == SIX and merge.task_sid == "WT1"
    assert merge.handoff_attributes["handedOff"] is True
    assert merge.handoff_attributes["handoffReason"] == "customer asked for a human"
    assert merge.handoff_attributes["handoffSentiment"] == "negative"
    assert merge.handoff_attributes["handoffLanguage"] == "en"
    note = fake.calls[note_idx[0]][1]
    assert "customer asked for a human" in note.body and "negative" in note.body
    hand = fake.of("hand_to_humans")[0]
    assert hand.reservation_sid == "WR1" and hand.ai_participant_sid == "UTai"
    assert SIX <= set(hand.task_attributes)
    assert hand.task_attributes["set_by"] == "crm" and hand.task_attributes["waHandoff"]["sessionId"]
    # The note never reaches WhatsApp.
    assert all("Handoff" not in (s.body or "") for s in fake.of("send_whatsapp"))
    assert view.state == "with_rep" and view.handoff_path == "transferred" and view.human_task_sid == "WThuman"
    assert view.rep_worker_sid == "WKalice" and not view.stuck
    # The AI's own task ending at the transfer does not end the session.
    sess = view.session_id
    assert sess is not None
    await conv.tr("task.wrapup", "WT1", session=sess)
    await conv.tr("task.completed", "WT1", session=sess)
    await conv.quiet()
    after = await conv.view()
    assert after.state == "with_rep" and after.sessions_ended == 0


async def test_pending_ai_reservation_is_rejected_not_accepted(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    conv.fake.gates["create_interaction"] = creating = asyncio.Event()
    await conv.begin("SM1", "hello")
    await conv.until_calls("create_interaction", 1)
    # The operator asks while the task is being created: the handoff waits for the task.
    request = await conv.start_handoff_request("req-1", "operator takes over")
    await conv.ai_offer(sess)  # overtakes create_interaction's result: kept for the task
    creating.set()
    # The loop takes the command once the task exists: the operator learns the handoff's result.
    outcome = await request.result()
    assert (outcome.outcome, outcome.state, outcome.task_sid) == ("handed_off", "queued", "WT1")
    view = await conv.until(lambda v: v.state == "queued", "queued")
    assert conv.fake.of("accept_ai_reservation") == []
    hand = conv.fake.of("hand_to_humans")[0]
    assert hand.reservation_sid == "WR1"
    assert view.handoff_path == "rejected" and view.human_task_sid == "WT1"
    assert conv.fake.of("merge_handoff_attributes")[0].handoff_attributes["handoffReason"] == "operator takes over"
    # Re-routed task: the rep accepts the same task; its end ends the session.
    await conv.tr(
        "reservation.rejected",
        "WT1",
        reservation="WR1",
        worker_sid="WKai",
        worker_name="AI Support Agent",
        session=sess,
    )
    await conv.rep_accepts(sess, "WT1")
    await conv.until(lambda v: v.state == "with_rep", "with_rep")
    await conv.tr("task.completed", "WT1", session=sess)
    done = await conv.until(lambda v: v.sessions_ended == 1, "session end")
    assert done.state == "ai" and done.task_sid is None


async def test_ai_failure_hands_off_as_ai_unavailable(conv: Conv) -> None:
    conv.fake.ai_error = "model endpoint down"
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "my order is late")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(sess)
    await conv.until_calls("ai_turn", 1)
    await conv.skip(timedelta(seconds=30))  # the retry backoff of the AI activity
    view = await conv.until(lambda v: v.state == "queued", "queued after AI failure")
    assert len(conv.fake.of("ai_turn")) == 3  # bounded retries, then handoff
    merge = conv.fake.of("merge_handoff_attributes")[0]
    assert merge.handoff_attributes["handoffReason"] == "AI unavailable"
    assert "my order is late" in merge.handoff_attributes["handoffSummary"]
    assert view.handoff_reason == "AI unavailable" and "AI turn failed" in (view.last_error or "")
    assert conv.fake.of("send_whatsapp") == []


async def test_failing_handoff_raises_stuck_then_recovers(conv: Conv) -> None:
    conv.fake.fail["hand_to_humans"] = [client_error("Invite refused", 20001)]
    await conv.to_first_ai_reply("SM1", "hello")
    await conv.request_handoff("req-1")
    view = await conv.until(lambda v: v.stuck, "stuck")
    assert view.state == "handoff_requested" and "Invite refused" in (view.last_error or "")
    assert any("Handing this conversation to a rep failed" in n for n in view.notices)
    desc: WorkflowExecutionDescription = await conv.handle.describe()
    assert desc.typed_search_attributes.get(sa.HANDOFF_STUCK) is True
    # The retry runs the one `hand_off` activity again: the same merge (it writes the same six values) and the
    # same note, which finds itself in Flex by its idempotency id.
    await conv.skip(timedelta(seconds=31))
    view = await conv.until(lambda v: v.state == "queued", "queued after retry")
    assert not view.stuck
    assert len(conv.fake.of("hand_off")) == 2
    merges = conv.fake.of("merge_handoff_attributes")
    assert len(merges) == 2 and merges[0] == merges[1]
    assert len(conv.fake.of("hand_to_humans")) == 2
    notes = [p for p in conv.fake.of("post_to_flex") if p.attributes.get("waHandoffNote")]
    assert len(notes) == 2 and len({n.idempotency_id for n in notes}) == 1


async def test_queue_sla_raises_stuck_and_sends_busy_message_once(conv: Conv) -> None:
    sess = conv.session_id("SM1")
    await conv.to_queued("SM1", "hi", queue_sla_seconds=120, busy_message="All reps busy")
    desc = await conv.handle.describe()
    assert desc.typed_search_attributes.get(sa.CONVERSATION_STATE) == "queued"
    assert desc.typed_search_attributes.get(sa.HANDOFF_REQUESTED_AT) is not None
    assert desc.typed_search_attributes.get(sa.FLEX_TASK_SID) == "WThuman"
    await conv.skip(timedelta(seconds=121))
    view = await conv.until(lambda v: v.stuck, "stuck after SLA")
    await conv.until_calls("send_whatsapp", 2)
    await conv.quiet()
    busy = [s for s in conv.fake.of("send_whatsapp") if s.body == "All reps busy"]
    assert len(busy) == 1 and view.busy_sent
    desc = await conv.handle.describe()
    assert desc.typed_search_attributes.get(sa.HANDOFF_STUCK) is True
    published = {pair.key.name: str(pair.value) for pair in desc.typed_search_attributes}
    assert set(published) == {
        "ConversationState",
        "HandoffRequestedAt",
        "HandoffStuck",
        "WindowExpiresAt",
        "FlexTaskSid",
        "OrgId",
        "FlexWorkerSid",
    }
    assert not any(conv.contact in v or "Ana" in v for v in published.values())  # no PII
    meta = await conv.handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    details = meta.current_details
    assert details.startswith("**queued** · ⚠ **stuck**") and "queued since" in details and "WThuman" in details
    assert conv.contact not in details  # no PII in what the UI shows
    await conv.skip(timedelta(hours=2))
    await conv.quiet()
    assert len([s for s in conv.fake.of("send_whatsapp") if s.body == "All reps busy"]) == 1
    await conv.rep_accepts(sess, "WThuman")
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep")
    assert not view.stuck
