"""connect/doctor against the Twilio sandbox, in-process: doctor changes nothing, connect is idempotent, and a
broken set-up is reported precisely."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cli.connect import AI_CHANNEL_CAPACITY, REQUIRED_EVENTS, check_org, client_for, event_callback_url
from cli.sandbox_setup import RATING_BUTTONS, RATING_TEMPLATE, SANDBOX_ORG, fetch_seed, write_sandbox_orgs
from config.orgs import Org, OrgRegistry
from tests.cli.conftest import CliResult
from twilio_sandbox.testing import running_sandbox

PUBLIC = "https://handoff.example.com"


@pytest.fixture
def sandbox() -> Iterator[str]:
    with running_sandbox() as url:
        yield url


@pytest.fixture
def orgs_file(sandbox: str, tmp_path: Path) -> Path:
    return write_sandbox_orgs(fetch_seed(sandbox), tmp_path, public_base_url=PUBLIC, sandbox_url=sandbox)


@pytest.fixture
def org(orgs_file: Path) -> Org:
    found = OrgRegistry.load(orgs_file).get(SANDBOX_ORG)
    assert found is not None
    return found


def record_writes(sandbox: str) -> list[str]:
    """POST/DELETE REST calls the sandbox has seen (its chronological record)."""
    entries = httpx.get(f"{sandbox}/_sandbox/record", timeout=10).json()["entries"]
    return [
        f"{e['method']} {e['path']}"
        for e in entries
        if e.get("kind") == "rest" and e.get("method") in ("POST", "DELETE") and "/_sandbox" not in e["path"]
    ]


def failing(report_checks: list[tuple[str, bool]]) -> list[str]:
    return [check for check, ok in report_checks if not ok]


def test_sandbox_orgs_file_round_trips(orgs_file: Path, sandbox: str) -> None:
    seed = fetch_seed(sandbox)
    org = OrgRegistry.load(orgs_file).get(SANDBOX_ORG)
    assert org is not None
    assert org.auth_token.get_secret_value() == seed.auth_token
    assert seed.auth_token not in orgs_file.read_text()  # secrets live in 0600 files, not in the TOML
    rating = {RATING_BUTTONS: seed.templates[RATING_BUTTONS], RATING_TEMPLATE: seed.templates[RATING_TEMPLATE]}
    assert org.config.templates == {n: sid for n, sid in seed.templates.items() if n not in rating}
    assert (org.config.csat.quick_reply_content_sid, org.config.csat.template_content_sid) == tuple(rating.values())
    assert org.config.twilio_sandbox_url == sandbox
    assert (orgs_file.parent / "secrets").stat().st_mode & 0o077 == 0


def test_doctor_reports_and_changes_nothing(org: Org, sandbox: str) -> None:
    before = record_writes(sandbox)
    report = check_org(org, apply=False)
    assert not report.ok
    bad = failing([(f.check, f.ok) for f in report.findings])
    assert bad == ["AI worker", "event callback"]
    detail = {f.check: f.detail for f in report.findings}
    assert "no worker named 'AI Support Agent'" in detail["AI worker"]
    assert event_callback_url(org) in detail["event callback"]
    assert not report.changes
    assert record_writes(sandbox) == before


def test_connect_provisions_once_then_changes_nothing(org: Org, sandbox: str) -> None:
    first = check_org(org, apply=True)
    writes = record_writes(sandbox)
    assert len(writes) == 3, writes  # create worker, raise its capacity, set the event callback
    assert first.ok, first.findings
    assert {f.check for f in first.changes} == {"AI worker", "AI chat capacity", "event callback"}

    ws = client_for(org).taskrouter.v1.workspaces(org.config.workspace_sid)
    workers = [w for w in ws.workers.list() if w.friendly_name == "AI Support Agent"]
    assert len(workers) == 1
    assert json.loads(workers[0].attributes) == {"ai": True}
    assert workers[0].activity_name == "Available"
    channel = next(c for c in ws.workers(workers[0].sid).worker_channels.list() if c.task_channel_unique_name == "chat")
    assert channel.configured_capacity == AI_CHANNEL_CAPACITY
    workspace = ws.fetch()
    assert workspace.event_callback_url == f"{PUBLIC}/webhooks/{SANDBOX_ORG}/taskrouter"
    assert set(REQUIRED_EVENTS) <= set(workspace.events_filter.split(","))

    second = check_org(org, apply=True)
    assert second.ok and second.changes == []
    assert record_writes(sandbox) == writes  # the second run wrote nothing
    assert second.ai_worker_sid == first.ai_worker_sid
    assert check_org(org, apply=False).ok


def test_connect_repairs_a_drifted_ai_worker(org: Org) -> None:
    check_org(org, apply=True)
    ws = client_for(org).taskrouter.v1.workspaces(org.config.workspace_sid)
    worker = next(w for w in ws.workers.list() if w.friendly_name == "AI Support Agent")
    offline = next(a for a in ws.activities.list() if a.friendly_name == "Offline")
    ws.workers(worker.sid).update(attributes=json.dumps({"team": "bots"}), activity_sid=offline.sid)

    doctor = check_org(org, apply=False)
    detail = {f.check: f.detail for f in doctor.findings}
    assert '"ai": true' in detail["AI worker"] and "'Offline'" in detail["AI worker"]

    fixed = check_org(org, apply=True)
    assert fixed.ok and [f.check for f in fixed.changes] == ["AI worker"]
    assert json.loads(ws.workers(worker.sid).fetch().attributes) == {"team": "bots", "ai": True}


def test_routing_with_ai_filter_first_is_reported(org: Org) -> None:
    c = org.config
    ws = client_for(org).taskrouter.v1.workspaces(c.workspace_sid)
    bad = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "AI",
                    "expression": "1 == 1",
                    "targets": [{"queue": c.ai_queue_sid}],
                },
                {
                    "filter_friendly_name": "Humans",
                    "expression": "handedOff == true",
                    "targets": [{"queue": c.human_queue_sid}],
                },
            ]
        }
    }
    ws.workflows(c.workflow_sid).update(configuration=json.dumps(bad))
    report = check_org(org, apply=True)
    routing = next(f for f in report.findings if f.check == "routing")
    assert not routing.ok and not routing.changed
    assert "comes after the AI filter 'AI'" in routing.detail and "does not exclude" in routing.detail
    assert report.recommended_workflow_configuration is not None
    # connect never rewrites the customer's routing
    assert json.loads(ws.workflows(c.workflow_sid).fetch().configuration) == bad


def test_wrong_credentials_are_reported(org: Org) -> None:
    broken = org.model_copy(
        update={
            "auth_token": SecretStr("wrong"),
            "api_key_secret": None,
            "config": org.config.model_copy(update={"api_key_sid": None}),
        }
    )
    report = check_org(broken, apply=True)
    assert [f.check for f in report.findings] == ["credentials"]
    assert "rejected the credentials" in report.findings[0].detail


def test_cli_doctor_then_connect(run_cli: Callable[..., CliResult], orgs_file: Path) -> None:
    doctor = run_cli("doctor", "--org", SANDBOX_ORG, "--orgs-file", str(orgs_file))
    assert doctor.code == 1 and "MISSING" in doctor.out and "not ready for the handoff" in doctor.err
    connect = run_cli("connect", "--org", SANDBOX_ORG, "--orgs-file", str(orgs_file))
    assert connect.code == 0, connect
    assert "is ready" in connect.out and "Changed:" in connect.out
    again = run_cli("connect", "--org", SANDBOX_ORG, "--orgs-file", str(orgs_file))
    assert again.code == 0 and "Nothing changed" in again.out


def test_ai_worker_in_the_human_queue_is_reported(org: Org) -> None:
    check_org(org, apply=True)
    ws = client_for(org).taskrouter.v1.workspaces(org.config.workspace_sid)
    ws.task_queues(org.config.human_queue_sid).update(target_workers="1 == 1")
    report = check_org(org, apply=True)
    membership = next(f for f in report.findings if f.check == "AI queue membership")
    assert not membership.ok and "also in the human queue" in membership.detail and "ai != true" in membership.detail
    ws.task_queues(org.config.human_queue_sid).update(target_workers="ai != true")
    assert check_org(org, apply=False).ok


def test_connect_sets_the_orgs_ai_chat_capacity(sandbox: str, tmp_path: Path) -> None:
    orgs_file = write_sandbox_orgs(
        fetch_seed(sandbox),
        tmp_path,
        public_base_url=PUBLIC,
        sandbox_url=sandbox,
        org_settings={"ai_chat_capacity": 200},
    )
    org = OrgRegistry.load(orgs_file).get(SANDBOX_ORG)
    assert org is not None and org.config.ai_chat_capacity == 200
    report = check_org(org, apply=True)
    assert report.ok, report.findings
    ws = client_for(org).taskrouter.v1.workspaces(org.config.workspace_sid)
    [ai] = [w for w in ws.workers.list() if w.friendly_name == "AI Support Agent"]
    channel = next(c for c in ws.workers(ai.sid).worker_channels.list() if c.task_channel_unique_name == "chat")
    assert channel.configured_capacity == 200
