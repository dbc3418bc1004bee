"""Every Twilio activity against the in-process Twilio sandbox, through the official client: shapes, idempotent
retries that create nothing twice, the 412 re-read, both handoff paths, media limits and error classification."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.clients import OrgClient, TwilioClients
from activities.media import upload_to_mcs
from activities.twilio_activities import TwilioActivities, post_again
from activities.twilio_errors import CLIENT_ERROR_TYPE
from contracts.activities import (
    AcceptAiReservationInput,
    CopyContactMediaInput,
    CreateInteractionInput,
    CreateInteractionResult,
    FetchTaskInput,
    HandToHumansInput,
    HandToHumansResult,
    MergeHandoffAttributesInput,
    OpenFlexConversationInput,
    OpenFlexConversationResult,
    PostToFlexInput,
    SendWhatsAppInput,
)
from rules.media import mcs_media_url
from tests.activities.conftest import CONTACT, Sb
from twilio_rest.client import RoutingHttpClient

KEY = "0123456789abcdef0123456789abcdef"
HOOK = f"https://service.example/webhooks/acme/conversations/{KEY}"
SIX = {
    "handedOff": True,
    "handoffReason": "customer wants to cancel subscription",
    "handoffSummary": "Ana wants to cancel; the AI could not retain her.",
    "handoffSentiment": "negative",
    "handoffLanguage": "es",
    "handoffTimestamp": "2026-11-25T14:00:00Z",
}


def open_inp(sb: Sb, session: int = 1, name: str = "Ana") -> OpenFlexConversationInput:
    return OpenFlexConversationInput(
        org="acme",
        conversations_service_sid=sb.seed["conversations_service_sid"],
        unique_name=f"{KEY}-{session}",
        contact_identity=f"whatsapp:{CONTACT}",
        contact_friendly_name=name,
        webhook_url=HOOK,
    )


def interaction_inp(sb: Sb, conv: OpenFlexConversationResult, session: int = 1) -> CreateInteractionInput:
    return CreateInteractionInput(
        org="acme",
        session_id=f"{KEY}-{session}",
        conversation_sid=conv.conversation_sid,
        workspace_sid=sb.seed["workspace_sid"],
        workflow_sid=sb.seed["workflow_sid"],
        task_attributes={
            "name": "Ana",
            "customerName": "Ana",
            "from": f"whatsapp:{CONTACT}",
            "channelType": "whatsapp",
            "waHandoff": {"workflowId": f"wa-conv:acme:{KEY}", "org": "acme"},
        },
    )


def start_session(sb: Sb) -> tuple[OpenFlexConversationResult, CreateInteractionResult]:
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    return conv, sb.acts.create_interaction(interaction_inp(sb, conv))


def ai_reservation(sb: Sb, task_sid: str) -> str:
    pending = sb.ws().tasks(task_sid).reservations.list(reservation_status="pending")
    assert [r.worker_sid for r in pending] == [sb.ai_worker_sid]
    return str(pending[0].sid)


def accept_inp(sb: Sb, it: CreateInteractionResult, reservation_sid: str) -> AcceptAiReservationInput:
    return AcceptAiReservationInput(
        org="acme",
        workspace_sid=sb.seed["workspace_sid"],
        task_sid=it.task_sid,
        reservation_sid=reservation_sid,
        worker_sid=sb.ai_worker_sid,
        interaction_sid=it.interaction_sid,
        channel_sid=it.channel_sid,
    )


def merge_inp(sb: Sb, task_sid: str) -> MergeHandoffAttributesInput:
    return MergeHandoffAttributesInput(
        org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid=task_sid, handoff_attributes=SIX
    )


def hand_inp(
    sb: Sb, it: CreateInteractionResult, reservation_sid: str | None, attributes: dict[str, Any], ai_ut: str | None
) -> HandToHumansInput:
    return HandToHumansInput(
        org="acme",
        workspace_sid=sb.seed["workspace_sid"],
        workflow_sid=sb.seed["workflow_sid"],
        task_sid=it.task_sid,
        reservation_sid=reservation_sid,
        interaction_sid=it.interaction_sid,
        channel_sid=it.channel_sid,
        ai_participant_sid=ai_ut,
        task_attributes=attributes,
    )


def handed_to_humans(sb: Sb) -> tuple[OpenFlexConversationResult, CreateInteractionResult, HandToHumansResult]:
    """A session whose AI accepted its task and then transferred it to the human queue."""
    conv, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    accepted = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    merged = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    return conv, it, sb.acts.hand_to_humans(hand_inp(sb, it, wr, merged.attributes, accepted.participant_sid))


def rep_pending(sb: Sb, rep: str) -> list[dict[str, Any]]:
    body = sb.ctl.get(f"/_sandbox/reps/{rep}/reservations", params={"status": "pending"}).json()
    return list(body["reservations"])


def session_tasks(sb: Sb, session: str) -> list[Any]:
    return list(sb.ws().tasks.list(evaluate_task_attributes=f'waHandoff.sessionId == "{session}"'))


# ---------------------------------------------------------------------------------------------------------- tests
def test_open_flex_conversation_is_idempotent(sb: Sb) -> None:
    first = sb.acts.open_flex_conversation(open_inp(sb))
    again = sb.acts.open_flex_conversation(open_inp(sb))
    assert again == first
    assert first.conversation_sid.startswith("CH") and first.contact_participant_sid.startswith("MB")
    conv = sb.client.conversations.v1.services(sb.seed["conversations_service_sid"]).conversations(
        first.conversation_sid
    )
    assert conv.fetch().unique_name == f"{KEY}-1"
    participants = conv.participants.list()
    assert [p.identity for p in participants] == [f"whatsapp:{CONTACT}"]
    assert json.loads(participants[0].attributes)["friendlyName"] == "Ana"
    hooks = conv.webhooks.list()
    assert len(hooks) == 1
    assert hooks[0].configuration["url"] == HOOK
    assert set(hooks[0].configuration["filters"]) == {"onMessageAdded", "onConversationStateUpdated"}
    # A new session is a new conversation.
    assert sb.acts.open_flex_conversation(open_inp(sb, session=2)).conversation_sid != first.conversation_sid


def test_create_interaction_once_per_session(sb: Sb) -> None:
    conv, it = start_session(sb)
    assert it.interaction_sid.startswith("KD") and it.channel_sid.startswith("UO") and it.task_sid.startswith("WT")
    assert sb.acts.create_interaction(interaction_inp(sb, conv)) == it
    tasks = session_tasks(sb, f"{KEY}-1")
    assert [t.sid for t in tasks] == [it.task_sid]
    attrs = json.loads(tasks[0].attributes)
    assert attrs["conversationSid"] == conv.conversation_sid
    assert attrs["flexInteractionSid"] == it.interaction_sid
    assert attrs["flexInteractionChannelSid"] == it.channel_sid
    assert attrs["waHandoff"] == {"workflowId": f"wa-conv:acme:{KEY}", "org": "acme", "sessionId": f"{KEY}-1"}
    assert attrs["name"] == "Ana" and attrs["channelType"] == "whatsapp"
    assert tasks[0].task_queue_sid == sb.seed["ai_queue_sid"]
    with pytest.raises(ApplicationError) as bad:
        sb.acts.create_interaction(interaction_inp(sb, conv).model_copy(update={"session_id": 'x"y'}))
    assert bad.value.non_retryable


def test_accept_ai_reservation_once(sb: Sb) -> None:
    _, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    first = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    assert first.accepted and first.reservation_status == "accepted" and first.participant_sid
    again = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    assert again == first
    agents = [
        p
        for p in sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).participants.list()
        if p.type == "agent"
    ]
    assert [p.sid for p in agents] == [first.participant_sid]
    assert sb.ws().tasks(it.task_sid).fetch().assignment_status == "assigned"


def test_accept_refused_when_no_longer_pending(sb: Sb) -> None:
    _, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    sb.ws().tasks(it.task_sid).reservations(wr).update(reservation_status="rejected")
    result = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    assert not result.accepted and result.reservation_status == "rejected" and result.participant_sid is None


def post_inp(sb: Sb, conversation_sid: str, **kw: Any) -> PostToFlexInput:
    return PostToFlexInput(
        org="acme",
        conversations_service_sid=sb.seed["conversations_service_sid"],
        conversation_sid=conversation_sid,
        **kw,
    )


def test_post_to_flex_once_without_webhooks(sb: Sb) -> None:
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = post_inp(
        sb,
        conv.conversation_sid,
        author=f"whatsapp:{CONTACT}",
        body="hola, quiero cancelar",
        attributes={"waMessageSid": "SM" + "1" * 32},
        idempotency_id="in-SM1",
    )
    first = sb.acts.post_to_flex(inp)
    assert sb.acts.post_to_flex(inp) == first
    note = sb.acts.post_to_flex(
        inp.model_copy(update={"author": "system", "body": "Handoff: cancel", "idempotency_id": "note-1"})
    )
    assert note.message_sid != first.message_sid
    messages = sb.ctl.get(f"/_sandbox/conversations/{conv.conversation_sid}/messages").json()["messages"]
    assert [(m["author"], m["body"]) for m in messages] == [
        (f"whatsapp:{CONTACT}", "hola, quiero cancelar"),
        ("system", "Handoff: cancel"),
    ]
    attrs = messages[0]["attributes"]
    attrs = json.loads(attrs) if isinstance(attrs, str) else attrs
    assert attrs == {"waMessageSid": "SM" + "1" * 32, "waHandoffId": "in-SM1"}


def _contact_says(sb: Sb, body: str, media: list[dict[str, Any]] | None = None) -> str:
    payload: dict[str, Any] = {"to": sb.business, "body": body, "profile_name": "Ana"}
    if media:
        payload["media"] = media
    resp = sb.ctl.post(f"/_sandbox/contacts/{CONTACT}/messages", json=payload)
    resp.raise_for_status()
    return str(resp.json()["message_sid"])


def _inbox(sb: Sb, expect: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
    """What reached the contact; delivery is asynchronous, so wait until `expect` messages arrived."""
    deadline = time.monotonic() + timeout
    while True:
        messages = list(sb.ctl.get(f"/_sandbox/contacts/{CONTACT}/inbox").json()["messages"])
        if len(messages) >= expect or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


def _uploads(sb: Sb) -> list[dict[str, Any]]:
    return list(sb.ctl.get("/_sandbox/record", params={"kind": "mcs.upload"}).json()["entries"])


def send_inp(sb: Sb, **kw: Any) -> SendWhatsAppInput:
    base: dict[str, Any] = {
        "org": "acme",
        "from_number": sb.business,
        "to_number": CONTACT,
        "body": "Claro, te ayudo.",
        "status_callback_url": f"https://service.example/webhooks/acme/whatsapp/status/{KEY}",
        "idempotency_id": "out-1",
    }
    return SendWhatsAppInput(**{**base, **kw})


def test_send_whatsapp_once_even_after_a_worker_restart(sb: Sb) -> None:
    _contact_says(sb, "hola")
    started = datetime.now(UTC) - timedelta(seconds=1)
    first = sb.acts.send_whatsapp(send_inp(sb))
    assert first.message_sid.startswith(("SM", "MM"))
    assert sb.acts.send_whatsapp(send_inp(sb)) == first  # same worker: in-process map
    # Another worker retries the activity (attempt 2) after the first one's answer was lost.
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=2, scheduled_time=started)
    other_worker = TwilioActivities(TwilioClients(sb.orgs))
    retried = env.run(other_worker.send_whatsapp, send_inp(sb))
    assert retried.message_sid == first.message_sid
    # A different message to the same contact still goes out; the first one went once.
    second = env.run(other_worker.send_whatsapp, send_inp(sb, body="¿Algo más?", idempotency_id="out-2"))
    assert second.message_sid != first.message_sid
    inbox = _inbox(sb, expect=2)
    assert [(m["sid"], m["body"], m["status"]) for m in inbox] == [
        (first.message_sid, "Claro, te ayudo.", "delivered"),
        (second.message_sid, "¿Algo más?", "delivered"),
    ]


def test_a_later_rounds_send_finds_its_own_message_and_never_a_known_one(sb: Sb) -> None:
    """A send in a later round of the same turn (a new activity, attempt 1) looks first when told an earlier
    round may have sent; among the messages it finds, one the workflow recorded (known_sids) is never taken."""
    _contact_says(sb, "hola")
    first = sb.acts.send_whatsapp(send_inp(sb, body="ok", idempotency_id="rep-1"))
    # The workflow recorded "ok" (rep-1). The rep says "ok" again: a new message, even with the same text.
    since = datetime.now(UTC) - timedelta(seconds=1)
    second = TwilioActivities(TwilioClients(sb.orgs)).send_whatsapp(
        send_inp(sb, body="ok", idempotency_id="rep-2", known_sids=[first.message_sid])
    )
    assert second.message_sid != first.message_sid
    # Its answer was lost; the next round, on another worker, looks before sending.
    rerun = TwilioActivities(TwilioClients(sb.orgs)).send_whatsapp(
        send_inp(sb, body="ok", idempotency_id="rep-2", known_sids=[first.message_sid], may_have_sent_since=since)
    )
    assert rerun.message_sid == second.message_sid
    assert [m["body"] for m in _inbox(sb, expect=2)] == ["ok", "ok"]


def test_post_to_flex_found_again_returns_the_body_flex_holds(sb: Sb) -> None:
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = post_inp(
        sb,
        conv.conversation_sid,
        author="AI Support Agent",
        body="We open at nine.",
        idempotency_id="ai:SM1",
    )
    first = sb.acts.post_to_flex(inp)
    assert first.body == "We open at nine."
    # A re-run AI turn (a later round: the workflow marks the post `may_exist`) worded its reply differently:
    # the post finds the first one and says what it holds.
    again = TwilioActivities(TwilioClients(sb.orgs)).post_to_flex(
        inp.model_copy(update={"body": "Open at 9.", "may_exist": True})
    )
    assert (again.message_sid, again.body) == (first.message_sid, "We open at nine.")


def test_a_first_post_creates_without_a_look_up_and_a_repeat_looks_first(sb: Sb) -> None:
    """A first attempt has nothing to find: one POST. A post that may exist (a retry, a later round) looks."""
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = post_inp(sb, conv.conversation_sid, author="AI Support Agent", body="Hi", idempotency_id="ai:SM2")

    def rest_methods_of(step: Callable[[], object]) -> list[str]:
        since = sb.ctl.get("/_sandbox/record").json()["entries"][-1]["seq"]
        step()
        entries = sb.ctl.get("/_sandbox/record", params={"kind": "rest", "since": since}).json()["entries"]
        return [e["method"] for e in entries]

    assert rest_methods_of(lambda: sb.acts.post_to_flex(inp)) == ["POST"]
    fresh = TwilioActivities(TwilioClients(sb.orgs))
    assert rest_methods_of(lambda: fresh.post_to_flex(post_again(inp))) == ["GET"]


def test_send_whatsapp_template_with_variables(sb: Sb) -> None:
    hx = sb.seed["templates"]["order_update"]
    sb.acts.send_whatsapp(send_inp(sb, body=None, content_sid=hx, content_variables={"1": "Ana", "2": "42"}))
    (msg,) = _inbox(sb)
    assert msg["content_sid"] == hx
    assert msg["rendered_body"] == "Hi Ana, your order 42 has shipped."


def _copy_of_contact_media(sb: Sb, media: dict[str, Any], filename: str | None = None) -> CopyContactMediaInput:
    """The contact sends `media` (content_type, size, filename): the input that copies it to Flex."""
    sid = _contact_says(sb, "", [media])
    (stored,) = sb.client.api.v2010.account.messages(sid).media.list()
    return CopyContactMediaInput(
        org="acme",
        conversations_service_sid=sb.seed["conversations_service_sid"],
        media_url="https://api.twilio.com" + str(stored.uri).removesuffix(".json"),
        content_type=media["content_type"],
        filename=filename,
    )


def test_copy_contact_media_then_post_it(sb: Sb) -> None:
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    inp = _copy_of_contact_media(
        sb, {"content_type": "image/jpeg", "size": 20_000, "filename": "foto.jpg"}, filename="foto.jpg"
    )
    copied = sb.acts.copy_contact_media_to_flex(inp)
    assert copied.refused_reason is None and copied.size == 20_000
    assert copied.media_sid and copied.media_sid.startswith("ME")
    assert sb.acts.copy_contact_media_to_flex(inp) == copied
    uploads = _uploads(sb)
    assert len(uploads) == 1
    post = sb.acts.post_to_flex(
        post_inp(
            sb,
            conv.conversation_sid,
            author=f"whatsapp:{CONTACT}",
            media_sid=copied.media_sid,
            idempotency_id="media-1",
        )
    )
    (flex_msg,) = sb.ctl.get(f"/_sandbox/conversations/{conv.conversation_sid}/messages").json()["messages"]
    assert flex_msg["sid"] == post.message_sid
    assert [(m["sid"], m["filename"], m["content_type"]) for m in flex_msg["media"]] == [
        (copied.media_sid, "foto.jpg", "image/jpeg")
    ]


def test_media_over_the_limit_is_refused_before_upload(sb: Sb) -> None:
    too_big = 16 * 1024 * 1024 + 1
    base = _copy_of_contact_media(sb, {"content_type": "video/mp4", "size": too_big, "filename": "v.mp4"})
    refused = sb.acts.copy_contact_media_to_flex(base)
    assert refused.media_sid is None and refused.refused_reason and "limit" in refused.refused_reason
    unsupported = sb.acts.copy_contact_media_to_flex(base.model_copy(update={"content_type": "application/zip"}))
    assert unsupported.media_sid is None and unsupported.refused_reason
    assert not _uploads(sb)


class _Intruder(RoutingHttpClient):
    """After each of the first `times` task reads, someone else changes the task (a concurrent Flex plugin)."""

    def __init__(self, base: str, task_path: str, writer: Any, times: int) -> None:
        super().__init__(sandbox_base_url=base)
        self.task_path, self.writer, self.times = task_path, writer, times

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        if method.upper() == "GET" and url.endswith(self.task_path) and self.times > 0:
            self.times -= 1
            task = self.writer.fetch()
            attrs = json.loads(task.attributes)
            attrs[f"plugin_note_{self.times}"] = "set concurrently"
            self.writer.update(attributes=json.dumps(attrs))
        return response


def _clients_through(sb: Sb, http: RoutingHttpClient) -> TwilioClients:
    """The sandbox orgs' clients, every request going through `http`."""

    class Clients(TwilioClients):
        def get(self, name: str) -> OrgClient:
            oc = super().get(name)
            oc.client.http_client = http
            return dataclasses.replace(oc, http=http)

    return Clients(sb.orgs)


