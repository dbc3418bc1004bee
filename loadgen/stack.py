"""The whole service as `run` starts it (Temporal dev server, sandbox, worker, API), plus the violence the fault
suite needs: SIGKILL and restart the worker, restart the API, restart Temporal on its database file.

Children are (re)spawned from the thread that owns the stack: `run` gives them PR_SET_PDEATHSIG, which fires
when the *thread* that forked them exits, so spawning from a short-lived thread would kill them at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from cli.net import http_ok
from cli.procs import ManagedProcess
from cli.readiness import temporal_ready, worker_polling
from cli.sandbox_setup import OrgSetting, SandboxSeedInfo, fetch_seed, write_sandbox_orgs
from cli.stack import RunInfo, RunOptions, RunSession

# The org's queue updates in a fault run: often enough that a contact waiting through a reps' break hears more
# than one (the default, 5 min, is longer than a run's breaks).
QUEUE_UPDATE_SECONDS = 10
QUEUE_UPDATES_MAX = 3
# The rating question: WhatsApp-approved quick-reply buttons (csat_1 … csat_5), so it may go out inside and outside
# the window alike (the run's sandbox clock jumps past the window before the reps end their tasks).
RATING_CONTENT: dict[str, Any] = {
    "friendly_name": "rate_the_conversation",
    "language": "en",
    "types": {
        "twilio/quick-reply": {
            "body": "How did we do? Rate this conversation from 1 to 5.",
            "actions": [{"type": "QUICK_REPLY", "title": f"{n}", "id": f"csat_{n}"} for n in range(1, 6)],
        }
    },
}


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(
        self,
        data_dir: Path,
        console: Console | None = None,
        *,
        activity_threads: int = 64,
        delivery_check_seconds: int = 30,
        continue_as_new_after_events: int | None = None,
    ) -> None:
        # Injected REST latency (up to 2 s a call) holds an activity thread per call: with the default 16 threads
        # a few hundred concurrent conversations queue behind each other instead of exercising the faults.
        self.data_dir = data_dir
        self.console = console or Console(quiet=True)
        # Dropped status callbacks are read back after this long (default 10 min; a fault run cannot wait that).
        org_settings: dict[str, OrgSetting] = {
            "delivery_check_seconds": delivery_check_seconds,
            "queue_updates": {"every_seconds": QUEUE_UPDATE_SECONDS, "max_updates": QUEUE_UPDATES_MAX},
            "typing_indicator": True,
        }
        if continue_as_new_after_events is not None:
            # Run boundaries under load: every conversation continues as new after this many events.
            org_settings["continue_as_new_after_events"] = continue_as_new_after_events
        service_env = {"WAFH_ACTIVITY_THREADS": str(activity_threads)}
        # Plain payloads: the fault figures compare with earlier plain runs.
        self.org_settings = org_settings
        options = RunOptions(
            data_dir=data_dir,
            free_ports=True,
            org_settings=org_settings,
            service_env=service_env,
            encrypt_payloads=False,
        )
        self.session = RunSession(options, self.console)
        self._info: RunInfo | None = None
        self._seed: SandboxSeedInfo | None = None

    # -- lifecycle
    def start(self) -> RunInfo:
        # Restarted children keep the environment they were first given (service_env included).
        self._info = self.session.start()
        if self._info.sandbox_url is None:
            raise StackError("the fault suite needs the Twilio sandbox; unset WAFH_ORGS_FILE")
        self._seed = fetch_seed(self._info.sandbox_url)
        self.turn_on_csat()
        return self._info

    def turn_on_csat(self) -> str:
        """The org's operator turns the rating on: the question's content is created through the Content API and
        approved by WhatsApp's review (the sandbox's), then the org's `csat` setting goes into the orgs file, which
        the API and the worker read again when it changes (new conversations have it at once). The content SID."""
        seed, url = self.seed, self.sandbox_url
        auth = (seed.account_sid, seed.auth_token)
        with httpx.Client(timeout=30) as http:
            created = http.post(f"{url}/content/v1/Content", json=RATING_CONTENT, auth=auth)
            created.raise_for_status()
            sid = str(created.json()["sid"])
            http.post(
                f"{url}/content/v1/Content/{sid}/ApprovalRequests/whatsapp",
                json={"name": RATING_CONTENT["friendly_name"], "category": "UTILITY"},
                auth=auth,
            ).raise_for_status()
            http.post(f"{url}/_sandbox/content/{sid}/approval", json={"status": "approved"}).raise_for_status()
        self.org_settings["csat"] = {"enabled": True, "quick_reply_content_sid": sid, "template_content_sid": sid}
        orgs_file = Path(self.info.orgs_file)
        written = write_sandbox_orgs(
            seed,
            self.data_dir,
            public_base_url=self.info.api_url,
            sandbox_url=url,
            org_settings=self.org_settings,
            file_name=orgs_file.name + ".new",
        )
        os.replace(written, orgs_file)  # whole, never half-written, for the API and worker reading it
        return sid

    def stop(self) -> None:
        self.session.stop(quiet=True)

    def next_contact_block(self) -> int:
        """A number no earlier run on this stack's data directory has had: contact numbers (and so workflow ids)
        derive from it, and two runs sharing one would judge each other's messages."""
        counter = self.data_dir / "contact-blocks"
        used = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(used + 1))
        return used

    @property
    def info(self) -> RunInfo:
        if self._info is None:
            raise StackError("stack not started")
        return self._info

    @property
    def seed(self) -> SandboxSeedInfo:
        if self._seed is None:
            raise StackError("stack not started")
        return self._seed

    @property
    def sandbox_url(self) -> str:
        assert self.info.sandbox_url is not None
        return self.info.sandbox_url

    def proc(self, name: str) -> ManagedProcess:
        for p in self.session.procs:
            if p.name == name:
                return p
        raise StackError(f"no process named {name!r} in the stack")

    # -- violence (spawning happens in the calling thread; waiting for readiness is async)
    def sigkill(self, name: str) -> None:
        """SIGKILL the process group at once: no shutdown, no graceful drain."""
        p = self.proc(name)
        if p.proc is not None and p.proc.poll() is None:
            try:
                os.killpg(p.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.proc.wait(timeout=10)
        p.stop()  # closes the log handle; nothing left to signal

    def terminate(self, name: str) -> None:
        self.proc(name).stop(timeout=20)

    def spawn(self, name: str) -> None:
        p = self.proc(name)
        if p.proc is not None and p.proc.poll() is None:
            raise StackError(f"{name} is still running")
        p.start()

    async def wait_ready(self, name: str, within: float = 90.0) -> None:
        info = self.info
        probes: dict[str, Callable[[], bool]] = {
            "worker": lambda: worker_polling(info.temporal_address, info.task_queue, self.proc("worker").pid),
            "api": lambda: http_ok(f"{info.api_url}/readyz"),
            "temporal": lambda: temporal_ready(info.temporal_address),
        }
        probe = probes[name]
        deadline = time.monotonic() + within
        while True:
            reason = self.proc(name).exit_reason()
            if reason:
                raise StackError(reason)
            if await asyncio.to_thread(probe):
                return
            if time.monotonic() > deadline:
                raise StackError(f"{name} not ready within {within:.0f} s; see {self.proc(name).log_path}")
            await asyncio.sleep(0.3)
