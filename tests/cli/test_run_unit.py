"""Pieces of `run` that need no servers: real-Twilio detection and the run.json file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.errors import CliError
from cli.stack import RUN_FILE, RunInfo, read_run_info, real_twilio_orgs
from config.settings import Settings
from tests.cli.test_config_errors import GOOD_ORG


def settings_for(path: Path) -> Settings:
    return Settings(orgs_file=str(path))


def test_no_orgs_file_means_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAFH_ORGS_FILE", raising=False)
    assert real_twilio_orgs(settings_for(tmp_path / "orgs.toml")) is None


def test_sandbox_only_orgs_mean_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG)  # has twilio_sandbox_url
    assert real_twilio_orgs(settings_for(path)) is None


def test_a_real_org_means_real_twilio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG.replace('twilio_sandbox_url = "http://127.0.0.1:9"', ""))
    registry = real_twilio_orgs(settings_for(path))
    assert registry is not None and registry.names() == ["acme"]


def test_a_broken_orgs_file_stops_run_with_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG.replace('workspace_sid = "WS', 'workspace_sid = "XX'))
    with pytest.raises(CliError) as info:
        real_twilio_orgs(settings_for(path))
    assert "orgs.acme.workspace_sid" in str(info.value)


def run_info(pid: int, orgs: list[str], orgs_file: str = "orgs.toml", sandbox_url: str | None = None) -> RunInfo:
    """What `run` records of a stack started now by process `pid`, on the default addresses."""
    return RunInfo(
        pid=pid,
        started_at=datetime.now(UTC),
        api_url="http://127.0.0.1:8000",
        temporal_address="127.0.0.1:7233",
        namespace="default",
        ui_url="http://127.0.0.1:8233",
        sandbox_url=sandbox_url,
        orgs_file=orgs_file,
        orgs=orgs,
        task_queue="wa-flex-handoff",
    )


def test_run_file_round_trip_and_garbage(tmp_path: Path) -> None:
    assert read_run_info(tmp_path) is None
    info = run_info(pid=1, orgs=["acme"])
    (tmp_path / RUN_FILE).write_text(info.model_dump_json())
    assert read_run_info(tmp_path) == info
    assert info.workflow_url("wa-conv:acme:" + "0" * 32) == (
        "http://127.0.0.1:8233/namespaces/default/workflows/wa-conv:acme:" + "0" * 32
    )
    (tmp_path / RUN_FILE).write_text("{not json")
    assert read_run_info(tmp_path) is None


def test_a_second_run_in_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    import os

    from rich.console import Console

    from cli.stack import RunOptions, RunSession

    other = run_info(pid=os.getppid(), orgs=["demo"])  # a live process that is not us
    (tmp_path / RUN_FILE).write_text(other.model_dump_json())
    session = RunSession(RunOptions(data_dir=tmp_path, free_ports=True), Console(quiet=True))
    with pytest.raises(CliError) as info:
        session.start()
    assert f"Another `run` (pid {other.pid}) already uses" in str(info.value) and "--data-dir" in str(info.value)
    assert session.procs == []  # nothing was started


def test_demo_needs_the_sandbox() -> None:
    from rich.console import Console

    from cli.demo import Demo

    info = RunInfo(
        pid=1,
        started_at=datetime.now(UTC),
        api_url="http://127.0.0.1:8000",
        temporal_address="127.0.0.1:7233",
        namespace="default",
        ui_url="http://127.0.0.1:8233",
        sandbox_url=None,  # a run against real Twilio
        orgs_file="orgs.toml",
        orgs=["acme"],
        task_queue="wa-flex-handoff",
    )
    with pytest.raises(CliError) as failure:
        Demo(info, Console(quiet=True))
    assert "uses real Twilio" in str(failure.value) and "Fix:" in str(failure.value)


def test_remove_if_empty_keeps_anything_with_a_file(tmp_path: Path) -> None:
    from cli.stack import remove_if_empty

    empty = tmp_path / "empty"
    (empty / "secrets" / "deeper").mkdir(parents=True)
    remove_if_empty(empty)
    assert not empty.exists()
    with_log = tmp_path / "with-log"
    (with_log / "logs").mkdir(parents=True)
    (with_log / "logs" / "temporal.log").write_text("why it failed")
    remove_if_empty(with_log)
    assert (with_log / "logs" / "temporal.log").read_text() == "why it failed"
    remove_if_empty(tmp_path / "never-created")  # nothing to do, no error