def test_merge_412_rereads_and_keeps_the_concurrent_change(sb: Sb) -> None:
    _, it = start_session(sb)
    writer = sb.ws().tasks(it.task_sid)
    clients = _clients_through(sb, _Intruder(sb.url, f"/Tasks/{it.task_sid}", writer, times=2))

    acts = TwilioActivities(clients)
    result = acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    assert result.conflicts_retried == 2
    stored = json.loads(writer.fetch().attributes)
    assert stored == result.attributes
    assert stored["plugin_note_1"] == stored["plugin_note_0"] == "set concurrently"
    assert {k: stored[k] for k in SIX} == SIX
    assert stored["waHandoff"]["sessionId"] == f"{KEY}-1"


def test_merge_conflicts_past_the_limit_fail_retryably(sb: Sb) -> None:
    _, it = start_session(sb)
    writer = sb.ws().tasks(it.task_sid)
    clients = _clients_through(sb, _Intruder(sb.url, f"/Tasks/{it.task_sid}", writer, times=10))

    with pytest.raises(ApplicationError) as info:
        TwilioActivities(clients, merge_max_attempts=3).merge_handoff_attributes(merge_inp(sb, it.task_sid))
    assert info.value.type == "TaskAttributesConflict" and not info.value.non_retryable
    assert "handedOff" not in json.loads(writer.fetch().attributes)


