"""The orgs file `run` writes for the sandbox org carries the org settings it is given, of every type: the
benchmarks put the org on the `openai` backend (a string) or on local activities (a flag) this way."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from cli.sandbox_setup import (
    RATING_BUTTONS,
    RATING_TEMPLATE,
    SANDBOX_ORG,
    OrgSetting,
    SandboxSeedInfo,
    write_sandbox_orgs,
)
from config.orgs import Org, OrgRegistry


def _seed() -> SandboxSeedInfo:
    return SandboxSeedInfo(
        account_sid="AC" + "0" * 32,
        auth_token="t" * 32,
        workspace_sid="WS" + "0" * 32,
        workflow_sid="WW" + "0" * 32,
        ai_queue_sid="WQ" + "1" * 32,
        human_queue_sid="WQ" + "2" * 32,
        conversations_service_sid="IS" + "0" * 32,
        whatsapp_numbers=["+14155238886"],
    )


def _write(tmp_path: Path, settings: dict[str, OrgSetting]) -> Path:
    return write_sandbox_orgs(
        _seed(), tmp_path, public_base_url="http://127.0.0.1:1", sandbox_url="http://127.0.0.1:2", org_settings=settings
    )


def _org(path: Path) -> Org:
    org = OrgRegistry.load(path).get(SANDBOX_ORG)
    assert org is not None, f"{path} has no org {SANDBOX_ORG!r}"
    return org


def test_string_flag_and_number_settings_reach_the_org(tmp_path: Path) -> None:
    path = _write(tmp_path, {"ai_backend": "openai", "trust_proxy": True, "delivery_check_seconds": 45})
    org = OrgRegistry.load(path).get(SANDBOX_ORG)
    assert org is not None
    assert org.config.ai_backend == "openai"
    assert org.config.trust_proxy is True
    assert org.config.delivery_check_seconds == 45


def test_a_string_setting_is_quoted_not_injected(tmp_path: Path) -> None:
    path = _write(tmp_path, {"ai_backend": 'rules"\ntrust_proxy = true'})
    text = path.read_text()
    assert "\ntrust_proxy = true" not in text
    assert tomllib.loads(text)["orgs"][SANDBOX_ORG]["ai_backend"] == 'rules"\ntrust_proxy = true'


def test_a_table_setting_becomes_the_orgs_table(tmp_path: Path) -> None:
    path = _write(tmp_path, {"queue_updates": {"enabled": False}, "window_warning_minutes": 30})
    org = OrgRegistry.load(path).get(SANDBOX_ORG)
    assert org is not None
    assert org.config.queue_updates.enabled is False
    assert org.config.window_warning_minutes == 30


def test_the_rating_question_is_on_when_the_seed_has_its_contents(tmp_path: Path) -> None:
    buttons, template = "HX" + "a" * 32, "HX" + "b" * 32
    seed = _seed().model_copy(update={"templates": {RATING_BUTTONS: buttons, RATING_TEMPLATE: template}})
    path = write_sandbox_orgs(seed, tmp_path, public_base_url="http://127.0.0.1:1", sandbox_url="http://127.0.0.1:2")
    org = _org(path)
    csat = org.config.csat
    assert (csat.enabled, csat.quick_reply_content_sid, csat.template_content_sid) == (True, buttons, template)
    assert not {RATING_BUTTONS, RATING_TEMPLATE} & set(org.config.templates)  # not offered to the reps
    # Without those contents (or when a test turns it off) nothing is asked.
    assert _org(_write(tmp_path, {})).config.csat.enabled is False
    off = write_sandbox_orgs(
        seed,
        tmp_path,
        public_base_url="http://127.0.0.1:1",
        sandbox_url="http://127.0.0.1:2",
        org_settings={"csat": {"enabled": False}},
    )
    assert _org(off).config.csat.enabled is False


def test_nested_settings_dates_and_lists_reach_the_org(tmp_path: Path) -> None:
    hours = {
        "timezone": "Europe/Madrid",
        "weekly": {"mon": ["09:00-14:00", "15:00-18:00"]},
        "holidays": [date(2026, 12, 7), date(2026, 12, 8)],
        "when_closed": "hold",
    }
    path = _write(tmp_path, {"business_hours": hours, "queue_updates": {"every_seconds": 3, "max_updates": 4}})
    org = OrgRegistry.load(path).get(SANDBOX_ORG)
    assert org is not None
    assert org.config.business_hours.weekly == {"mon": ["09:00-14:00", "15:00-18:00"]}
    assert org.config.business_hours.holidays == [date(2026, 12, 7), date(2026, 12, 8)]
    assert org.config.business_hours.when_closed == "hold"
    assert (org.config.queue_updates.every_seconds, org.config.queue_updates.max_updates) == (3, 4)
