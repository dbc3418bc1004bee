"""Child processes of `run`: a stop takes the whole process group, and children die with their parent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cli.procs import ManagedProcess


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_for_file(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_stop_ends_the_child_and_its_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    proc = ManagedProcess("shell", ["/bin/sh", "-c", script], tmp_path / "shell.log")
    proc.start()
    grandchild = int(wait_for_file(pidfile))
    assert proc.exit_reason() is None and alive(grandchild)
    proc.stop(timeout=5)
    assert proc.pid is not None and not alive(proc.pid)
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def test_exit_reason_quotes_the_log(tmp_path: Path) -> None:
    proc = ManagedProcess("failing", ["/bin/sh", "-c", "echo 'bad config: orgs.acme'; exit 3"], tmp_path / "f.log")
    proc.start()
    assert proc.proc is not None
    proc.proc.wait(5)
    reason = proc.exit_reason()
    assert reason is not None and "status 3" in reason and "bad config: orgs.acme" in reason
    proc.stop()


def test_children_die_when_run_is_killed(tmp_path: Path) -> None:
    """Even a SIGKILLed parent leaves no orphan (PR_SET_PDEATHSIG)."""
    pidfile = tmp_path / "child.pid"
    parent_code = (
        "import sys, time, pathlib\n"
        "from cli.procs import ManagedProcess\n"
        f"p = ManagedProcess('sleeper', ['sleep', '300'], pathlib.Path({str(tmp_path / 's.log')!r}))\n"
        "p.start()\n"
        f"pathlib.Path({str(pidfile)!r}).write_text(str(p.pid))\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=Path(__file__).resolve().parents[2])
    try:
        child = int(wait_for_file(pidfile, 30))
        assert alive(child)
        parent.kill()
        parent.wait(5)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        if parent.poll() is None:
            parent.kill()
