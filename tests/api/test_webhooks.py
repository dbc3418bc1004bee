"""The four webhooks against the real dev server and the stand-in workflow: what is started and signalled."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.responses import IGNORED_HEADER
from contracts.ids import conversation_key, workflow_id, workflow_id_for_key
from contracts.signals import (
    SIGNAL_CONTACT_MESSAGE,
    SIGNAL_CONVERSATION_EVENT,
    SIGNAL_DELIVERY_STATUS,
    SIGNAL_TASKROUTER_EVENT,
)
from tests.api.conftest import recorded
from tests.api.twilio_signing import (
    ACME_ACCOUNT,
    ACME_SERVICE,
    ACME_TOKEN,
    ACME_WORKSPACE,
    BETA_ACCOUNT,
    BUSINESS,
    inbound_params,
    new_contact,
    post_signed,
    sid,
)

INBOUND = "/webhooks/acme/whatsapp"


async def _start_conversation(http: httpx.AsyncClient, temporal: Client) -> tuple[str, str, str]:
    contact = new_contact()
    params = inbound_params(contact)
    response = await post_signed(http, INBOUND, params)
    assert response.status_code == 200, response.text
    key = conversation_key("acme", BUSINESS, contact)
    await recorded(temporal, workflow_id_for_key("acme", key), lambda r: len(r["signals"]) >= 1)
    return contact, key, workflow_id_for_key("acme", key)


async def _not_started(temporal: Client, wid: str) -> bool:
    try:
        await temporal.get_workflow_handle(wid).describe()
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


async def test_signed_inbound_starts_the_workflow_with_its_id_and_payload(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    contact = new_contact()
    params = inbound_params(
        contact,
        body="my order is late",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME2",
        MediaContentType1="application/pdf",
    )
    response = await post_signed(http, INBOUND, params)
    assert response.status_code == 200, response.text
    assert "<Response>" in response.text and response.headers["content-type"].startswith("text/xml")

    wid = workflow_id("acme", BUSINESS, contact)
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 1)
    start = got["start"]
    assert (start["org"], start["business_number"], start["contact_address"]) == ("acme", BUSINESS, contact)
    assert start["key"] == conversation_key("acme", BUSINESS, contact)
    assert start["policy"]["workspace_sid"] == ACME_WORKSPACE
    [signal] = got["signals"]
    assert signal["name"] == SIGNAL_CONTACT_MESSAGE
    message = signal["payload"]
    assert message["message_sid"] == params["MessageSid"]
    assert message["contact_address"] == contact and message["business_number"] == BUSINESS
    assert message["body"] == "my order is late" and message["profile_name"] == "Ana"
    assert [m["content_type"] for m in message["media"]] == ["image/jpeg", "application/pdf"]
    assert message["media"][1]["url"].endswith("/ME2")


async def test_duplicate_delivery_reaches_one_workflow(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    params = inbound_params(contact)
    first = await post_signed(http, INBOUND, params)
    second = await post_signed(http, INBOUND, params)
    assert (first.status_code, second.status_code) == (200, 200)
    wid = workflow_id("acme", BUSINESS, contact)
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    # One run got both deliveries; de-duplicating the MessageSid is the workflow's job.
    assert [s["payload"]["message_sid"] for s in got["signals"]] == [params["MessageSid"]] * 2


async def test_concurrent_duplicates_of_a_first_message_start_one_run(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    contact = new_contact()
    params = inbound_params(contact)
    responses = await asyncio.gather(*(post_signed(http, INBOUND, params) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    wid = workflow_id("acme", BUSINESS, contact)
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 5)
    assert len(got["signals"]) == 5
    # All five in the one running execution (the stand-in never ends by itself, so no second run can exist).
    assert (await temporal.get_workflow_handle(wid).describe()).status == WorkflowExecutionStatus.RUNNING


async def test_a_closed_conversation_starts_again(http: httpx.AsyncClient, temporal: Client) -> None:
    contact, _, wid = await _start_conversation(http, temporal)
    handle = temporal.get_workflow_handle(wid)
    first_run = (await handle.describe()).run_id
    await handle.signal("test_finish")
    await handle.result()
    params = inbound_params(contact, body="back again")
    response = await post_signed(http, INBOUND, params)
    assert response.status_code == 200
    description = await temporal.get_workflow_handle(wid).describe()
    assert description.run_id != first_run
    assert description.status == WorkflowExecutionStatus.RUNNING


async def test_wrong_account_is_refused_and_logged(
    http: httpx.AsyncClient, temporal: Client, caplog: pytest.LogCaptureFixture
) -> None:
    contact = new_contact()
    params = inbound_params(contact, AccountSid=BETA_ACCOUNT)
    with caplog.at_level(logging.INFO, logger="wa_flex_handoff.api"):
        response = await post_signed(http, INBOUND, params)
    assert response.status_code == 403
    assert "routed to the wrong org" in response.json()["detail"]
    assert any("routed to the wrong org" in r.getMessage() for r in caplog.records)
    assert await _not_started(temporal, workflow_id("acme", BUSINESS, contact))


async def test_business_number_of_another_org_is_refused(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    params = inbound_params(contact, To="whatsapp:+14155230000")
    response = await post_signed(http, INBOUND, params)
    assert response.status_code == 403
    assert "routed to the wrong org" in response.json()["detail"]


async def test_unknown_org_is_404(http: httpx.AsyncClient) -> None:
    path = "/webhooks/nobody/whatsapp"
    response = await post_signed(http, path, inbound_params(new_contact()))
    assert response.status_code == 404
    assert "unknown org" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"From": "whatsapp:555"}, "From"),
        ({"From": ""}, "From"),
        ({"MessageSid": "not-a-sid"}, "MessageSid"),
        ({"NumMedia": "two"}, "NumMedia"),
        ({"NumMedia": "1"}, "MediaUrl0"),
        ({"NumMedia": "1", "MediaUrl0": "ftp://x/y"}, "MediaUrl0"),
        ({"NumMedia": "100"}, "NumMedia"),
    ],
)
async def test_malformed_inbound_is_422_naming_the_field(
    http: httpx.AsyncClient, temporal: Client, change: dict[str, str], field: str
) -> None:
    contact = new_contact()
    params = inbound_params(contact) | change
    response = await post_signed(http, INBOUND, params)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert contact[2:] not in response.text  # the reason never quotes a phone number
    assert await _not_started(temporal, workflow_id("acme", BUSINESS, contact))


async def test_status_callback_signals_the_running_conversation(http: httpx.AsyncClient, temporal: Client) -> None:
    contact, key, wid = await _start_conversation(http, temporal)
    path = f"/webhooks/acme/whatsapp/status/{key}"
    params = {
        "MessageSid": sid("SM"),
        "MessageStatus": "undelivered",
        "SmsStatus": "undelivered",
        "ErrorCode": "63016",
        "AccountSid": ACME_ACCOUNT,
        "From": f"whatsapp:{BUSINESS}",
        "To": f"whatsapp:{contact}",
        "ChannelPrefix": "whatsapp",
    }
    response = await post_signed(http, path, params)
    assert response.status_code == 204 and IGNORED_HEADER not in response.headers
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    status = got["signals"][1]
    assert status["name"] == SIGNAL_DELIVERY_STATUS
    assert status["payload"]["status"] == "undelivered" and status["payload"]["error_code"] == 63016


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "read", "canceled"])
async def test_status_that_is_no_failure_is_not_signalled(
    http: httpx.AsyncClient, temporal: Client, status: str
) -> None:
    """Only failures are signalled: the workflow reads back the status of its sends (delivery check)."""
    _, key, wid = await _start_conversation(http, temporal)
    path = f"/webhooks/acme/whatsapp/status/{key}"
    params = {"MessageSid": sid("SM"), "MessageStatus": status, "AccountSid": ACME_ACCOUNT}
    response = await post_signed(http, path, params)
    assert response.status_code == 204 and "needs no signal" in response.headers[IGNORED_HEADER]
    failed = {"MessageSid": sid("SM"), "MessageStatus": "failed", "ErrorCode": "63019", "AccountSid": ACME_ACCOUNT}
    response = await post_signed(http, path, failed)
    assert response.status_code == 204 and IGNORED_HEADER not in response.headers
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    # Signals of one client to one workflow arrive in order: had the first been signalled, it would show first.
    assert [(s["name"], s["payload"].get("status")) for s in got["signals"][1:]] == [(SIGNAL_DELIVERY_STATUS, "failed")]


async def test_status_for_no_running_conversation_is_ignored(http: httpx.AsyncClient) -> None:
    path = f"/webhooks/acme/whatsapp/status/{'0' * 32}"
    params = {"MessageSid": sid("SM"), "MessageStatus": "undelivered", "AccountSid": ACME_ACCOUNT}
    response = await post_signed(http, path, params)
    assert response.status_code == 204
    assert "not running" in response.headers[IGNORED_HEADER]


async def test_status_with_bad_key_or_status_is_422(http: httpx.AsyncClient) -> None:
    params = {"MessageSid": sid("SM"), "MessageStatus": "delivered", "AccountSid": ACME_ACCOUNT}
    path = "/webhooks/acme/whatsapp/status/XYZ"
    response = await post_signed(http, path, params)
    assert (response.status_code, response.json()["field"]) == (422, "key")
    path = f"/webhooks/acme/whatsapp/status/{'0' * 32}"
    bad = params | {"MessageStatus": "exploded"}
    response = await post_signed(http, path, bad)
    assert (response.status_code, response.json()["field"]) == (422, "MessageStatus")


def _message_added(author: str, attributes: str = "{}", **extra: str) -> dict[str, str]:
    return {
        "EventType": "onMessageAdded",
        "AccountSid": ACME_ACCOUNT,
        "ChatServiceSid": ACME_SERVICE,
        "ConversationSid": sid("CH"),
        "MessageSid": sid("IM"),
        "Author": author,
        "Body": "hi, this is alice",
        "Attributes": attributes,
        "ParticipantSid": sid("MB"),
        "Source": "SDK",
        "DateCreated": "2026-11-25T12:00:58.111Z",
        "Index": "3",
        "RetryCount": "0",
        **extra,
    }


async def test_rep_message_is_signalled(http: httpx.AsyncClient, temporal: Client) -> None:
    _, key, wid = await _start_conversation(http, temporal)
    path = f"/webhooks/acme/conversations/{key}"
    media = json.dumps([{"Sid": "ME" + "1" * 32, "Filename": "a.pdf", "ContentType": "application/pdf", "Size": 10}])
    params = _message_added("alice", Media=media)
    response = await post_signed(http, path, params)
    assert response.status_code == 204 and IGNORED_HEADER not in response.headers
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    event = got["signals"][1]
    assert event["name"] == SIGNAL_CONVERSATION_EVENT
    assert event["payload"]["message_sid"] == params["MessageSid"]
    assert event["payload"]["author"] == "alice" and event["payload"]["media"][0]["filename"] == "a.pdf"


@pytest.mark.parametrize(
    ("author", "attributes"),
    [
        ("AI Support Agent", "{}"),
        ("whatsapp:+15551234567", "{}"),
        ("system", "{}"),
        ("alice", '{"waHandoffId": "relay-SM123"}'),
    ],
)
async def test_own_ai_contact_and_system_posts_are_ignored(
    http: httpx.AsyncClient, temporal: Client, author: str, attributes: str
) -> None:
    _, key, wid = await _start_conversation(http, temporal)
    path = f"/webhooks/acme/conversations/{key}"
    response = await post_signed(http, path, _message_added(author, attributes))
    assert response.status_code == 204 and response.headers[IGNORED_HEADER]
    got = await recorded(temporal, wid)
    assert [s["name"] for s in got["signals"]] == [SIGNAL_CONTACT_MESSAGE]


async def test_rep_message_for_a_finished_conversation_is_ignored(http: httpx.AsyncClient) -> None:
    path = f"/webhooks/acme/conversations/{'f' * 32}"
    response = await post_signed(http, path, _message_added("alice"))
    assert response.status_code == 204 and "not running" in response.headers[IGNORED_HEADER]


async def test_conversation_event_of_another_service_is_refused(http: httpx.AsyncClient) -> None:
    path = f"/webhooks/acme/conversations/{'f' * 32}"
    params = _message_added("alice", ChatServiceSid="IS" + "9" * 32)
    response = await post_signed(http, path, params)
    assert response.status_code == 403 and "routed to the wrong org" in response.json()["detail"]


def _task_event(attributes: object, **extra: str) -> dict[str, str]:
    return {
        "Sid": sid("EV"),
        "EventType": "reservation.accepted",
        "AccountSid": ACME_ACCOUNT,
        "WorkspaceSid": ACME_WORKSPACE,
        "ResourceType": "Reservation",
        "TaskSid": sid("WT"),
        "TaskAttributes": attributes if isinstance(attributes, str) else json.dumps(attributes),
        "TaskAssignmentStatus": "assigned",
        "TaskQueueSid": sid("WQ"),
        "ReservationSid": sid("WR"),
        "WorkerSid": sid("WK"),
        "WorkerName": "alice",
        "Timestamp": "1764072000",
        **extra,
    }


TASKROUTER = "/webhooks/acme/taskrouter"


async def test_taskrouter_event_routes_by_task_attributes(http: httpx.AsyncClient, temporal: Client) -> None:
    _, _, wid = await _start_conversation(http, temporal)
    params = _task_event({"waHandoff": {"workflowId": wid, "org": "acme"}, "order_id": 42})
    response = await post_signed(http, TASKROUTER, params)
    assert response.status_code == 204 and IGNORED_HEADER not in response.headers
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    event = got["signals"][1]
    assert event["name"] == SIGNAL_TASKROUTER_EVENT
    payload = event["payload"]
    assert payload["event_sid"] == params["Sid"] and payload["reservation_sid"] == params["ReservationSid"]
    assert payload["task_attributes"]["order_id"] == 42
    assert payload["occurred_at"].startswith("2025-11-25T12:00:00")


async def test_taskrouter_event_the_workflow_does_not_use_is_not_signalled(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    _, _, wid = await _start_conversation(http, temporal)
    attributes = {"waHandoff": {"workflowId": wid, "org": "acme"}}
    for event_type in ("task.created", "task.updated", "task-queue.entered"):
        response = await post_signed(http, TASKROUTER, _task_event(attributes, EventType=event_type))
        assert response.status_code == 204
        assert response.headers[IGNORED_HEADER] == f"{event_type} is not used by the workflow"
    response = await post_signed(http, TASKROUTER, _task_event(attributes, EventType="reservation.created"))
    assert response.status_code == 204 and IGNORED_HEADER not in response.headers
    got = await recorded(temporal, wid, lambda r: len(r["signals"]) >= 2)
    # Signals of one client to one workflow arrive in order: had an ignored one been signalled, it would show first.
    assert [(s["name"], s["payload"]["event_type"]) for s in got["signals"][1:]] == [
        (SIGNAL_TASKROUTER_EVENT, "reservation.created")
    ]


async def test_taskrouter_event_the_workflow_does_not_use_is_still_refused_when_broken(
    http: httpx.AsyncClient,
) -> None:
    wid = workflow_id_for_key("acme", "a" * 32)
    broken = _task_event({"waHandoff": {"workflowId": "nope"}}, EventType="task.updated")
    response = await post_signed(http, TASKROUTER, broken)
    assert (response.status_code, response.json()["field"]) == (400, "TaskAttributes")
    other_workspace = _task_event(
        {"waHandoff": {"workflowId": wid}}, EventType="task.updated", WorkspaceSid="WS" + "9" * 32
    )
    response = await post_signed(http, TASKROUTER, other_workspace)
    assert response.status_code == 403 and "WorkspaceSid" in response.json()["detail"]
    beta_task = _task_event(
        {"waHandoff": {"workflowId": workflow_id_for_key("beta", "a" * 32)}}, EventType="task.updated"
    )
    response = await post_signed(http, TASKROUTER, beta_task)
    assert response.status_code == 403 and "routed to the wrong org" in response.json()["detail"]


@pytest.mark.parametrize(
    "attributes",
    [{"name": "someone else's task"}, "[1, 2]", "not json at all", {"waHandoff": None}],
)
async def test_taskrouter_events_not_ours_are_ignored(http: httpx.AsyncClient, attributes: object) -> None:
    response = await post_signed(http, TASKROUTER, _task_event(attributes))
    assert response.status_code == 204 and response.headers[IGNORED_HEADER]


async def test_taskrouter_worker_event_without_task_is_ignored(http: httpx.AsyncClient) -> None:
    params = {k: v for k, v in _task_event({}).items() if not k.startswith("Task")}
    response = await post_signed(http, TASKROUTER, params)
    assert response.status_code == 204 and response.headers[IGNORED_HEADER]


async def test_taskrouter_event_claiming_to_be_ours_but_broken_is_400(http: httpx.AsyncClient) -> None:
    attributes: object
    for attributes in (
        '{"waHandoff": {"workflowId": ',
        {"waHandoff": {"workflowId": "nope"}},
        {"waHandoff": {}},
    ):
        response = await post_signed(http, TASKROUTER, _task_event(attributes))
        assert response.status_code == 400, attributes
        assert response.json()["field"] == "TaskAttributes"


async def test_taskrouter_event_of_another_workspace_or_org_is_refused(http: httpx.AsyncClient) -> None:
    wid = workflow_id_for_key("acme", "a" * 32)
    other_workspace = _task_event({"waHandoff": {"workflowId": wid}}, WorkspaceSid="WS" + "9" * 32)
    response = await post_signed(http, TASKROUTER, other_workspace)
    assert response.status_code == 403 and "WorkspaceSid" in response.json()["detail"]
    beta_task = _task_event({"waHandoff": {"workflowId": workflow_id_for_key("beta", "a" * 32)}})
    response = await post_signed(http, TASKROUTER, beta_task)
    assert response.status_code == 403 and "routed to the wrong org" in response.json()["detail"]


async def test_taskrouter_event_for_a_finished_conversation_is_ignored(http: httpx.AsyncClient) -> None:
    params = _task_event({"waHandoff": {"workflowId": workflow_id_for_key("acme", "e" * 32)}})
    response = await post_signed(http, TASKROUTER, params)
    assert response.status_code == 204 and "not running" in response.headers[IGNORED_HEADER]


async def test_logs_carry_no_phone_number_body_or_token(
    http: httpx.AsyncClient, temporal: Client, caplog: pytest.LogCaptureFixture
) -> None:
    contact = new_contact()
    params = inbound_params(contact, body="secret-body-text-42")
    with caplog.at_level(logging.DEBUG, logger="wa_flex_handoff.api"):
        ok = await post_signed(http, INBOUND, params)
        bad = await post_signed(http, INBOUND, params | {"AccountSid": BETA_ACCOUNT})
        forged = await post_signed(http, INBOUND, params, token="wrong")
    assert (ok.status_code, bad.status_code, forged.status_code) == (200, 403, 403)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "webhook.signalled" in text and "request.refused" in text
    for secret in (contact, contact[1:], contact[-7:], "secret-body-text-42", ACME_TOKEN):
        assert secret not in text
    for record in caplog.records:
        json.loads(record.getMessage())  # one JSON object per line
