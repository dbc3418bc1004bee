"""The orgs file `run` writes for the sandbox org carries the org settings it is given, of every type: the
benchmarks put the org on the `openai` backend (a string) or on local activities (a flag) this way."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from cli.sandbox_setup import SANDBOX_ORG, OrgSetting, SandboxSeedInfo, write_sandbox_orgs
from config.orgs import OrgRegistry


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
