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
    assert "absent.toml does not exist" in result.stderr and "Traceback" not in result.stderr
