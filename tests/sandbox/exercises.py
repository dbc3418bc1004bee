"""Calls of the operations added for queue statistics, typing indicators, transfers and Content approvals, made
with the official client for the contract test (each request and response is checked against Twilio's
documents there). They assert only what the contract test cannot see: that the call did something."""

from __future__ import annotations

import json
from typing import Any

import httpx
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList
from twilio.rest.messaging.v3.typing_indicator import TypingIndicatorList


class JsonBody:
    """What the 9.13 client wants for a JSON body: an object with `to_dict()`."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    def to_dict(self) -> dict[str, Any]:
        return self.payload


def exercise_statistics(client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    task = ws.tasks.create(
        attributes=json.dumps({"handedOff": True}), workflow_sid=seed["workflow_sid"], task_channel="chat"
    )
    ctl.post("/_sandbox/clock/advance", json={"seconds": 5}).raise_for_status()
    queue = ws.task_queues(seed["human_queue_sid"])
    assert queue.real_time_statistics().fetch(task_channel="chat").total_tasks >= 1
    queue.cumulative_statistics().fetch(minutes=60, split_by_wait_time="30,60")
    queue.statistics().fetch(task_channel="chat")
    assert ws.task_queues.statistics.list(page_size=5)
    bulk = ws.task_queues.bulk_real_time_statistics.create(JsonBody({"queueSids": [seed["human_queue_sid"]]}))
    assert bulk.task_queue_response_count == 1
    ws.real_time_statistics().fetch()
    ws.cumulative_statistics().fetch(split_by_wait_time="10")
    ws.statistics().fetch()
    ws.workers.real_time_statistics().fetch()
    ws.workers.cumulative_statistics().fetch()
    ws.workers.statistics().fetch(task_queue_sid=seed["human_queue_sid"])
    alice = next(r["worker_sid"] for r in seed["reps"] if r["name"] == "alice")
    assert ws.workers(alice).statistics().fetch().worker_sid == alice
    flow = ws.workflows(seed["workflow_sid"])
    flow.real_time_statistics().fetch()
    flow.cumulative_statistics().fetch()
    flow.statistics().fetch()
    ws.tasks(task.sid).delete()


def exercise_typing(client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    inbound = ctl.post(
        "/_sandbox/contacts/+15551239999/messages", json={"to": seed["whatsapp_numbers"][0], "body": "hi"}
    )
    sm = inbound.json()["message_sid"]
    assert client.messaging.v2.typing_indicator.create(channel="whatsapp", message_id=sm).success
    request = TypingIndicatorList.TypingIndicatorRequest({"channel": "WHATSAPP", "messageId": sm})
    assert client.messaging.v3.typing_indicator.create(request).success


def exercise_etags(client: Client, seed: dict[str, Any]) -> None:
    """If-Match on the worker and reservation updates (the task's is in the main exercise)."""
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    bob = next(r["worker_sid"] for r in seed["reps"] if r["name"] == "bob")
    fetched = ws.workers(bob).fetch_with_http_info()
    tag = {k.lower(): v for k, v in fetched.headers.items()}["etag"]
    ws.workers(bob).update(friendly_name="bob", if_match=tag)
    task = ws.tasks.create(
        attributes=json.dumps({"handedOff": True}), workflow_sid=seed["workflow_sid"], task_channel="chat"
    )
    res = ws.tasks(task.sid).reservations.list()[0]
    res_tag = {k.lower(): v for k, v in ws.tasks(task.sid).reservations(res.sid).fetch_with_http_info().headers.items()}
    ws.workers(res.worker_sid).reservations(res.sid).update(reservation_status="rejected", if_match=res_tag["etag"])
    again = ws.tasks(task.sid).reservations.list(reservation_status="pending")
    if again:
        ws.tasks(task.sid).reservations(again[0].sid).update(reservation_status="accepted", if_match="*")


CSAT_TYPES: dict[str, Any] = {
    "twilio/quick-reply": {
        "body": "Hi {{1}}, how did we do?",
        "actions": [
            {"type": "QUICK_REPLY", "title": "Great", "id": "csat_5"},
            {"type": "QUICK_REPLY", "title": "OK", "id": "csat_3"},
            {"type": "QUICK_REPLY", "title": "Bad", "id": "csat_1"},
        ],
    },
    "twilio/text": {"body": "Hi {{1}}, how did we do? Reply 1-5."},
}


def create_csat_content(client: Client) -> Any:
    request = ContentList.ContentCreateRequest(
        {"friendly_name": "csat", "language": "en", "variables": {"1": "Ana"}, "types": CSAT_TYPES}
    )
    return client.content.v1.contents.create(request)


def exercise_content(client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    content = create_csat_content(client)
    assert content.sid.startswith("HX")
    approval = client.content.v1.contents(content.sid).approval_create.create(
        ApprovalCreateList.ContentApprovalRequest({"name": "csat_rating", "category": "UTILITY"})
    )
    assert approval.status == "received"
    assert client.content.v1.contents(content.sid).approval_fetch().fetch().whatsapp["status"] == "received"
    ctl.post("/_sandbox/contacts/+15551238888/messages", json={"to": seed["whatsapp_numbers"][0], "body": "hi"})
    client.messages.create(
        to="whatsapp:+15551238888",
        from_=f"whatsapp:{seed['whatsapp_numbers'][0]}",
        content_sid=content.sid,
        content_variables=json.dumps({"1": "Ana"}),
    )
