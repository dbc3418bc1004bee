"""release_ai_task (a quiet AI session frees the AI's chat capacity, never a rep's task) and
fetch_message_statuses (a status callback that never came) against the in-process sandbox."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.clients import TwilioClients
from activities.twilio_activities import TwilioActivities
from contracts.activities import (
    CreateInteractionResult,
    EnsureAiWorkerAvailableInput,
    FetchMessageStatusesInput,
    FetchTaskInput,
    ReleaseAiTaskInput,
)
from tests.activities.conftest import Sb
from tests.activities.test_sandbox_activities import (
    KEY,
    _contact_says,
    _inbox,
    accept_inp,
    ai_reservation,
    handed_to_humans,
    send_inp,
    start_session,
)


def release_inp(sb: Sb, it: CreateInteractionResult | None, conversation_sid: str, **kw: object) -> ReleaseAiTaskInput:
    base: dict[str, object] = dict(
        org="acme",
        workspace_sid=sb.seed["workspace_sid"],
        session_id=f"{KEY}-1",
        conversations_service_sid=sb.seed["conversations_service_sid"],
        conversation_sid=conversation_sid,
        ai_worker_sid=sb.ai_worker_sid,
    )
    if it is not None:
        base.update(task_sid=it.task_sid, interaction_sid=it.interaction_sid, channel_sid=it.channel_sid)
    base.update(kw)
    return ReleaseAiTaskInput.model_validate(base)


def _ai_load(sb: Sb) -> int:
    return int(sb.ws().workers(sb.ai_worker_sid).worker_channels("chat").fetch().assigned_tasks)


def test_release_completes_the_accepted_ai_task_frees_capacity_and_closes_the_channel(sb: Sb) -> None:
    conv, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    accepted = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    assert _ai_load(sb) == 1
    inp = release_inp(sb, it, conv.conversation_sid, ai_participant_sid=accepted.participant_sid)
    result = sb.acts.release_ai_task(inp)
    assert (result.task_status_before, result.action, result.channel_closed) == ("assigned", "completed", True)
    assert sb.ws().tasks(it.task_sid).fetch().assignment_status == "completed"
    assert _ai_load(sb) == 0
    channel = sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).fetch()
    assert channel.status == "closed"
    service = sb.client.conversations.v1.services(sb.seed["conversations_service_sid"])
    assert service.conversations(conv.conversation_sid).fetch().state == "closed"
    # Retry after a lost answer: nothing more to do, no error.
    again = sb.acts.release_ai_task(inp)
    assert (again.task_status_before, again.action) == ("completed", "none")


def test_release_cancels_a_task_the_ai_never_accepted_and_finds_it_by_session(sb: Sb) -> None:
    conv, it = start_session(sb)
    ai_reservation(sb, it.task_sid)
    # The workflow never learnt the task (create_interaction's answer lost): found by the session id.
    result = sb.acts.release_ai_task(release_inp(sb, None, conv.conversation_sid))
    assert (result.task_status_before, result.action, result.channel_closed) == ("reserved", "canceled", True)
    assert sb.ws().tasks(it.task_sid).fetch().assignment_status == "canceled"
    assert _ai_load(sb) == 0


def test_release_refuses_a_handed_off_task(sb: Sb) -> None:
    conv, it, handed = handed_to_humans(sb)
    assert handed.human_task_sid
    for task_sid in (it.task_sid, handed.human_task_sid):
        with pytest.raises(ApplicationError) as refused:
            sb.acts.release_ai_task(release_inp(sb, it, conv.conversation_sid, task_sid=task_sid))
        assert refused.value.type == "NotAiTask" and refused.value.non_retryable
    assert sb.ws().tasks(handed.human_task_sid).fetch().assignment_status in ("pending", "reserved")
    channel = sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).fetch()
    assert channel.status != "closed"


def test_fetch_task_finds_the_human_task_of_a_transfer(sb: Sb) -> None:
    _, it, handed = handed_to_humans(sb)
    fetched = sb.acts.fetch_task(
        FetchTaskInput(
            org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid=it.task_sid, human_task_of_session=f"{KEY}-1"
        )
    )
    assert fetched.task_sid == handed.human_task_sid and fetched.task_queue_sid == sb.seed["human_queue_sid"]


def test_fetch_message_statuses_reads_delivery_and_a_63016_failure(sb: Sb) -> None:
    _contact_says(sb, "hola")
    ok = sb.acts.send_whatsapp(send_inp(sb))
    sb.ctl.post("/_sandbox/clock/advance", json={"seconds": 25 * 3600}).raise_for_status()
    late = sb.acts.send_whatsapp(send_inp(sb, idempotency_id="late", body="too late"))
    missing = "SM" + "0" * 32
    inp = FetchMessageStatusesInput(org="acme", message_sids=[ok.message_sid, late.message_sid, missing])
    deadline = time.monotonic() + 10
    while True:
        got = {s.message_sid: s for s in sb.acts.fetch_message_statuses(inp).statuses}
        if got[late.message_sid].status in ("failed", "undelivered") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got[ok.message_sid].status in ("sent", "delivered", "read")
    assert got[late.message_sid].status in ("failed", "undelivered")
    assert got[late.message_sid].error_code == 63016
    assert got[missing].status == "unknown"


def test_fetch_message_statuses_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError):
        FetchMessageStatusesInput(org="acme", message_sids=[])


def test_a_retried_template_send_does_not_take_the_reply_sent_just_before_for_its_own(sb: Sb) -> None:
    """fault suite [find-sent]: attempt 2 of a template send, a second after a rep reply to the same contact."""
    _contact_says(sb, "hola")
    started = datetime.now(UTC) - timedelta(seconds=1)
    reply = sb.acts.send_whatsapp(send_inp(sb, body="Un momento", idempotency_id="rep-1"))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=2, scheduled_time=started)
    other_worker = TwilioActivities(TwilioClients(sb.orgs))
    template = send_inp(
        sb,
        body=None,
        content_sid=sb.seed["templates"]["order_update"],
        content_variables={"1": "Ana", "2": "42"},
        idempotency_id="tpl-1",
        known_sids=[reply.message_sid],
    )
    sent = env.run(other_worker.send_whatsapp, template)
    assert sent.message_sid != reply.message_sid
    assert len(_inbox(sb, expect=2)) == 2  # the template did go out


def test_ensure_ai_worker_available_after_a_timeout_offline(sb: Sb) -> None:
    activities = {a.friendly_name: a.sid for a in sb.ws().activities.list()}
    offline = next(sid for name, sid in activities.items() if name == "Offline")
    sb.ws().workers(sb.ai_worker_sid).update(activity_sid=offline)
    inp = EnsureAiWorkerAvailableInput(org="acme", workspace_sid=sb.seed["workspace_sid"], worker_sid=sb.ai_worker_sid)
    first = sb.acts.ensure_ai_worker_available(inp)
    assert first.changed and first.activity_name == "Available"
    assert sb.ws().workers(sb.ai_worker_sid).fetch().available
    again = sb.acts.ensure_ai_worker_available(inp)
    assert not again.changed
    # A new task reaches the AI again.
    _, it = start_session(sb)
    ai_reservation(sb, it.task_sid)


def test_ensure_ai_worker_available_finds_the_ai_worker_by_name(sb: Sb) -> None:
    """A conversation that never got an offer does not know the AI worker's SID: the activity finds it by name."""
    activities = {a.friendly_name: a.sid for a in sb.ws().activities.list()}
    sb.ws().workers(sb.ai_worker_sid).update(activity_sid=activities["Offline"])
    name = sb.ws().workers(sb.ai_worker_sid).fetch().friendly_name
    inp = EnsureAiWorkerAvailableInput(org="acme", workspace_sid=sb.seed["workspace_sid"], worker_name=name)
    assert sb.acts.ensure_ai_worker_available(inp).changed
    assert sb.ws().workers(sb.ai_worker_sid).fetch().available
    missing = EnsureAiWorkerAvailableInput(
        org="acme", workspace_sid=sb.seed["workspace_sid"], worker_name="No Such Agent"
    )
    with pytest.raises(ApplicationError, match="No Such Agent"):
        sb.acts.ensure_ai_worker_available(missing)
