"""SIDs: a seed's own SIDs never change, and no created SID repeats across resets or restarts, whether the
sandbox keeps its state (`--db`) or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from twilio_rest.client import build_client
from twilio_sandbox.seed import SandboxSeed
from twilio_sandbox.sids import SID_RE, SidFactory
from twilio_sandbox.testing import running_sandbox


def _created_sids(url: str, worker_name: str = "AI Support Agent") -> tuple[dict[str, Any], list[str]]:
    """The seed, and the SIDs a short handoff creates: worker, task, reservation, conversation, event."""
    seed: dict[str, Any] = httpx.get(f"{url}/_sandbox/seed", timeout=10).json()
    client = build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=url)
    ws = client.taskrouter.v1.workspaces(seed["workspace_sid"])
    ai = ws.workers.create(
        friendly_name=worker_name, attributes='{"ai": true}', activity_sid=seed["activities"]["Available"]
    ).sid
    task = ws.tasks.create(attributes=json.dumps({"n": 1}), workflow_sid=seed["workflow_sid"], task_channel="chat")
    res = ws.tasks(task.sid).reservations.list()[0]
    conv = client.conversations.v1.conversations.create(friendly_name="c")
    event = ws.events.list(limit=1)[0]
    return seed, [ai, task.sid, res.sid, conv.sid, event.sid]


def test_the_factory_keeps_fixed_sids_and_never_repeats_created_ones() -> None:
    a, b = SidFactory("salt"), SidFactory("salt")
    assert a.fixed("WS", "workspace") == b.fixed("WS", "workspace")
    first = [a.new("WT") for _ in range(500)]
    assert len(set(first)) == 500 and all(SID_RE.match(s) for s in first)
    assert not set(first) & {b.new("WT") for _ in range(500)}
    a.reset()
    assert not set(first) & {a.new("WT") for _ in range(500)}


def test_reset_keeps_the_seed_and_issues_new_sids(ctl: httpx.Client) -> None:
    seed, before = _created_sids(str(ctl.base_url))
    ctl.post("/_sandbox/reset").raise_for_status()
    again, after = _created_sids(str(ctl.base_url))
    assert again == seed
    assert not set(before) & set(after)


def test_a_restarted_sandbox_keeps_the_seed_and_issues_new_sids(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"salt": "restart-test"}))
    seed = SandboxSeed.load(seed_file)
    with running_sandbox(seed=seed) as url:
        first_seed, first = _created_sids(url)
    with running_sandbox(seed=seed) as url:
        second_seed, second = _created_sids(url)
    assert first_seed["workspace_sid"] == second_seed["workspace_sid"] == seed.sid("WS", "workspace")
    assert {k: v for k, v in first_seed.items() if k != "base_url"} == {
        k: v for k, v in second_seed.items() if k != "base_url"
    }
    assert not set(first) & set(second)


def test_a_persisted_sandbox_restarted_keeps_its_rows_and_issues_new_sids(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with running_sandbox(db=db) as url:
        seed, first = _created_sids(url)
    with running_sandbox(db=db) as url:
        client = build_client(seed["account_sid"], seed["auth_token"], sandbox_base_url=url)
        assert client.conversations.v1.conversations(first[3]).fetch().sid == first[3]
        _, second = _created_sids(url, worker_name="AI after restart")
    assert not set(first) & set(second)


def test_an_older_snapshot_gains_the_collections_added_since() -> None:
    """A state pickled before contacts, typing indicators and transfers existed loads with them empty."""
    import pickle

    from twilio_sandbox.core import Sandbox
    from twilio_sandbox.persistence import with_indexes

    state = Sandbox(SandboxSeed()).state
    for name in ("contacts", "contact_keys", "typing", "read_inbound", "transfers"):
        del state.__dict__[name]
    loaded = with_indexes(pickle.loads(pickle.dumps(state)))
    assert loaded.contacts == {} and loaded.typing == {} and len(loaded.transfers) == 0
    assert loaded.transfers.where("channel_sid", "UO1") == []
    assert loaded.workspace.sid == SandboxSeed().sid("WS", "workspace")
