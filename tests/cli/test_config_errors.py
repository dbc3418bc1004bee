"""Bad configuration: one sentence naming the key at fault plus the fix, no traceback (unless --debug)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import CliResult

GOOD_ORG = """
[orgs.acme]
account_sid = "AC{a}"
auth_token_env = "ACME_TOKEN_FOR_TEST"
workspace_sid = "WS{a}"
workflow_sid = "WW{a}"
conversations_service_sid = "IS{a}"
ai_queue_sid = "WQ{a}"
human_queue_sid = "WQ{b}"
whatsapp_numbers = ["+14155238886"]
public_base_url = "https://example.com"
twilio_sandbox_url = "http://127.0.0.1:9"
""".format(a="a" * 32, b="b" * 32)


def one_error(result: CliResult) -> str:
    assert result.code == 1, result
    assert "Traceback" not in result.err + result.out
    assert "Error:" in result.err and "Fix:" in result.err
    return " ".join(result.err.split())


def test_missing_orgs_file(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    err = one_error(run_cli("doctor", "--org", "acme", "--orgs-file", str(tmp_path / "nope.toml")))
    assert "nope.toml (from --orgs-file) was not found" in err and "invalid" not in err


@pytest.fixture
def good_orgs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """GOOD_ORG as an orgs file, with its token's variable set."""
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG)
    return path


def test_unknown_org(run_cli: Callable[..., CliResult], good_orgs_file: Path) -> None:
    err = one_error(run_cli("doctor", "--org", "globex", "--orgs-file", str(good_orgs_file)))
    assert "no org 'globex'" in err and "acme" in err


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('account_sid = "AC', 'account_sid = "XX'), "orgs.acme.account_sid"),
        (('public_base_url = "https://', 'public_base_url = "ftp://'), "orgs.acme.public_base_url"),
        (('whatsapp_numbers = ["+14155238886"]', 'whatsapp_numbers = ["12"]'), "orgs.acme.whatsapp_numbers"),
        (("[orgs.acme]", "[orgs.ACME]"), "orgs.ACME"),
        (("[orgs.acme]", "[orgs.acme"), "orgs file"),
    ],
)
def test_invalid_key_is_named(
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
    key: str,
) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG.replace(*change))
    assert key in one_error(run_cli("connect", "--org", "acme", "--orgs-file", str(path)))


def test_unset_secret_variable_is_named(
    run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_TOKEN_FOR_TEST", raising=False)
    path = tmp_path / "orgs.toml"
    path.write_text(GOOD_ORG)
    err = one_error(run_cli("doctor", "--org", "acme", "--orgs-file", str(path)))
    assert "ACME_TOKEN_FOR_TEST" in err and "which is not set" in err
    assert "Fix: set ACME_TOKEN_FOR_TEST (environment or .env)." in err and "correct" not in err


def test_unreachable_twilio_is_one_sentence(run_cli: Callable[..., CliResult], good_orgs_file: Path) -> None:
    # GOOD_ORG's twilio_sandbox_url points at port 9 (discard): nothing listens.
    err = one_error(run_cli("doctor", "--org", "acme", "--orgs-file", str(good_orgs_file)))
    assert "Cannot reach the sandbox at http://127.0.0.1:9" in err


def test_debug_shows_the_traceback(run_cli: Callable[..., CliResult], good_orgs_file: Path) -> None:
    result = run_cli("--debug", "doctor", "--org", "globex", "--orgs-file", str(good_orgs_file))
    assert result.code == 1 and "Traceback" in result.err


def test_run_refuses_a_port_in_use(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = one_error(run_cli("run", "--data-dir", str(tmp_path), "--temporal-port", str(port)))
    assert f"Port {port} (temporal) is already in use" in err and "--temporal-port" in err


def test_run_names_a_missing_orgs_file(
    run_cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAFH_ORGS_FILE", str(tmp_path / "missing.toml"))
    err = one_error(run_cli("run", "--data-dir", str(tmp_path), "--free-ports"))
    assert "WAFH_ORGS_FILE points to" in err and "missing.toml" in err


def test_usage_errors_are_click_style(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("doctor")
    assert result.code == 2 and "Missing option '--org'" in result.err and "Unexpected" not in result.err


def test_a_bad_setting_names_the_variable(run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAFH_ACTIVITY_THREADS", "many")
    err = one_error(run_cli("run", "--free-ports", "--data-dir", "unused-data-dir"))
    assert "Setting WAFH_ACTIVITY_THREADS is invalid" in err


def test_worker_command_exits_non_zero_on_bad_config(
    run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAFH_METRICS_PORT", "nine")
    result = run_cli("worker")
    assert result.code == 1 and "Setting WAFH_METRICS_PORT is invalid" in result.err and "Traceback" not in result.err


def test_a_failed_start_leaves_no_empty_data_directory(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    import socket

    data_dir = tmp_path / "new-data-dir"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = one_error(run_cli("run", "--data-dir", str(data_dir), "--api-port", str(port)))
    assert f"Port {port} (api) is already in use" in err
    assert not data_dir.exists()