def test_merge_done_already_writes_nothing_and_other_keys_are_refused_before_any_call(sb: Sb) -> None:
    _, it = start_session(sb)
    first = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    writes = len(_rest_calls(sb, "POST", f"/Tasks/{it.task_sid}"))
    again = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    assert again.attributes == first.attributes
    assert len(_rest_calls(sb, "POST", f"/Tasks/{it.task_sid}")) == writes
    reads = len(_rest_calls(sb, "GET", f"/Tasks/{it.task_sid}"))
    bad = merge_inp(sb, it.task_sid).model_copy(update={"handoff_attributes": {**SIX, "waHandoff": {}}})
    with pytest.raises(ApplicationError) as info:
        sb.acts.merge_handoff_attributes(bad)
    assert info.value.non_retryable and "waHandoff" in str(info.value)
    assert len(_rest_calls(sb, "GET", f"/Tasks/{it.task_sid}")) == reads


def test_transfer_when_accepted_and_retry_creates_no_second_task(sb: Sb) -> None:
    _, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    accepted = sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    merged = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    inp = hand_inp(sb, it, wr, {**merged.attributes, "order_id": "42"}, accepted.participant_sid)
    result = sb.acts.hand_to_humans(inp)
    assert result.path == "transferred" and result.human_task_sid and result.invite_sid
    human = sb.ws().tasks(result.human_task_sid).fetch()
    attrs = json.loads(human.attributes)
    assert human.task_queue_sid == sb.seed["human_queue_sid"]
    assert {k: attrs[k] for k in SIX} == SIX and attrs["order_id"] == "42"
    assert attrs["flexInteractionChannelSid"] == it.channel_sid
    # The AI's own task ended when its participant closed; the service never touches the rep's task.
    assert sb.ws().tasks(it.task_sid).fetch().assignment_status == "completed"
    assert sb.ws().tasks(it.task_sid).reservations(wr).fetch().reservation_status != "rejected"
    # Retry (the first answer was lost): same human task, no second invite.
    again = sb.acts.hand_to_humans(inp)
    assert (again.path, again.human_task_sid) == ("transferred", result.human_task_sid)
    invites = sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).invites.list()
    assert len(invites) == 1
    offered = rep_pending(sb, "alice") + rep_pending(sb, "bob")
    assert {r["task_sid"] for r in offered} == {result.human_task_sid}


