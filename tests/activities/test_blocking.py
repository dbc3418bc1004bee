"""Heartbeats of the long activities: a killed worker's run is retried after the heartbeat timeout (20 s), not
after the activity's whole limit (2 min for a media copy)."""

from __future__ import annotations

import threading
import time
from typing import Any

from temporalio.testing import ActivityEnvironment

from activities.blocking import heartbeating_thread


def test_a_blocking_activity_heartbeats_while_its_long_call_runs() -> None:
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *d: beats.append(d)

    def copy(_: None) -> str:
        with heartbeating_thread():
            time.sleep(0.2)  # one long download: no loop of ours to heartbeat from
        return "done"

    assert env.run(copy, None) == "done"
    assert beats


def test_outside_an_activity_it_starts_no_helper_thread() -> None:
    with heartbeating_thread():
        helpers = [t for t in threading.enumerate() if t.name == "activity-heartbeat"]
    assert helpers == []
