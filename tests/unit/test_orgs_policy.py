"""An org's settings reach the workflow's policy; the shipped example file loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.orgs import ConfigError, OrgConfig, OrgRegistry, OrgsFile
from contracts.policy import ConversationPolicy

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


def _toml(**extra: object) -> str:
    """The org as an orgs file (JSON strings are valid TOML strings)."""
    lines = ["[orgs.acme]"] + [f"{k} = {json.dumps(v)}" for k, v in _org(**extra).items()]
    return "\n".join(lines) + "\n"


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


# Settings an org never needs to write: diagnostics for tests and fault runs.
UNDOCUMENTED = {"continue_as_new_after_events"}


def test_the_example_orgs_file_shows_every_setting() -> None:
    """Each setting appears in the example, written out or commented (`# name = …` or a `[….name]` table)."""
    text = (ROOT / "orgs.example.toml").read_text()
    missing = [
        name
        for name in OrgConfig.model_fields
        if name not in UNDOCUMENTED
        and not any(f"{lead}{name} =" in text for lead in ("\n", "\n# "))
        and f".{name}]" not in text
    ]
    assert not missing, f"orgs.example.toml does not show: {missing}"


def test_the_policy_is_the_org_config_minus_credentials_and_connection() -> None:
    org = OrgRegistry.from_mapping({"orgs": {"acme": _org(queue_sla_seconds=77)}}, env={"T": "token"}).get("acme")
    assert org is not None
    policy = org.policy()
    # Every policy setting comes from the org's config, with the same defaults: written once.
    assert set(OrgConfig.model_fields) > set(ConversationPolicy.model_fields)
    assert policy.model_dump() == org.config.model_dump(include=set(ConversationPolicy.model_fields))
    assert (
        policy.queue_sla_seconds == 77
        and policy.busy_message == ConversationPolicy.model_fields["busy_message"].default
    )


def test_a_sid_of_the_wrong_kind_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="human_queue_sid"):
        OrgRegistry.from_mapping({"orgs": {"acme": _org(human_queue_sid="WW" + "0" * 32)}}, env={"T": "token"})


def test_the_orgs_file_is_read_again_when_it_changes_and_a_broken_edit_keeps_the_last_good_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orgs.toml"
    path.write_text(_toml(queue_sla_seconds=300))
    source = OrgsFile(path, env={"T": "token"})
    first = source.current().get("acme")
    assert first is not None and first.policy().queue_sla_seconds == 300
    assert source.current() is source.current()  # unchanged file: not read again
    path.write_text(_toml(queue_sla_seconds=600, busy_message="Back soon"))
    edited = source.current().get("acme")
    assert edited is not None and (edited.policy().queue_sla_seconds, edited.policy().busy_message) == (
        600,
        "Back soon",
    )
    path.write_text("this is not [toml")
    kept = source.current().get("acme")
    assert kept is not None and kept.policy().queue_sla_seconds == 600
    assert source.last_error is not None and "orgs.toml" in source.last_error