def test_reject_while_pending_reroutes_the_same_task_to_humans(sb: Sb) -> None:
    _, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    merged = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    inp = hand_inp(sb, it, wr, merged.attributes, None)
    result = sb.acts.hand_to_humans(inp)
    assert result.path == "rejected" and result.invite_sid is None
    assert sb.ws().tasks(it.task_sid).reservations(wr).fetch().reservation_status == "rejected"
    assert sb.acts.hand_to_humans(inp).path == "rejected"  # retry: nothing more to do
    assert not sb.client.flex_api.v1.interaction(it.interaction_sid).channels(it.channel_sid).invites.list()
    task = sb.ws().tasks(it.task_sid).fetch()
    assert task.task_queue_sid == sb.seed["human_queue_sid"]
    offered = rep_pending(sb, "alice") + rep_pending(sb, "bob")
    assert {r["task_sid"] for r in offered} == {it.task_sid}
    fetched = sb.acts.fetch_task(
        FetchTaskInput(org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid=it.task_sid)
    )
    assert fetched.assignment_status == "reserved"
    assert fetched.reservations[-1] == (wr, sb.ai_worker_sid, "rejected")
    assert fetched.reservations[0][2] == "pending" and fetched.reservations[0][1] != sb.ai_worker_sid
    assert fetched.attributes["handedOff"] is True


