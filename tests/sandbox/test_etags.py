"""TaskRouter ETags as Twilio's documents give them (workers, reservations, tasks and their lists), If-Match
honoured: a stale value is refused with 412 / 20412 and changes nothing; task list ordering and filters."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.flow_helpers import provision_ai, waiting_human_tasks


def _etag(headers: dict[str, str]) -> str:
    return {k.lower(): v for k, v in headers.items()}["etag"]


def _stale(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as refused:
        call()
    assert (refused.value.status, refused.value.code) == (412, 20412)
    return refused.value


def test_worker_etag_and_if_match(twilio_client: Client, seed: dict[str, Any]) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    created = ws.workers.create_with_http_info(friendly_name="carol", attributes='{"skill": "es"}')
    worker = ws.workers(created.data.sid)
    first = _etag(created.headers)
    assert _etag(worker.fetch_with_http_info().headers) == first
    updated = worker.update_with_http_info(attributes='{"skill": "en"}', if_match=first)
    second = _etag(updated.headers)
    assert second != first and json.loads(updated.data.attributes) == {"skill": "en"}
    _stale(lambda: worker.update(attributes='{"skill": "fr"}', if_match=first))
    _stale(lambda: worker.update(activity_sid=seed["activities"]["Available"], if_match=first))
    fetched = worker.fetch()
    assert json.loads(fetched.attributes) == {"skill": "en"} and fetched.activity_sid == seed["activities"]["Offline"]
    # An activity change is a change of the worker: the ETag moves, `*` always matches.
    moved = worker.update_with_http_info(activity_sid=seed["activities"]["Available"], if_match="*")
    assert _etag(moved.headers) not in (first, second)


def test_worker_list_etag_changes_with_any_listed_worker(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    path = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/Workers"
    auth = (seed["account_sid"], seed["auth_token"])
    before = ctl.get(path, auth=auth).headers["etag"]
    assert ctl.get(path, auth=auth).headers["etag"] == before
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    alice = next(r["worker_sid"] for r in seed["reps"] if r["name"] == "alice")
    ws.workers(alice).update(attributes='{"contact_uri": "client:alice", "x": 1}')
    assert ctl.get(path, auth=auth).headers["etag"] != before


def test_reservation_etag_and_if_match_on_both_paths(twilio_client: Client, seed: dict[str, Any]) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    ai = provision_ai(twilio_client, seed)
    task = ws.tasks.create(attributes='{"n": 1}', workflow_sid=seed["workflow_sid"], task_channel="chat")
    listed = ws.tasks(task.sid).reservations.list()
    assert [r.worker_sid for r in listed] == [ai]
    res_ctx = ws.tasks(task.sid).reservations(listed[0].sid)
    tag = _etag(res_ctx.fetch_with_http_info().headers)
    _stale(lambda: res_ctx.update(reservation_status="accepted", if_match=tag + "0"))
    _stale(lambda: ws.workers(ai).reservations(listed[0].sid).update(reservation_status="accepted", if_match="7"))
    assert res_ctx.fetch().reservation_status == "pending"
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"
    accepted = res_ctx.update_with_http_info(reservation_status="accepted", if_match=tag)
    assert accepted.data.reservation_status == "accepted" and _etag(accepted.headers) != tag
    _stale(lambda: res_ctx.update(reservation_status="completed", if_match=tag))
    assert res_ctx.fetch().reservation_status == "accepted"


def test_reservation_and_task_lists_carry_etags(twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    ai = provision_ai(twilio_client, seed)
    task = ws.tasks.create(attributes='{"n": 1}', workflow_sid=seed["workflow_sid"], task_channel="chat")
    auth = (seed["account_sid"], seed["auth_token"])
    base = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}"
    paths = [f"{base}/Tasks/{task.sid}/Reservations", f"{base}/Workers/{ai}/Reservations", f"{base}/Tasks"]
    before = [ctl.get(p, auth=auth).headers["etag"] for p in paths]
    res = ws.tasks(task.sid).reservations.list()[0]
    ws.tasks(task.sid).reservations(res.sid).update(reservation_status="accepted")
    after = [ctl.get(p, auth=auth).headers["etag"] for p in paths]
    assert all(b != a for b, a in zip(before, after, strict=True))


def test_task_list_ordering_and_queue_filters(twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    created = waiting_human_tasks(twilio_client, seed, ctl, [0, 5, 0, 5, 1])
    other = ws.tasks.create(attributes="{}", workflow_sid=seed["workflow_sid"], task_channel="chat").sid
    waiting = ws.tasks.list(
        task_queue_sid=seed["human_queue_sid"], assignment_status=["pending"], ordering="Priority:desc,DateCreated:asc"
    )
    assert [t.sid for t in waiting] == [created[i] for i in (1, 3, 4, 0, 2)]
    assert other not in {t.sid for t in waiting}
    assert [t.sid for t in ws.tasks.list(ordering="DateCreated:desc")] == [other, *reversed(created)]
    by_name = ws.tasks.list(task_queue_name="Everyone", ordering="Priority:asc,DateCreated:desc")
    assert [t.sid for t in by_name] == [created[i] for i in (2, 0, 4, 3, 1)]
    auth = (seed["account_sid"], seed["auth_token"])
    path = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/Tasks"
    bad_orderings = ["Priority", "Priority:up", "Age:asc", "DateCreated:asc,VirtualStartTime:desc"]
    for bad in [*bad_orderings, "Priority:asc,Priority:desc"]:
        answer = ctl.get(path, params={"Ordering": bad}, auth=auth)
        assert (answer.status_code, answer.json()["code"]) == (400, 20001), bad
