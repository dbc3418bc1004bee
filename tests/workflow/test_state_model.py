"""The state model carried through continue-as-new, and the bounded de-dup set (no Temporal server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.ai import TranscriptLine
from contracts.signals import (
    ContactMessage,
    ConversationStart,
    HandoffRequest,
    InboundMedia,
    TaskRouterEvent,
    TemplateSendRequest,
)
from tests.workflow.harness import policy
from workflows.conversation import ConversationWorkflow
from workflows.state import MAX_DEDUP, ConversationState, HandoffProgress, InboxItem, SessionState

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _msg(sid: str) -> ContactMessage:
    return ContactMessage(
        message_sid=sid,
        account_sid="AC1",
        business_number="+14155238886",
        contact_address="+351900000001",
        profile_name="Zoë",
        body="olá 👋",
        media=[InboundMedia(url="https://x/m", content_type="image/png")],
        received_at=AT,
    )


def test_state_round_trips_through_json() -> None:
    state = ConversationState(
        state="queued",
        session_number=2,
        session=SessionState(
            session_id="k-SM1",
            number=2,
            opened_at=AT,
            task_sid="WT1",
            task_attributes={"a": {"b": [1, None]}},
            backlog=[_msg("SM2")],
            deferred_events=[
                TaskRouterEvent(event_sid="EV1", event_type="reservation.created", task_sid="WT1", occurred_at=AT)
            ],
            handoff=HandoffProgress(
                number=1,
                source="ai",
                reason="r",
                summary="s",
                sentiment="neutral",
                language="en",
                requested_at=AT,
                attributes={"handedOff": True},
                merged=True,
            ),
        ),
        window_expires_at=AT,
        transcript=[TranscriptLine(speaker="contact", text="olá", at=AT)],
        dedup=["contact:SM1"],
        inbox=[
            InboxItem.of(_msg("SM3")),
            InboxItem.of(TaskRouterEvent(event_sid="EV2", event_type="task.canceled", task_sid="WT1", occurred_at=AT)),
            InboxItem.of(HandoffRequest(request_id="op-1", reason="operator asked")),
            InboxItem.of(TemplateSendRequest(request_id="op-2", template_name="order_update", variables=["Ana"])),
        ],
        sent={"SMout1": "AI reply"},
    )
    carried = state.model_dump(mode="json")
    assert ConversationState.model_validate(carried) == state
    # Each waiting payload comes back as its own model, whatever other model its fields would also fit.
    read_back = ConversationState.model_validate_json(state.model_dump_json()).inbox
    names = ["ContactMessage", "TaskRouterEvent", "HandoffRequest", "TemplateSendRequest"]
    assert [type(item.payload).__name__ for item in read_back] == [item.payload_type for item in state.inbox] == names


def _start(carried: ConversationState | None = None) -> ConversationStart:
    return ConversationStart(
        org="acme",
        key="0" * 32,
        business_number="+14155238886",
        contact_address="+351900000001",
        policy=policy(),
        carried_state=carried.model_dump(mode="json") if carried else None,
    )


def test_dedup_is_bounded_and_forgets_the_oldest() -> None:
    wf = ConversationWorkflow(_start())
    for i in range(MAX_DEDUP + 10):
        wf.contact_message(_msg(f"SM{i}"))
    s = wf.c.s
    assert len(s.dedup) == MAX_DEDUP and len(set(s.dedup)) == MAX_DEDUP
    assert len(s.inbox) == MAX_DEDUP + 10
    wf.contact_message(_msg(f"SM{MAX_DEDUP + 9}"))  # recent: still known
    assert s.duplicates_ignored == 1
    wf.contact_message(_msg("SM0"))  # evicted long ago: accepted again (bounded memory by design)
    assert s.duplicates_ignored == 1 and len(s.inbox) == MAX_DEDUP + 11
    assert s.signals_received == MAX_DEDUP + 12


def test_state_exists_before_run_so_a_first_signal_lands_in_the_carried_state() -> None:
    """The first activation after continue-as-new (or of a signal-with-start) runs handlers before `run`: they
    must record into the carried state, which `@workflow.init` builds, and nothing may replace it later."""
    carried = ConversationState(events_processed=7, session_number=1, dedup=["contact:SM1"], runs=3)
    wf = ConversationWorkflow(_start(carried))
    wf.contact_message(_msg("SM2"))
    wf.contact_message(_msg("SM1"))  # known from before the switch
    s = wf.c.s
    assert [i.payload.message_sid for i in s.inbox if isinstance(i.payload, ContactMessage)] == ["SM2"]
    assert (s.events_processed, s.session_number, s.runs, s.duplicates_ignored) == (7, 1, 4, 1)
