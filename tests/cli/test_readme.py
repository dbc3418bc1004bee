"""The README's two commands: what CI runs, and — from a fresh clone, verbatim — that they work (e2e)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cli.stack import read_run_info
from tests.cli.test_run_e2e import clean_env, processes_mentioning

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL)]


def test_the_two_commands() -> None:
    run_cmd, test_cmd = readme_commands()
    assert run_cmd == f"{INSTALL} && .venv/bin/wa-flex-handoff run"
    assert test_cmd == f"{INSTALL} && .venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci, ".ci/run must run the README's test command verbatim"


@pytest.mark.e2e
@pytest.mark.fresh_clone
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fresh_clone_runs_the_readme_run_command_verbatim(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    run_cmd, _ = readme_commands()
    env = clean_env()
    env["WAFH_FREE_PORTS"] = "1"  # the default ports may be taken on this machine
    out_path = tmp_path / "out.txt"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(["bash", "-c", run_cmd], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 900  # includes the pip install
            while "Ready" not in out_path.read_text(errors="replace"):
                assert proc.poll() is None, out_path.read_text()
                assert time.monotonic() < deadline, out_path.read_text()
                time.sleep(1)
            info = read_run_info(clone / ".data")  # the README's run uses the default data dir
            assert info is not None
            # Next to the running stack, doctor and connect need no other argument.
            for command in ("doctor", "connect"):
                checked = subprocess.run(
                    [".venv/bin/wa-flex-handoff", command, "--org", "demo"],
                    cwd=clone,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert checked.returncode == 0, f"{command}: {checked.stdout}{checked.stderr}"
                assert "Org 'demo' is ready" in checked.stdout
            os.kill(info.pid, signal.SIGINT)  # Ctrl-C, as a person would
            assert proc.wait(90) == 0, out_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert "Stopped." in out_path.read_text()
    assert not processes_mentioning(str(clone / ".data"))