def test_twilio_errors_classified_against_the_sandbox(sb: Sb) -> None:
    missing = FetchTaskInput(org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid="WT" + "0" * 32)
    with pytest.raises(ApplicationError) as not_found:
        sb.acts.fetch_task(missing)
    assert not_found.value.non_retryable and not_found.value.type == CLIENT_ERROR_TYPE
    assert not_found.value.details[0]["status"] == 404 and not_found.value.details[0]["code"] == 20404
    sb.ctl.post("/_sandbox/faults", json={"rest_429_rate": 1.0, "retry_after_seconds": 3, "seed": 1})
    with pytest.raises(ApplicationError) as limited:
        sb.acts.fetch_task(missing)
    assert not limited.value.non_retryable
    assert limited.value.next_retry_delay == timedelta(seconds=3)
    assert limited.value.details[0]["status"] == 429


def test_clients_are_per_thread(sb: Sb) -> None:
    clients = TwilioClients(sb.orgs)
    seen: list[OrgClient] = []
    threads = [threading.Thread(target=lambda: seen.append(clients.get("acme"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen[0] is not seen[1] and seen[0].http is not seen[1].http


def test_rep_media_goes_out_by_its_direct_link_and_over_limit_is_refused(sb: Sb) -> None:
    _contact_says(sb, "hola")
    oc = sb.acts.clients.get("acme")
    service = sb.seed["conversations_service_sid"]
    small = upload_to_mcs(oc, service, b"\xff\xd8" + b"x" * 10_000, "image/jpeg", "recibo.jpg")
    sent = sb.acts.send_whatsapp(
        send_inp(sb, body="Aquí está el recibo", media_url=mcs_media_url(service, small["sid"]), idempotency_id="m1")
    )
    (msg,) = _inbox(sb)
    assert msg["sid"] == sent.message_sid and msg["status"] == "delivered"
    assert len(msg["media_urls"]) == 1
    big = upload_to_mcs(oc, service, b"x" * (5 * 1024 * 1024 + 1), "image/jpeg", "huge.jpg")
    with pytest.raises(ApplicationError) as refused:
        sb.acts.send_whatsapp(
            send_inp(sb, body=None, media_url=mcs_media_url(service, big["sid"]), idempotency_id="m2")
        )
    assert refused.value.non_retryable and refused.value.type == "MediaRefused"
    assert "limit" in str(refused.value)
    assert len(_inbox(sb, expect=2, timeout=0.5)) == 1


def test_free_form_after_the_window_is_reported_by_whatsapp_not_by_the_activity(sb: Sb) -> None:
    """The activity only hands the message to Twilio; 63016 arrives later by status callback (the workflow's
    window rule refuses such sends before they get here)."""
    _contact_says(sb, "hola")
    sb.ctl.post("/_sandbox/clock/advance", json={"seconds": 25 * 3600}).raise_for_status()
    sent = sb.acts.send_whatsapp(send_inp(sb, idempotency_id="late"))
    deadline = time.monotonic() + 10
    while True:
        (msg,) = _inbox(sb)
        if msg["status"] in ("failed", "undelivered") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert msg["sid"] == sent.message_sid
    assert (msg["status"], msg["error_code"]) in (("failed", 63016), ("undelivered", 63016))


def test_server_errors_are_retryable(sb: Sb) -> None:
    sb.ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 1.0, "seed": 2}).raise_for_status()
    with pytest.raises(ApplicationError) as failed:
        sb.acts.open_flex_conversation(open_inp(sb))
    assert not failed.value.non_retryable
    assert failed.value.details[0]["status"] >= 500
    sb.ctl.delete("/_sandbox/faults")
    assert sb.acts.open_flex_conversation(open_inp(sb)).conversation_sid.startswith("CH")


def test_transfer_finds_the_ai_reservation_when_the_workflow_lost_it(sb: Sb) -> None:
    _, it = start_session(sb)
    wr = ai_reservation(sb, it.task_sid)
    sb.acts.accept_ai_reservation(accept_inp(sb, it, wr))
    merged = sb.acts.merge_handoff_attributes(merge_inp(sb, it.task_sid))
    result = sb.acts.hand_to_humans(hand_inp(sb, it, None, merged.attributes, None))
    assert result.path == "transferred"
    assert sb.ws().tasks(it.task_sid).fetch().assignment_status == "completed"


def _hook_deliveries(sb: Sb) -> list[dict[str, Any]]:
    entries = sb.ctl.get("/_sandbox/record", params={"kind": "webhook.sent"}).json()["entries"]
    return [e for e in entries if str(e.get("url", "")).startswith(HOOK)]


def test_own_posts_never_echo_but_the_reps_messages_reach_our_webhook(sb: Sb) -> None:
    conv, _, handed = handed_to_humans(sb)
    (offer,) = rep_pending(sb, "alice") + rep_pending(sb, "bob")
    rep = "alice" if rep_pending(sb, "alice") else "bob"
    assert offer["task_sid"] == handed.human_task_sid
    sb.ctl.post(f"/_sandbox/reps/{rep}/reservations/{offer['reservation_sid']}/accept").raise_for_status()
    post = post_inp(
        sb,
        conv.conversation_sid,
        author="system",
        body="Handoff: cancel",
        idempotency_id="note-1",
    )
    sb.acts.post_to_flex(post)
    sb.ctl.post(
        f"/_sandbox/reps/{rep}/messages", json={"conversation_sid": conv.conversation_sid, "body": "Hola Ana"}
    ).raise_for_status()
    deadline = time.monotonic() + 10
    while not _hook_deliveries(sb) and time.monotonic() < deadline:
        time.sleep(0.05)
    # (service.example does not answer, so the sandbox may retry the same delivery: compare the set.)
    assert {e["params"].get("Body") for e in _hook_deliveries(sb)} == {"Hola Ana"}
    # The rep's task is untouched by the service; the conversation stayed open for the rep.
    assert sb.ws().tasks(handed.human_task_sid).fetch().assignment_status == "assigned"


def _rest_calls(sb: Sb, method: str, path_part: str) -> list[dict[str, Any]]:
    entries = sb.ctl.get("/_sandbox/record", params={"kind": "rest"}).json()["entries"]
    return [e for e in entries if e.get("method") == method and path_part in str(e.get("path"))]


def test_a_rate_limited_call_is_repeated_in_place_and_the_activity_succeeds(sb: Sb) -> None:
    """One 429 among an activity's calls no longer fails the whole activity (and redoes its other calls)."""
    sb.ctl.post("/_sandbox/faults", json={"rest_429_rate": 0.3, "retry_after_seconds": 0, "seed": 7})
    try:
        opened = sb.acts.open_flex_conversation(open_inp(sb))
    finally:
        sb.ctl.delete("/_sandbox/faults")
    assert opened.conversation_sid.startswith("CH")
    calls = sb.ctl.get("/_sandbox/record", params={"kind": "rest"}).json()["entries"]
    limited = [i for i, e in enumerate(calls) if e.get("status") == 429]
    assert limited, "the seed must inject at least one 429 for this test to mean anything"
    for i in limited:  # each refused call was sent again at once, by the same thread
        assert (calls[i + 1]["method"], calls[i + 1]["path"]) == (calls[i]["method"], calls[i]["path"])


def test_a_post_answered_by_a_server_error_is_not_repeated_in_place(sb: Sb) -> None:
    sb.ctl.post("/_sandbox/faults", json={"rest_5xx_rate": 1.0, "seed": 2}).raise_for_status()
    try:
        with pytest.raises(ApplicationError):
            sb.acts.send_whatsapp(send_inp(sb, idempotency_id="once"))
    finally:
        sb.ctl.delete("/_sandbox/faults")
    posts = _rest_calls(sb, "POST", "/Messages")
    assert len(posts) == 1 and posts[0]["status"] == 503


def test_media_calls_made_with_httpx_repeat_a_429_in_place_too(sb: Sb) -> None:
    oc = sb.acts.clients.get("acme")
    service = sb.seed["conversations_service_sid"]
    sb.ctl.post("/_sandbox/faults", json={"rest_429_rate": 1.0, "retry_after_seconds": 0, "seed": 3})
    try:
        with pytest.raises(ApplicationError) as limited:
            upload_to_mcs(oc, service, b"\xff\xd8" + b"x" * 100, "image/jpeg", "a.jpg")
    finally:
        sb.ctl.delete("/_sandbox/faults")
    assert limited.value.details[0]["status"] == 429 and not limited.value.non_retryable
    uploads = _rest_calls(sb, "POST", f"/Services/{service}/Media")
    assert [e["status"] for e in uploads] == [429, 429, 429]  # the first try and two repeats, then the activity
    stored = upload_to_mcs(oc, service, b"\xff\xd8" + b"x" * 100, "image/jpeg", "a.jpg")
    assert str(stored["sid"]).startswith("ME")


def test_without_a_reservation_sid_only_the_ai_workers_reservation_counts_as_the_ais(sb: Sb) -> None:
    """500-conversation fault run: after an AI offer timed out, the re-routed task was already accepted by a rep;
    taking the rep's reservation for the AI's made a transfer and a second human task."""
    from types import SimpleNamespace

    rep = SimpleNamespace(sid="WRrep", worker_sid="WKrep", reservation_status="accepted")
    reservations = SimpleNamespace(list=lambda limit: [rep])
    tr = SimpleNamespace(tasks=lambda sid: SimpleNamespace(reservations=reservations))
    it = CreateInteractionResult(interaction_sid="KD1", channel_sid="UO1", task_sid="WT1")
    inp = hand_inp(sb, it, None, {}, None)
    assert TwilioActivities._ai_reservation(tr, inp.model_copy(update={"ai_worker_sid": "WKai"})) is None
    assert TwilioActivities._ai_reservation(tr, inp.model_copy(update={"ai_worker_sid": "WKrep"})) is rep
    assert TwilioActivities._ai_reservation(tr, inp) is rep  # older callers: any live one


def test_a_post_to_a_conversation_that_is_gone_fails_at_once(sb: Sb) -> None:
    """The idempotency lookup (a `.list()`) gets 404: a final TwilioClientError, not an error retried 8 times."""
    inp = post_inp(sb, "CH" + "0" * 32, author="AI Support Agent", body="Hi", idempotency_id="ai:SM1")
    with pytest.raises(ApplicationError) as caught:
        sb.acts.post_to_flex(inp)
    assert caught.value.type == CLIENT_ERROR_TYPE and caught.value.non_retryable
    assert caught.value.details[0]["status"] == 404
