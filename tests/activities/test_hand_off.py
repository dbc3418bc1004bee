"""The one-activity handoff (`hand_off`): its order and what it skips, then against the Twilio sandbox through
the official client: run twice (a retry), it leaves one note, one human task carrying the six attributes and the
task's own attributes, and one invite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.clients import TwilioClients
from activities.hand_off import HandOffActivity, HandOffSteps, hand_off
from activities.twilio_activities import TwilioActivities
from contracts.activities import (
    HandOffInput,
    HandToHumansInput,
    HandToHumansResult,
    MergeHandoffAttributesInput,
    MergeHandoffAttributesResult,
    PostToFlexInput,
    PostToFlexResult,
)
from tests.activities.conftest import Sb
from tests.activities.test_sandbox_activities import (
    SIX,
    accept_inp,
    ai_reservation,
    hand_inp,
    merge_inp,
    post_inp,
    rep_pending,
    start_session,
)

WRITTEN = {"name": "Ana", "order_id": "A-42", **SIX}


class Steps:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.hand_error: BaseException | None = None

    async def merge(self, inp: MergeHandoffAttributesInput) -> MergeHandoffAttributesResult:
        self.calls.append(("merge", inp))
        return MergeHandoffAttributesResult(attributes=WRITTEN)

    async def post(self, inp: PostToFlexInput) -> PostToFlexResult:
        self.calls.append(("post", inp))
        return PostToFlexResult(message_sid="IM1", body=inp.body)

    async def hand(self, inp: HandToHumansInput) -> HandToHumansResult:
        self.calls.append(("hand", inp))
        if self.hand_error is not None:
            raise self.hand_error
        return HandToHumansResult(path="transferred", human_task_sid="WThuman", invite_sid="KG1")

    def steps(self) -> HandOffSteps:
        return HandOffSteps(merge=self.merge, post=self.post, hand=self.hand)


def fake_inp(*, merge: bool = True, note: bool = True) -> HandOffInput:
    hand = HandToHumansInput(
        org="acme",
        workspace_sid="WS1",
        workflow_sid="WW1",
        task_sid="WT1",
        reservation_sid="WR1",
        interaction_sid="KD1",
        channel_sid="UO1",
        ai_participant_sid="UT1",
        task_attributes={"name": "Ana"},  # as the workflow knew them before the merge
    )
    return HandOffInput(
        merge=MergeHandoffAttributesInput(org="acme", workspace_sid="WS1", task_sid="WT1", handoff_attributes=SIX)
        if merge
        else None,
        note=PostToFlexInput(
            org="acme",
            conversations_service_sid="IS1",
            conversation_sid="CH1",
            author="system",
            body="Handoff: …",
            idempotency_id="handoff-note:s:1",
        )
        if note
        else None,
        hand=hand,
    )


async def test_merges_notes_then_hands_over_the_attributes_as_written() -> None:
    st = Steps()
    out = await hand_off(fake_inp(), st.steps())
    assert [n for n, _ in st.calls] == ["merge", "post", "hand"]
    assert st.calls[2][1].task_attributes == WRITTEN  # the human task routes on what the merge wrote
    assert out.attributes == WRITTEN and out.handed.path == "transferred"


async def test_steps_the_workflow_has_done_are_skipped() -> None:
    st = Steps()
    out = await hand_off(fake_inp(merge=False, note=False), st.steps())
    assert [n for n, _ in st.calls] == ["hand"]
    assert st.calls[0][1].task_attributes == {"name": "Ana"} and out.attributes is None


async def test_a_failed_step_fails_the_handoff_with_its_own_error() -> None:
    st = Steps()
    st.hand_error = ApplicationError("Invite refused", type="TwilioClientError", non_retryable=True)
    with pytest.raises(ApplicationError, match="Invite refused") as err:
        await hand_off(fake_inp(), st.steps())
    assert err.value.non_retryable and err.value.type == "TwilioClientError"


async def test_a_retryable_step_failure_is_repeated_in_place() -> None:
    st = Steps()
    st.hand_error = ApplicationError("503", type="TwilioRetryableError")
    calls = 0
    original = st.hand

    async def hand_once_refused(inp: HandToHumansInput) -> HandToHumansResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            return await original(inp)
        st.hand_error = None
        return await original(inp)

    out = await hand_off(fake_inp(), HandOffSteps(merge=st.merge, post=st.post, hand=hand_once_refused), backoff=0)
    assert [n for n, _ in st.calls] == ["merge", "post", "hand", "hand"] and out.handed.path == "transferred"


def test_run_twice_against_the_sandbox_it_hands_over_once(sb: Sb) -> None:
    conv, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    accepted = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    inp = HandOffInput(
        merge=merge_inp(sb, it.task_sid),
        note=post_inp(
            sb,
            conv.conversation_sid,
            author="system",
            body="Handoff note",
            idempotency_id="handoff-note:1",
            attributes={"waHandoffNote": True},
        ),
        hand=hand_inp(sb, it, wr, {}, accepted.participant_sid),
    )
    env = ActivityEnvironment()
    first = asyncio.run(env.run(HandOffActivity(sb.acts).hand_off, inp))
    # The answer was lost: a new worker runs it again, as the activity's next attempt.
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, attempt=2)
    again = asyncio.run(retry.run(HandOffActivity(TwilioActivities(TwilioClients(sb.orgs))).hand_off, inp))
    assert first.handed.path == "transferred" and first.handed.human_task_sid
    assert again.handed.human_task_sid == first.handed.human_task_sid
    human = json.loads(sb.ws().tasks(first.handed.human_task_sid).fetch().attributes)
    assert {k: human[k] for k in SIX} == SIX and human["name"] == "Ana"  # the task's own attributes kept
    flex = sb.client.conversations.v1.services(sb.seed["conversations_service_sid"]).conversations(
        conv.conversation_sid
    )
    assert [m.body for m in flex.messages.list()].count("Handoff note") == 1
    invites = sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).invites.list()
    assert len(invites) == 1
    offered = rep_pending(sb, "alice") + rep_pending(sb, "bob")
    assert {r["task_sid"] for r in offered} == {first.handed.human_task_sid}
