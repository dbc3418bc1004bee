"""End-to-end smoke of the two main commands, as a person runs them: `run` in one process, `demo` in another.

`run` starts the dev server, the sandbox, the worker and the API on free ports; `demo` plays the scripted
conversation against it and must exit 0; SIGINT must stop `run` cleanly and leave no process behind.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.stack import RunInfo, read_run_info
from tests.polling import wait_for

pytestmark = pytest.mark.e2e

START_TIMEOUT = 180.0


def cli() -> list[str]:
    """The installed `wa-flex-handoff` script, as the README runs it (else the module)."""
    script = Path(sys.executable).parent / "wa-flex-handoff"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cli.main"]


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc), children first found."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_mentioning(text: str) -> set[int]:
    """Live processes whose command line or environment contains `text` (even if reparented to init)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    if text.encode() in f.read() and alive(int(entry)):
                        found.add(int(entry))
            except OSError:
                continue
    return found


def kill_if_running(proc: subprocess.Popen[Any]) -> None:
    """Kills a process the test started and did not see stop (it failed before)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAFH_", "TEMPORAL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "160"
    return env


CODEC_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("keys_from", ["data-dir", "environment"])
def test_run_demo_and_clean_stop(tmp_path: Path, keys_from: str) -> None:
    """Payloads are encrypted either way: with the key ring `run` keeps in the data directory, or with
    WAFH_CODEC_KEYS; worker, API and demo share it."""
    data_dir = tmp_path / "data"
    env = clean_env()
    env["COLUMNS"] = "60"  # off a terminal nothing may be cut at this width
    keys_in_env = keys_from == "environment"
    if keys_in_env:
        env["WAFH_CODEC_KEYS"] = CODEC_KEYS
    out_path = tmp_path / "run.out"
    with out_path.open("wb") as out:
        started = time.monotonic()
        run = subprocess.Popen(
            [*cli(), "run", "--free-ports", "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,  # no orgs.toml or .env of the developer's checkout
            env=env,
        )
        try:
            while "Ready" not in out_path.read_text(errors="replace"):
                assert run.poll() is None, f"run exited early:\n{out_path.read_text()}"
                assert time.monotonic() - started < START_TIMEOUT, f"run not ready:\n{out_path.read_text()}"
                time.sleep(0.2)
            startup = time.monotonic() - started
            info = read_run_info(data_dir)
            assert info is not None and info.sandbox_url and info.orgs == ["demo"]
            started_output = out_path.read_text()
            assert f"demo --data-dir {data_dir}`" in started_output  # the demo for this data directory
            for whole in (f"{info.api_url}/docs", info.ui_url, str(info.admin_token_file)):
                assert any(whole in line for line in started_output.splitlines()), whole
            if keys_in_env:
                assert info.codec_keys_file is None
            else:
                assert info.codec_keys_file is not None
                assert Path(info.codec_keys_file).stat().st_mode & 0o777 == 0o600
            below = descendants(run.pid)
            assert len(below) >= 4, f"expected temporal, sandbox, worker and api below run: {below}"

            demo_started = time.monotonic()
            demo = subprocess.run(
                [*cli(), "demo", "--data-dir", str(data_dir)],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                env=env,
                timeout=300,
            )
            demo_time = time.monotonic() - demo_started
            assert demo.returncode == 0, f"demo failed:\n{demo.stdout}\n{demo.stderr}\n--- run:\n{out_path.read_text()}"
            assert "Demo passed" in demo.stdout
            assert f"{info.ui_url}/namespaces/default/workflows/wa-conv:demo:" in demo.stdout
            for attribute in ("handedOff", "handoffReason", "handoffSummary", "handoffSentiment"):
                assert attribute in demo.stdout
            assert "The conversation stays with" in demo.stdout and 'ConversationState="with_rep"' in demo.stdout
            # What the contact and the rep are shown beyond the handoff itself.
            assert "sees “typing…”" in demo.stdout and "ended by reply" in demo.stdout
            assert "received: You are number 1 in line." in demo.stdout
            assert "The 24-hour WhatsApp window closes at" in demo.stdout and "/template" in demo.stdout
            assert "taps “Great”" in demo.stdout and "The contact rated this conversation 5/5." in demo.stdout
            print(f"\nrun startup {startup:.1f} s, demo {demo_time:.1f} s (keys from {keys_from})")
            assert info.admin_token_file is not None
            token = Path(info.admin_token_file).read_text()
            payloads = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}
            encoded = httpx.post(
                f"{info.api_url}/codec/encode", json=payloads, headers={"Authorization": f"Bearer {token}"}
            )
            assert encoded.status_code == 200 and encoded.json()["payloads"][0]["data"] != "e30="
            refused = httpx.post(f"{info.api_url}/codec/encode", json=payloads)
            assert refused.status_code == 401

            run.send_signal(signal.SIGINT)
            assert run.wait(60) == 0, out_path.read_text()
        finally:
            kill_if_running(run)
    output = out_path.read_text()
    assert "Stopped." in output and "Traceback" not in output
    deadline = time.monotonic() + 10
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in below if alive(p)], "processes left behind after SIGINT"
    assert read_run_info(data_dir) is None  # run.json removed on a clean stop


def test_demo_without_a_run_starts_and_stops_its_own(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = clean_env()
    env["TMPDIR"] = str(scratch)  # the demo's own run lives here: every process of it mentions this path
    demo = subprocess.Popen(
        [*cli(), "demo", "--data-dir", str(tmp_path / "none")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        out, _ = demo.communicate(timeout=300)
    finally:
        kill_if_running(demo)
    assert demo.returncode == 0, out
    assert "starting one for the demo" in out and "Demo passed" in out
    assert "The demo's temporary stack is stopped" in out.split("Demo passed", 1)[1]
    assert not (tmp_path / "none").exists()  # its own run lived in a temporary directory
    assert not list(scratch.iterdir())  # … which is gone
    deadline = time.monotonic() + 10
    while (left := processes_mentioning(str(scratch))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left behind: {left}"


def test_ctrl_c_during_start_up_stops_what_was_started(tmp_path: Path) -> None:
    out_path = tmp_path / "run.out"
    with out_path.open("wb") as out:
        run = subprocess.Popen(
            [*cli(), "run", "--free-ports", "--data-dir", str(tmp_path / "data")],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=clean_env(),
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            below: set[int] = set()
            while len(below) < 2:  # the dev server and the sandbox are starting
                assert run.poll() is None and time.monotonic() < deadline, out_path.read_text()
                below = descendants(run.pid)
                time.sleep(0.05)
            run.send_signal(signal.SIGINT)
            assert run.wait(60) in (0, 130), out_path.read_text()
        finally:
            kill_if_running(run)
    assert "Traceback" not in out_path.read_text()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in below if alive(p)], "processes left behind after Ctrl-C during start-up"


def test_demo_names_the_step_that_did_not_happen(tmp_path: Path) -> None:
    """With the worker gone nobody answers: the demo fails at its first step, by name, after its timeout."""
    from rich.console import Console

    from cli.demo import run_demo
    from cli.errors import CliError
    from cli.readiness import worker_polling
    from cli.stack import RunOptions, RunSession

    options = RunOptions(data_dir=tmp_path / "data", free_ports=True, service_env={"WAFH_WORKFLOW_TASK_SLOTS": "9"})
    session = RunSession(options, Console(quiet=True))
    try:
        info = session.start()
        worker = next(p for p in session.procs if p.name == "worker")
        assert worker.env["WAFH_WORKFLOW_TASK_SLOTS"] == "9"  # kept across the restarts the fault suite makes
        # Readiness after a restart looks for the new process itself among the pollers the server remembers.
        assert worker.pid is not None
        assert worker_polling(info.temporal_address, info.task_queue, worker.pid)
        assert not worker_polling(info.temporal_address, info.task_queue, worker.pid + 1_000_000)
        worker.stop()
        with pytest.raises(CliError) as failure:
            run_demo(info, Console(quiet=True), timeout=3)
    finally:
        session.stop(quiet=True)
    message = str(failure.value)
    assert "Demo step “contact asks a question, the AI types and answers” did not happen" in message
    assert "an AI answer reaching the contact did not happen within 3 s" in message
    assert info.workflow_url("") in message and str(tmp_path / "data" / "logs") in message


def sandbox_get(info: RunInfo, path: str) -> Any:
    response = httpx.get(f"{info.sandbox_url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def answers(info: RunInfo, contact: str) -> int:
    return sum(1 for m in sandbox_get(info, f"/_sandbox/contacts/{contact}/inbox")["messages"] if m.get("body"))


def test_a_killed_worker_is_restarted_and_the_conversation_goes_on(tmp_path: Path) -> None:
    """SIGKILL the worker of a running `run` mid-conversation: `run` restarts it (saying so on the console and in
    logs/run.log), Temporal and the sandbox stay up, and the contact's message is answered."""
    data_dir = tmp_path / "data"
    out_path = tmp_path / "run.out"
    with out_path.open("wb") as out:
        run = subprocess.Popen(
            [*cli(), "run", "--free-ports", "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=clean_env(),
        )
        try:
            wait_for("run ready", lambda: "Ready" in out_path.read_text() or run.poll() is not None, START_TIMEOUT)
            assert run.poll() is None, out_path.read_text()
            info = read_run_info(data_dir)
            assert info is not None and info.sandbox_url is not None
            kept = {name: info.processes[name] for name in ("temporal", "sandbox", "api")}
            business = sandbox_get(info, "/_sandbox/seed")["whatsapp_numbers"][0]
            contact = "+34611000111"

            def contact_says(body: str) -> None:
                sent = httpx.post(
                    f"{info.sandbox_url}/_sandbox/contacts/{contact}/messages",
                    json={"to": business, "body": body, "profile_name": "Ana"},
                    timeout=30,
                )
                assert sent.status_code == 200 and sent.json().get("webhook_status") == 200, sent.text

            contact_says("Hi! What are your opening hours?")
            wait_for("the first answer", lambda: answers(info, contact) == 1, 90)

            # The webhook is answered (the signal is in Temporal); the worker dies before it can act on it.
            contact_says("And do you deliver on Sundays?")
            os.killpg(info.processes["worker"], signal.SIGKILL)

            wait_for("the answer after the worker's restart", lambda: answers(info, contact) == 2, 120)
            restarted = read_run_info(data_dir)
            assert restarted is not None and restarted.processes["worker"] != info.processes["worker"]
            assert {name: restarted.processes[name] for name in kept} == kept  # nothing else was restarted
            console = out_path.read_text()
            assert "worker exited with status -9; restarting it in 1 s" in console
            assert f"worker restarted (pid {restarted.processes['worker']})" in console
            assert "restarting it in 1 s" in (data_dir / "logs" / "run.log").read_text()
            assert run.poll() is None  # `run` itself goes on

            run.send_signal(signal.SIGINT)
            assert run.wait(60) == 0, out_path.read_text()
        finally:
            kill_if_running(run)
    assert "Stopped." in out_path.read_text()


def test_the_supervisor_gives_up_after_repeated_crashes(tmp_path: Path) -> None:
    """A worker that cannot start (its orgs file broken after `run` wrote it) crashes at once every time: after
    MAX_CRASHES within the window `run` stops everything and says why."""
    from rich.console import Console

    from cli.restart_policy import MAX_CRASHES
    from cli.stack import RunOptions, RunSession

    session = RunSession(RunOptions(data_dir=tmp_path / "data", free_ports=True), Console(quiet=True))
    try:
        info = session.start()
        Path(info.orgs_file).write_text("this is not TOML [")
        worker = next(p for p in session.procs if p.name == "worker")
        assert worker.pid is not None
        os.killpg(worker.pid, signal.SIGKILL)
        reason = session.wait(lambda: False)
    finally:
        session.stop(quiet=True)
    assert reason is not None and f"worker crashed {MAX_CRASHES} times within" in reason
    log = (tmp_path / "data" / "logs" / "run.log").read_text()
    assert log.count("restarting it in") == MAX_CRASHES - 1 and "giving up" in log
