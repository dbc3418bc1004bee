"""TaskRouter statistics through the official client, computed from the sandbox's real tasks, workers and events:
real-time queue depth and ages, cumulative counts and wait durations, workers' activity time, bulk queue
statistics (limits, unknown queues, rate limit), and the literal routes winning over `{Sid}`."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.sandbox.exercises import JsonBody
from tests.sandbox.flow_helpers import waiting_human_tasks
from twilio_sandbox.app import create_app


def _advance(ctl: httpx.Client, seconds: float) -> None:
    ctl.post("/_sandbox/clock/advance", json={"seconds": seconds}).raise_for_status()


def _activity(ctl: httpx.Client, rep: str, activity: str) -> None:
    ctl.post(f"/_sandbox/reps/{rep}/activity", json={"activity": activity}).raise_for_status()


def _three_tasks_waited(
    client: Client, seed: dict[str, Any], ctl: httpx.Client, seconds: float
) -> tuple[Any, Any, list[str]]:
    """Three handed-off tasks (priorities 0, 5, 0) that waited `seconds` in the human queue: the workspace, the
    human queue and the tasks."""
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    tasks = waiting_human_tasks(client, seed, ctl, [0, 5, 0])
    _advance(ctl, seconds)
    return ws, ws.task_queues(seed["human_queue_sid"]), tasks


def test_queue_real_time_statistics_follow_the_queue(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    ws, human, tasks = _three_tasks_waited(twilio_client, seed, ctl, 60)
    rt = human.real_time_statistics().fetch()
    assert rt.total_tasks == 3 and rt.tasks_by_status == {"reserved": 0, "pending": 3, "assigned": 0, "wrapping": 0}
    assert rt.tasks_by_priority == {"0": 2, "5": 1}
    assert (rt.longest_task_waiting_sid, rt.longest_task_waiting_age) == (tasks[0], 60)
    assert rt.longest_relative_task_sid_in_queue == tasks[0] and rt.longest_relative_task_age_in_queue == 60
    assert (rt.total_eligible_workers, rt.total_available_workers) == (2, 0)
    offline = next(a for a in rt.activity_statistics if a["sid"] == seed["activities"]["Offline"])
    assert offline["workers"] == 2
    _activity(ctl, "alice", "Available")  # she takes all three (chat capacity 50): nothing pending, one available
    rt = human.real_time_statistics().fetch()
    assert rt.tasks_by_status["reserved"] == 3 and rt.total_available_workers == 1
    # Reserved tasks still wait for a rep: the longest wait does not reset on a reservation.
    assert rt.longest_task_waiting_sid == tasks[0]
    assert ws.task_queues(seed["ai_queue_sid"]).real_time_statistics().fetch().total_tasks == 0
    assert human.real_time_statistics().fetch(task_channel="voice").total_tasks == 0
    with pytest.raises(TwilioRestException) as unknown_channel:
        human.real_time_statistics().fetch(task_channel="carrier-pigeon")
    assert unknown_channel.value.status == 400


def test_cumulative_statistics_count_what_happened_in_the_window(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    ws, human, tasks = _three_tasks_waited(twilio_client, seed, ctl, 90)
    _activity(ctl, "alice", "Available")
    reservations = {r.task_sid: r for t in tasks for r in ws.tasks(t).reservations.list()}
    ws.tasks(tasks[1]).reservations(reservations[tasks[1]].sid).update(reservation_status="accepted")
    ws.tasks(tasks[2]).reservations(reservations[tasks[2]].sid).update(reservation_status="rejected")
    _advance(ctl, 30)
    ws.tasks(tasks[2]).update(assignment_status="canceled", reason="contact left")
    cu = human.cumulative_statistics().fetch(split_by_wait_time="60,100,120")
    assert (cu.tasks_entered, cu.reservations_created, cu.reservations_accepted) == (3, 3, 1)
    assert (cu.reservations_rejected, cu.tasks_canceled, cu.tasks_completed) == (1, 1, 0)
    assert cu.avg_task_acceptance_time == 90
    assert cu.wait_duration_until_accepted == {"avg": 90, "min": 90, "max": 90, "total": 90}
    assert cu.wait_duration_in_queue_until_accepted["max"] == 90
    assert cu.wait_duration_until_canceled == {"avg": 120, "min": 120, "max": 120, "total": 120}
    assert cu.split_by_wait_time["60"] == {
        "above": {"tasks_canceled": 1, "reservations_accepted": 1},
        "below": {"tasks_canceled": 0, "reservations_accepted": 0},
    }
    assert cu.split_by_wait_time["100"]["below"]["reservations_accepted"] == 1
    assert cu.split_by_wait_time["120"]["below"]["tasks_canceled"] == 1
    # A window that ends before anything happened counts nothing; a bad window is a 400.
    assert human.cumulative_statistics().fetch(minutes=1).tasks_entered == 0
    for bad in ({"Minutes": "0"}, {"Minutes": "x"}, {"StartDate": "yesterday"}, {"SplitByWaitTime": "a,b"}):
        answer = ctl.get(
            f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/TaskQueues/{seed['human_queue_sid']}/CumulativeStatistics",
            params=bad,
            auth=(seed["account_sid"], seed["auth_token"]),
        )
        assert (answer.status_code, answer.json()["code"]) == (400, 20001), bad
    both = human.statistics().fetch()
    assert both.realtime["tasks_by_status"]["assigned"] == 1 and both.cumulative["reservations_accepted"] == 1
    listed = {s.task_queue_sid: s for s in ws.task_queues.statistics.list()}
    assert set(listed) == {seed["human_queue_sid"], seed["ai_queue_sid"]}
    assert listed[seed["human_queue_sid"]].cumulative["tasks_entered"] == 3
    assert [s.task_queue_sid for s in ws.task_queues.statistics.list(friendly_name="AI Agent")] == [
        seed["ai_queue_sid"]
    ]


def test_workspace_worker_and_workflow_statistics(
    twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client
) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    tasks = waiting_human_tasks(twilio_client, seed, ctl, [0, 5, 0])
    _advance(ctl, 40)
    _activity(ctl, "alice", "Available")
    res = ws.tasks(tasks[1]).reservations.list()[0]
    ws.tasks(tasks[1]).reservations(res.sid).update(reservation_status="accepted")
    _advance(ctl, 20)
    wrt = ws.real_time_statistics().fetch()
    assert wrt.total_tasks == 3 and wrt.total_workers == 2 and wrt.tasks_by_status["assigned"] == 1
    wcu = ws.cumulative_statistics().fetch()
    assert (wcu.tasks_created, wcu.reservations_accepted, wcu.avg_task_acceptance_time) == (3, 1, 40)
    assert ws.statistics().fetch().cumulative["tasks_created"] == 3
    workers = ws.workers.real_time_statistics().fetch()
    by_name = {a["friendly_name"]: a["workers"] for a in workers.activity_statistics}
    assert workers.total_workers == 2 and by_name == {"Available": 1, "Offline": 1, "Unavailable": 0}
    alice = next(r["worker_sid"] for r in seed["reps"] if r["name"] == "alice")
    mine = ws.workers(alice).statistics().fetch().cumulative
    assert (mine["reservations_created"], mine["reservations_accepted"]) == (3, 1)
    durations = {d["friendly_name"]: d for d in mine["activity_durations"]}
    assert durations["Offline"]["total"] == 40 and durations["Available"]["total"] == 20
    filtered = ws.workers.statistics().fetch(task_queue_sid=seed["ai_queue_sid"])
    assert filtered.realtime["total_workers"] == 0  # the AI queue wants `ai == true`: no rep is eligible
    assert ws.workers.statistics().fetch(friendly_name="bob").realtime["total_workers"] == 1
    assert ws.workers.cumulative_statistics().fetch().reservations_created == 3
    flow = ws.workflows(seed["workflow_sid"])
    assert flow.real_time_statistics().fetch().total_tasks == 3
    assert flow.cumulative_statistics().fetch().tasks_entered == 3
    assert flow.statistics().fetch().cumulative["reservations_accepted"] == 1


def test_bulk_queue_statistics(twilio_client: Client, seed: dict[str, Any], ctl: httpx.Client) -> None:
    ws = twilio_client.taskrouter.v1.workspaces(seed["workspace_sid"])
    waiting_human_tasks(twilio_client, seed, ctl, [0, 5, 0])
    elsewhere = "WQ" + "ab" * 16
    bulk = ws.task_queues.bulk_real_time_statistics.create(
        JsonBody({"queueSids": [seed["human_queue_sid"], seed["ai_queue_sid"], elsewhere]})
    )
    by_sid = {d["task_queue_sid"]: d for d in bulk.task_queue_data}
    assert bulk.task_queue_response_count == 3
    assert by_sid[seed["human_queue_sid"]]["total_tasks"] == 3
    assert by_sid[seed["human_queue_sid"]]["tasks_by_status"]["pending"] == 3
    assert by_sid[elsewhere]["total_tasks"] == 0 and by_sid[elsewhere]["longest_task_waiting_sid"] is None


def test_bulk_queue_statistics_refuse_bad_input(seed: dict[str, Any], ctl: httpx.Client) -> None:
    """Five bad requests (the documented limit is five a second, so none is refused for the rate)."""
    elsewhere = "WQ" + "ab" * 16
    path = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}/TaskQueues/RealTimeStatistics"
    auth = (seed["account_sid"], seed["auth_token"])
    bad_bodies: list[dict[str, Any]] = [
        {"queueSids": []},
        {"queueSids": ["WQ123"]},
        {"QueueSids": [elsewhere] * 51},
        {"other": 1},
    ]
    for bad in bad_bodies:
        answer = ctl.post(path, json=bad, auth=auth)
        assert (answer.status_code, answer.json()["code"]) == (400, 20001), bad
    assert ctl.post(path, content=b"queueSids=x", auth=auth, headers={"Content-Type": "text/plain"}).status_code == 400


def test_bulk_statistics_are_limited_to_five_requests_a_second(seed: dict[str, Any]) -> None:
    from twilio_sandbox.testing import running_sandbox

    with running_sandbox() as url:
        own = httpx.get(f"{url}/_sandbox/seed").json()
        path = f"{url}/taskrouter/v1/Workspaces/{own['workspace_sid']}/TaskQueues/RealTimeStatistics"
        auth = (own["account_sid"], own["auth_token"])
        statuses = [
            httpx.post(path, json={"queueSids": [own["human_queue_sid"]]}, auth=auth).status_code for _ in range(8)
        ]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]


def test_literal_statistics_paths_win_over_sid_paths(seed: dict[str, Any], ctl: httpx.Client) -> None:
    auth = (seed["account_sid"], seed["auth_token"])
    base = f"/taskrouter/v1/Workspaces/{seed['workspace_sid']}"
    assert "task_queues_statistics" in ctl.get(f"{base}/TaskQueues/Statistics", auth=auth).json()
    for name in ("Statistics", "RealTimeStatistics", "CumulativeStatistics"):
        answer = ctl.get(f"{base}/Workers/{name}", auth=auth)
        assert answer.status_code == 200 and "sid" not in answer.json(), name
    # POST …/TaskQueues/RealTimeStatistics is the bulk read, never an update of a queue named so.
    bulk = ctl.post(f"{base}/TaskQueues/RealTimeStatistics", json={"queueSids": [seed["human_queue_sid"]]}, auth=auth)
    assert bulk.status_code == 200 and bulk.json()["task_queue_response_count"] == 1


def test_no_route_is_shadowed_by_an_earlier_template_route() -> None:
    """In the app's route order, a `{param}` route never comes before a literal route of the same method and shape:
    the first match wins, so it would swallow the literal one."""

    def flat(routes: list[Any]) -> list[Any]:
        # FastAPI keeps an included router as one entry that holds the router's own routes, in order.
        return [
            leaf for r in routes for leaf in (flat(r.original_router.routes) if hasattr(r, "original_router") else [r])
        ]

    routes = [
        (m, str(r.path)) for r in flat(list(create_app().routes)) for m in sorted(getattr(r, "methods", None) or ())
    ]
    assert len(routes) > 100

    def shadows(template: str, literal: str) -> bool:
        a, b = template.split("/"), literal.split("/")
        return (
            len(a) == len(b)
            and a != b
            and all(
                x == y or (re.fullmatch(r"\{\w+\}", x) and not y.startswith("{")) for x, y in zip(a, b, strict=True)
            )
        )

    offending = [
        (first, later)
        for i, (method, first) in enumerate(routes)
        for other_method, later in routes[i + 1 :]
        if method == other_method and shadows(first, later)
    ]
    assert offending == []
