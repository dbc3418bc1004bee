"""Calls of the operations added for queue statistics, typing indicators, transfers and Content approvals, made
with the official client for the contract test (each request and response is checked against Twilio's
documents there). They assert only what the contract test cannot see: that the call did something."""

from __future__ import annotations

import json
from typing import Any

import httpx
from twilio.rest import Client


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
