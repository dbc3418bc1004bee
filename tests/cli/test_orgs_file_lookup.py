"""How `doctor`, `connect`, `worker` and `api` find the orgs file, read `.env`, and load one org on its own."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.stack import RUN_FILE, RunInfo
from tests.cli.conftest import CliResult
from tests.cli.test_config_errors import GOOD_ORG, one_error
from tests.cli.test_run_unit import run_info

UNREACHABLE = "Cannot reach the sandbox at http://127.0.0.1:9"  # GOOD_ORG's sandbox: the org was loaded


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no orgs.toml, no .env and no .data, as a fresh shell in a new folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("WAFH_ORGS_FILE", "ACME_TOKEN_FOR_TEST"):
        monkeypatch.setenv(name, "placeholder")  # recorded, so teardown removes what .env loading adds
        monkeypatch.delenv(name)
    return tmp_path


def write_run_json(data_dir: Path, orgs_file: Path, pid: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    info = run_info(pid, ["acme"], orgs_file=str(orgs_file), sandbox_url="http://127.0.0.1:9")
    (data_dir / RUN_FILE).write_text(info.model_dump_json())


def test_nothing_to_find_says_not_found_and_both_ways_out(run_cli: Callable[..., CliResult], empty_cwd: Path) -> None:
    err = one_error(run_cli("doctor", "--org", "demo"))
    assert "No orgs file found" in err and "invalid" not in err
    assert "`wa-flex-handoff run`" in err and "copy orgs.example.toml to orgs.toml" in err


def test_the_running_stacks_orgs_file_is_found(
    run_cli: Callable[..., CliResult], empty_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    orgs = empty_cwd / ".data" / "orgs.sandbox.toml"
    write_run_json(empty_cwd / ".data", orgs, pid=os.getpid())
    orgs.write_text(GOOD_ORG)
    assert UNREACHABLE in one_error(run_cli("doctor", "--org", "acme"))
    assert UNREACHABLE in one_error(run_cli("connect", "--org", "acme"))


def test_a_stale_run_file_is_not_used(
    run_cli: Callable[..., CliResult], empty_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    orgs = empty_cwd / "elsewhere.toml"
    orgs.write_text(GOOD_ORG)
    write_run_json(empty_cwd / ".data", orgs, pid=2**22 + 12345)  # above pid_max: no such process
    assert "No orgs file found" in one_error(run_cli("doctor", "--org", "acme"))


def test_other_data_dir(run_cli: Callable[..., CliResult], empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    orgs = empty_cwd / "second" / "orgs.sandbox.toml"
    write_run_json(empty_cwd / "second", orgs, pid=os.getpid())
    orgs.write_text(GOOD_ORG)
    assert UNREACHABLE in one_error(run_cli("doctor", "--org", "acme", "--data-dir", "second"))


def test_secrets_in_dot_env_are_read(run_cli: Callable[..., CliResult], empty_cwd: Path) -> None:
    (empty_cwd / "orgs.toml").write_text(GOOD_ORG)
    assert "ACME_TOKEN_FOR_TEST" in one_error(run_cli("doctor", "--org", "acme"))
    (empty_cwd / ".env").write_text("# as .env.example documents it\nACME_TOKEN_FOR_TEST=from-dot-env\n")
    assert UNREACHABLE in one_error(run_cli("doctor", "--org", "acme"))
    assert os.environ["ACME_TOKEN_FOR_TEST"] == "from-dot-env"


def test_the_environment_wins_over_dot_env(empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.env_file import load_env_file

    (empty_cwd / ".env").write_text("ACME_TOKEN_FOR_TEST=from-dot-env\nWAFH_ORGS_FILE=x.toml\n")
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "from-environment")
    assert load_env_file() == ["WAFH_ORGS_FILE"]
    assert os.environ["ACME_TOKEN_FOR_TEST"] == "from-environment" and os.environ["WAFH_ORGS_FILE"] == "x.toml"


def test_one_orgs_missing_secret_does_not_stop_another(
    run_cli: Callable[..., CliResult], empty_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    monkeypatch.delenv("GLOBEX_TOKEN_FOR_TEST", raising=False)
    globex = GOOD_ORG.replace("[orgs.acme]", "[orgs.globex]").replace("ACME_TOKEN_FOR_TEST", "GLOBEX_TOKEN_FOR_TEST")
    (empty_cwd / "orgs.toml").write_text(GOOD_ORG + globex)
    assert UNREACHABLE in one_error(run_cli("doctor", "--org", "acme"))
    err = one_error(run_cli("doctor", "--org", "globex"))
    assert "Fix: set GLOBEX_TOKEN_FOR_TEST (environment or .env)." in err


def test_long_paths_are_never_wrapped_off_a_terminal(
    run_cli: Callable[..., CliResult], empty_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    deep = empty_cwd.joinpath(*(["a-rather-long-directory-name"] * 6), "orgs.toml")
    result = run_cli("doctor", "--org", "acme", "--orgs-file", str(deep))
    assert result.code == 1
    assert any(str(deep) in line for line in result.err.splitlines()), result.err


def test_debug_is_shown_as_a_plain_flag(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("--help")
    assert result.code == 0
    debug = next(line for line in result.out.splitlines() if "--debug" in line)
    assert "Show tracebacks" in debug and "bool" not in debug.lower() and "--no-debug" not in debug
    run_help = run_cli("run", "--help").out
    assert "--free-ports " in run_help and "--no-free-ports" not in run_help and "<bool>" not in run_help


def test_a_second_worker_joins_the_running_stack(empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.orgs_file import use_orgs_file

    monkeypatch.setenv("ACME_TOKEN_FOR_TEST", "secret")
    data_dir = empty_cwd / ".data"
    orgs = data_dir / "orgs.sandbox.toml"
    write_run_json(data_dir, orgs, pid=os.getpid())
    orgs.write_text(GOOD_ORG)
    keys = data_dir / "secrets" / "codec_keys"
    keys.parent.mkdir()
    keys.write_text("k1:" + "A" * 43 + "=")
    info = RunInfo.model_validate_json((data_dir / RUN_FILE).read_text())
    info.codec_keys_file = str(keys)
    (data_dir / RUN_FILE).write_text(info.model_dump_json())

    environ: dict[str, str] = {"TEMPORAL_NAMESPACE": "set-by-me"}
    choice = use_orgs_file(Path(".data"), environ)
    assert choice.path == orgs and environ["WAFH_ORGS_FILE"] == str(orgs)
    assert environ["TEMPORAL_ADDRESS"] == "127.0.0.1:7233"
    assert environ["TEMPORAL_NAMESPACE"] == "set-by-me"  # what is already set wins
    assert environ["WAFH_CODEC_KEYS"] == "k1:" + "A" * 43 + "="
