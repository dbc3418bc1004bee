"""An org's settings reach the workflow's policy; the shipped example file loads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.orgs import ConfigError, OrgRegistry
from contracts.policy import workflow_task_timeout

ROOT = Path(__file__).resolve().parents[2]


def _org(**extra: object) -> dict[str, object]:
    return {
        "account_sid": "AC" + "a" * 32,
        "auth_token_env": "T",
        "workspace_sid": "WS" + "a" * 32,
        "workflow_sid": "WW" + "a" * 32,
        "conversations_service_sid": "IS" + "a" * 32,
        "ai_queue_sid": "WQ" + "a" * 32,
        "human_queue_sid": "WQ" + "b" * 32,
        "whatsapp_numbers": ["whatsapp:+14155238886"],
        "public_base_url": "https://hooks.example.com/",
        **extra,
    }


def test_timing_settings_reach_the_policy() -> None:
    orgs = OrgRegistry.from_mapping(
        {"orgs": {"acme": _org(ai_session_idle_seconds=120, ai_turn_timeout_seconds=9, delivery_check_seconds=30)}},
        env={"T": "token"},
    )
    org = orgs.get("acme")
    assert org is not None
    policy = org.policy()
    assert (policy.ai_session_idle_seconds, policy.ai_turn_timeout_seconds, policy.delivery_check_seconds) == (
        120,
        9,
        30,
    )
    assert policy.public_base_url == "https://hooks.example.com"
    assert "token" not in policy.model_dump_json()  # the policy goes into history: no secret in it


def test_a_zero_timeout_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="ai_turn_timeout_seconds"):
        OrgRegistry.from_mapping({"orgs": {"acme": _org(ai_turn_timeout_seconds=0)}}, env={"T": "token"})


def test_the_example_orgs_file_loads() -> None:
    orgs = OrgRegistry.load(ROOT / "orgs.example.toml", env={"ACME_TWILIO_AUTH_TOKEN": "x"})
    assert orgs.names()


def test_local_activities_is_off_unless_the_org_turns_it_on() -> None:
    off = OrgRegistry.from_mapping({"orgs": {"acme": _org()}}, env={"T": "token"}).get("acme")
    on = OrgRegistry.from_mapping({"orgs": {"acme": _org(local_activities=True)}}, env={"T": "token"}).get("acme")
    assert on is not None and off is not None
    assert (on.policy().local_activities, off.policy().local_activities) == (True, False)
    # Their steps run inside workflow tasks: those conversations start with the longer task timeout.
    assert (workflow_task_timeout(on.policy()), workflow_task_timeout(off.policy())) == (timedelta(seconds=60), None)
