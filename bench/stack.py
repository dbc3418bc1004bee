"""The service under test: `run`'s processes (dev server, sandbox, worker, API) started fresh for a benchmark.

Everything the figures need sits here: a Temporal client, the org's signing secret, the sandbox seed, extra
worker processes, and the pids whose RSS/CPU the scale figure reads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from temporalio.client import Client

from cli.procs import ManagedProcess
from cli.readiness import NAMESPACE
from cli.sandbox_setup import SANDBOX_ORG, OrgSetting, SandboxSeedInfo, fetch_seed
from cli.stack import RunInfo, RunOptions, RunSession, child_env
from config.orgs import OrgRegistry
from config.settings import Settings
from contracts.policy import TYPING_INDICATOR_AFTER_SECONDS
from payload_encryption.converter import build_data_converter


class Stack:
    """A fresh `run` in a temporary data dir on free ports. Use as an async context manager."""

    def __init__(
        self,
        console: Console,
        *,
        label: str = "bench",
        org_settings: dict[str, OrgSetting] | None = None,
        service_env: dict[str, str] | None = None,
    ) -> None:
        self.console = console
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"wafh-{label}-"))
        self.settings = Settings()
        self.session = RunSession(
            RunOptions(
                data_dir=self.data_dir,
                free_ports=True,
                # The figures measure an org's defaults, not the sandbox org's show of its features (the rating
                # question, a typing indicator before every reply); the cost figure turns them on where it counts them.
                org_settings={
                    "csat": {"enabled": False},
                    "typing_indicator_after_seconds": TYPING_INDICATOR_AFTER_SECONDS,
                    **(org_settings or {}),
                },
                service_env=service_env or {},
                # Plain payloads unless WAFH_CODEC_KEYS is set: the figures compare with earlier plain runs.
                encrypt_payloads=False,
            ),
            Console(quiet=True),
            self.settings,
        )
        self.extra: list[ManagedProcess] = []
        self._client: Client | None = None
        # A per-stack prefix keeps contact numbers (hence workflow ids) unique across figures in one run.
        self._prefix = secrets.randbelow(900) + 100
        self._counter = 0

    # -- lifecycle
    # ---------------------------------------------------------------------------------------------
    async def __aenter__(self) -> Stack:
        started = time.monotonic()
        self.info: RunInfo = await asyncio.to_thread(self.session.start)
        assert self.info.sandbox_url is not None, "benchmarks drive the Twilio sandbox"
        self.sandbox_url: str = self.info.sandbox_url
        self.seed: SandboxSeedInfo = fetch_seed(self.sandbox_url)
        org = OrgRegistry.load(self.info.orgs_file).get(SANDBOX_ORG)
        assert org is not None
        self.org = org
        self.auth_token = org.auth_token.get_secret_value()
        self.account_sid = org.config.account_sid
        self.business = self.seed.whatsapp_numbers[0]
        self.webhook_url = f"{org.config.public_base_url}/webhooks/{SANDBOX_ORG}/whatsapp"
        self.console.print(f"[dim]stack up in {time.monotonic() - started:.1f} s ({self.data_dir})[/dim]")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in reversed(self.extra):
            await asyncio.to_thread(proc.stop)
        self.extra.clear()
        await asyncio.to_thread(self.session.stop, True)

    async def raise_ai_capacity(self, capacity: int = 1000) -> int:
        """Let the AI's TaskRouter worker hold `capacity` conversations at once (connect sets 50; the sandbox,
        like Twilio, allows up to 1000 per worker channel). Beyond it new sessions wait for an AI reservation."""
        return await asyncio.to_thread(self._raise_ai_capacity, capacity)

    def _raise_ai_capacity(self, capacity: int) -> int:
        import json

        from cli.connect import client_for

        ws = client_for(self.org).taskrouter.v1.workspaces(self.org.config.workspace_sid)
        for worker in ws.workers.list():
            if json.loads(worker.attributes or "{}").get("ai") is True:
                for ch in ws.workers(worker.sid).worker_channels.list():
                    if ch.task_channel_unique_name == self.org.config.task_channel:
                        ws.workers(worker.sid).worker_channels(ch.sid).update(capacity=capacity)
                        return capacity
        raise RuntimeError("no AI worker with a chat channel in the sandbox workspace")

    async def client(self) -> Client:
        if self._client is None:
            keys = self.settings.codec_keys.get_secret_value() if self.settings.codec_keys else None
            self._client = await Client.connect(
                self.info.temporal_address, namespace=NAMESPACE, data_converter=build_data_converter(keys)
            )
        return self._client

    # -- processes
    # ---------------------------------------------------------------------------------------------
    def proc(self, name: str) -> ManagedProcess:
        for p in [*self.session.procs, *self.extra]:
            if p.name == name:
                return p
        raise KeyError(name)

    def pid(self, name: str) -> int:
        pid = self.proc(name).pid
        assert pid is not None
        return pid

    def child_env(self) -> dict[str, str]:
        """The environment `run` gives its worker and API (see cli/stack.py)."""
        env = child_env()
        env.update(
            {
                "TEMPORAL_ADDRESS": self.info.temporal_address,
                "TEMPORAL_NAMESPACE": NAMESPACE,
                "WAFH_ORGS_FILE": self.info.orgs_file,
                "WAFH_TEMPORAL_UI_URL": self.info.ui_url,
                "PYTHONUNBUFFERED": "1",
                **self.session.options.service_env,  # a second worker runs with the settings of the first
            }
        )
        for key in ("TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_PROFILE"):
            env.pop(key, None)
        return env

    async def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.data_dir / "logs" / f"{name}.log", env or self.child_env())
        proc.start()
        self.extra.append(proc)
        return proc

    async def spawn_worker(self, name: str) -> ManagedProcess:
        """Another service worker process (`python -m worker`) on the same task queue."""
        before = await self.pollers()
        proc = await self.spawn(name, [sys.executable, "-m", "worker"])
        deadline = time.monotonic() + 60
        while await self.pollers() <= before:
            if proc.exit_reason():
                raise RuntimeError(proc.exit_reason())
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start polling within 60 s")
            await asyncio.sleep(0.3)
        return proc

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far of every running process of the stack, and of this driver."""
        out: dict[str, float] = {"driver (bench)": read_proc_stats(os.getpid())[1]}
        for p in [*self.session.procs, *self.extra]:
            if p.pid is not None and p.proc is not None and p.proc.poll() is None:
                try:
                    out[p.name] = read_proc_tree_cpu(p.pid)
                except OSError:
                    pass
        return out

    async def stop_proc(self, name: str) -> None:
        await asyncio.to_thread(self.proc(name).stop)

    async def restart_worker(self) -> None:
        """Stop the service worker and start a fresh one (empty workflow cache)."""
        await self.stop_proc("worker")
        self.session.procs = [p for p in self.session.procs if p.name != "worker"]
        await self.spawn_worker("worker")

    async def pollers(self) -> int:
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        client = await self.client()
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=NAMESPACE,
                task_queue=TaskQueue(name=self.settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return len({p.identity for p in resp.pollers})

    # -- helpers for drivers
    # ---------------------------------------------------------------------------------------------
    def new_contact(self) -> str:
        self._counter += 1
        return f"+4479{self._prefix:03d}{self._counter:06d}"

    def sign(self, url: str, params: dict[str, str]) -> str:
        """X-Twilio-Signature as Twilio computes it (HMAC-SHA1 over URL + sorted key/value pairs)."""
        data = url + "".join(k + params[k] for k in sorted(params))
        digest = hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def inbound_params(self, contact: str, body: str) -> dict[str, str]:
        sid = "SM" + secrets.token_hex(16)
        return {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": f"whatsapp:{contact}",
            "To": f"whatsapp:{self.business}",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ProfileName": "Bench",
            "WaId": contact.lstrip("+"),
            "SmsStatus": "received",
            "MessageType": "text",
            "ApiVersion": "2010-04-01",
        }

    def sandbox(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.sandbox_url, timeout=30, limits=httpx.Limits(max_connections=200))


def read_proc_stats(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds user+system) of a process, from /proc."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return rss, cpu


def read_proc_tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (the dev server runs as one process, `run` children
    may fork)."""
    total = read_proc_stats(pid)[1]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            total += read_proc_tree_cpu(int(child))
        except OSError:
            pass
    return total


def cpu_per(before: dict[str, float], after: dict[str, float], units: float) -> dict[str, float]:
    """CPU milliseconds per unit of work, per process, between two snapshots."""
    if units <= 0:
        return {}
    return {k: round((after[k] - before.get(k, 0.0)) * 1000 / units, 1) for k in after}
