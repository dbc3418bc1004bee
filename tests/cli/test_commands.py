"""`sandbox` and `api` as separate processes, as docker-compose runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cli.net import free_port
from cli.sandbox_setup import fetch_seed, write_sandbox_orgs
from tests.cli.test_run_e2e import clean_env, cli


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"exited with {proc.returncode}"
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.1)


def test_sandbox_and_api_commands(tmp_path: Path) -> None:
    sandbox_port, api_port = free_port(), free_port()
    sandbox = subprocess.Popen([*cli(), "sandbox", "--port", str(sandbox_port)], env=clean_env(), cwd=tmp_path)
    api = None
    try:
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        assert wait_http(f"{sandbox_url}/_sandbox/seed", sandbox).status_code == 200
        orgs_file = write_sandbox_orgs(
            fetch_seed(sandbox_url), tmp_path, public_base_url="http://127.0.0.1:1", sandbox_url=sandbox_url
        )
        env = clean_env()
        env.update({"WAFH_ORGS_FILE": str(orgs_file), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"})
        api = subprocess.Popen([*cli(), "api", "--port", str(api_port)], env=env, cwd=tmp_path)
        assert wait_http(f"http://127.0.0.1:{api_port}/healthz", api).status_code == 200
        # No Temporal behind it: not ready, and says so instead of accepting webhooks it cannot record.
        assert httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=10).status_code == 503
        api.send_signal(signal.SIGTERM)
        assert api.wait(30) in (0, -signal.SIGTERM)  # uvicorn drains, then re-raises the signal
    finally:
        for proc in (api, sandbox):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def test_api_command_refuses_a_bad_orgs_file(tmp_path: Path) -> None:
    env = clean_env()
    env["WAFH_ORGS_FILE"] = str(tmp_path / "absent.toml")
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "api", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "absent.toml (from WAFH_ORGS_FILE) was not found" in result.stderr and "Traceback" not in result.stderr


def test_sandbox_setup_wires_a_sandbox_started_on_its_own(tmp_path: Path) -> None:
    """What docker compose's sandbox-setup job runs: then `doctor --org demo` passes with that orgs file."""
    sandbox_port = free_port()
    sandbox = subprocess.Popen([*cli(), "sandbox", "--port", str(sandbox_port)], env=clean_env(), cwd=tmp_path)
    try:
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        orgs_file = tmp_path / "config" / "orgs.toml"
        setup = subprocess.run(
            [
                *cli(),
                "sandbox-setup",
                "--sandbox-url",
                sandbox_url,
                "--public-base-url",
                "http://api:8000",
                "--orgs-file",
                str(orgs_file),
            ],
            env=clean_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        assert "http://api:8000/webhooks/demo/whatsapp" in setup.stdout
        assert 'public_base_url = "http://api:8000"' in orgs_file.read_text()
        token = tmp_path / "config" / "secrets" / "demo_auth_token"
        assert token.stat().st_mode & 0o777 == 0o600
        doctor = subprocess.run(
            [*cli(), "doctor", "--org", "demo", "--orgs-file", str(orgs_file)],
            env=clean_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "Org 'demo' is ready" in doctor.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(10)


def test_demo_against_a_stack_given_by_options(tmp_path: Path) -> None:
    """docker compose's demo job: no run.json, the stack named by options, the key ring from WAFH_CODEC_KEYS."""
    from rich.console import Console

    from cli.stack import RunOptions, RunSession

    session = RunSession(RunOptions(data_dir=tmp_path / "data", free_ports=True), Console(quiet=True))
    try:
        info = session.start()
        assert info.sandbox_url is not None
        env = clean_env()
        env["WAFH_CODEC_KEYS"] = info.codec_keys() or ""
        demo = subprocess.run(
            [
                *cli(),
                "demo",
                "--api-url",
                info.api_url,
                "--sandbox-url",
                info.sandbox_url,
                "--temporal-address",
                info.temporal_address,
                "--ui-url",
                info.ui_url,
                "--orgs-file",
                info.orgs_file,
            ],
            env=env,
            cwd=tmp_path,  # no .data here: nothing but the options describes the stack
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        session.stop(quiet=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo passed" in demo.stdout and "The conversation stays with" in demo.stdout


def test_codec_url(tmp_path: Path) -> None:
    from payload_encryption.ui_access import ui_codec_path

    env = clean_env()
    without = subprocess.run([*cli(), "codec-url"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert without.returncode == 1 and "set WAFH_ADMIN_TOKEN" in without.stderr
    env["WAFH_ADMIN_TOKEN"] = "a-token-for-this-test-only"
    url = subprocess.run(
        [*cli(), "codec-url", "--api-url", "http://localhost:8000/"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert url.returncode == 0, url.stderr
    assert url.stdout.strip() == "http://localhost:8000" + ui_codec_path("a-token-for-this-test-only")
