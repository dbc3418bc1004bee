"""The development stack: the whole service on one machine — Temporal dev server, Twilio sandbox (unless real
Twilio is configured), worker and API — each a child process, started in dependency order with readiness checks,
supervised while it runs (a crashed worker or API is restarted with backoff), stopped in reverse.

`run`, `demo`, the fault suite, the benchmarks and the tests all start it through `RunSession`. The running set-up
is described in `{data_dir}/run.json` so that every command (and people) can find it.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console

from cli.errors import CliError
from cli.metrics_summary import WORKER_METRICS_PORT, metrics_urls
from cli.net import free_port, http_ok, port_in_use, wait_until
from cli.procs import ManagedProcess
from cli.readiness import NAMESPACE, pid_alive, temporal_ready, worker_polling
from cli.restart_policy import CrashHistory
from cli.sandbox_setup import SANDBOX_ORG, OrgSetting, wire_sandbox
from cli.temporal_binaries import temporal_cli_path
from config.orgs import ConfigError, OrgRegistry
from config.settings import Settings
from contracts.search_attributes import cli_flags
from payload_encryption.keys import generate_key_ring
from payload_encryption.ui_access import ui_codec_path

RUN_FILE = "run.json"
# A crashed worker or API is restarted; Temporal and the sandbox hold the state and stopping them loses it.
RESTARTABLE = frozenset({"worker", "api"})
CODEC_KEYS_FILE = "codec_keys"
UI_CODEC_ENDPOINT_FILE = "ui_codec_endpoint"


class RunOptions(BaseModel):
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    temporal_port: int = 7233
    ui_port: int = 8233
    api_port: int = 8000
    sandbox_port: int = 8400
    free_ports: bool = False  # pick free ports instead of the defaults (tests, several runs side by side)
    start_timeout: float = 90.0
    # Extra settings of the sandbox org (e.g. a short `delivery_check_seconds` for the fault suite; a table such
    # as `csat` as a dict).
    org_settings: dict[str, OrgSetting] = Field(default_factory=dict)
    # Extra environment of the worker and the API (e.g. WAFH_* settings for a benchmark or the fault suite).
    service_env: dict[str, str] = Field(default_factory=dict)
    # Encrypt payloads with the data directory's key ring when WAFH_CODEC_KEYS is unset. Off only for the
    # benchmarks and the fault suite, whose figures compare with earlier plain runs.
    encrypt_payloads: bool = True


class StartInterrupted(CliError):
    """Ctrl-C or SIGTERM arrived while `run` was starting."""


class RunInfo(BaseModel):
    """What `run` started and where; written to `{data_dir}/run.json`."""

    pid: int
    started_at: datetime
    api_url: str
    temporal_address: str
    namespace: str
    ui_url: str
    sandbox_url: str | None
    orgs_file: str
    orgs: list[str]
    task_queue: str
    admin_token_file: str | None = None
    log_dir: str | None = None
    # The key ring the stack encrypts with (a 0600 file), None = plain payloads or keys from WAFH_CODEC_KEYS.
    codec_keys_file: str | None = None
    # The URL a person pastes into the Temporal UI's codec settings to see decoded payloads (a 0600 file).
    ui_codec_endpoint_file: str | None = None
    processes: dict[str, int] = Field(default_factory=dict)  # name → pid, rewritten when a child is restarted
    worker_metrics_url: str | None = None

    def workflow_url(self, workflow_id: str) -> str:
        return f"{self.ui_url}/namespaces/{self.namespace}/workflows/{workflow_id}"

    def codec_keys(self) -> str | None:
        """The key ring clients of this stack need, or None when it runs with plain payloads."""
        if self.codec_keys_file is None:
            return os.environ.get("WAFH_CODEC_KEYS") or None
        return Path(self.codec_keys_file).read_text().strip()


def read_run_info(data_dir: Path) -> RunInfo | None:
    path = data_dir / RUN_FILE
    if not path.is_file():
        return None
    try:
        return RunInfo.model_validate_json(path.read_text())
    except ValueError:
        return None


def running_stack(data_dir: Path) -> RunInfo | None:
    """The `run` recorded in `data_dir`, if its process is still alive (a killed `run` leaves a stale file)."""
    info = read_run_info(data_dir.resolve())
    return info if info is not None and pid_alive(info.pid) else None


def real_twilio_orgs(settings: Settings) -> OrgRegistry | None:
    """The configured orgs when the orgs file names a real Twilio org; None means: use the sandbox."""
    path = Path(settings.orgs_file)
    if not path.is_file():
        if "WAFH_ORGS_FILE" in os.environ:
            raise CliError(f"WAFH_ORGS_FILE points to {path}, which does not exist.", "fix the path or unset it.")
        return None
    try:
        registry = OrgRegistry.load(path)
    except ConfigError as exc:
        raise CliError(f"The orgs file is invalid: {exc}.", f"correct {path} (see orgs.example.toml).") from None
    real = [n for n in registry.names() if not (o := registry.get(n)) or not o.config.twilio_sandbox_url]
    return registry if real else None


class RunSession:
    """Starts and stops the processes of `run`. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        options: RunOptions,
        console: Console,
        settings: Settings | None = None,
        stop_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.options = options
        self.stop_requested = stop_requested
        self.console = console
        self.settings = settings or Settings()
        self.procs: list[ManagedProcess] = []
        self.info: RunInfo | None = None
        self.data_dir = options.data_dir.resolve()
        self.log_dir = self.data_dir / "logs"
        self._ports: dict[str, int] = {}

    # -- ports
    # ------------------------------------------------------------------------------------------------
    def _port(self, name: str, default: int) -> int:
        if name not in self._ports:
            port = free_port(self.options.host) if self.options.free_ports else default
            if port_in_use(port, self.options.host):
                flag = f"--{name.replace('_', '-')}-port"
                raise CliError(
                    f"Port {port} ({name}) is already in use, probably by another `run`.",
                    f"stop it, or pass {flag} N (or --free-ports).",
                )
            self._ports[name] = port
        return self._ports[name]

    # -- start
    # ------------------------------------------------------------------------------------------------
    def start(self) -> RunInfo:
        existing = read_run_info(self.data_dir)
        if existing and pid_alive(existing.pid) and existing.pid != os.getpid():
            raise CliError(
                f"Another `run` (pid {existing.pid}) already uses {self.data_dir}.",
                "stop it with Ctrl-C, or pass --data-dir for a second one.",
            )
        created = not self.data_dir.exists()
        try:
            return self._start()
        except BaseException:
            self.stop(quiet=True)
            if created:
                remove_if_empty(self.data_dir)
            raise

    def _start(self) -> RunInfo:
        o = self.options
        started = time.monotonic()
        real = real_twilio_orgs(self.settings)
        temporal_port = self._port("temporal", o.temporal_port)
        ui_port = self._port("ui", o.ui_port)
        api_port = self._port("api", o.api_port)
        sandbox_port = None if real else self._port("sandbox", o.sandbox_port)
        worker_metrics_port = self._port("worker_metrics", WORKER_METRICS_PORT)
        api_url = f"http://{o.host}:{api_port}"
        ui_url = f"http://{o.host}:{ui_port}"
        temporal_address = f"{o.host}:{temporal_port}"
        sandbox_url = f"http://{o.host}:{sandbox_port}" if sandbox_port else None

        self.data_dir.mkdir(parents=True, exist_ok=True)
        admin_token = self.settings.admin_token.get_secret_value() if self.settings.admin_token else None
        admin_token_file: Path | None = None
        if admin_token is None:
            # Kept across runs, like the key ring: the UI's codec URL derives from it and stays valid.
            admin_token_file = self.data_dir / "secrets" / "admin_token"
            if admin_token_file.is_file():
                admin_token = admin_token_file.read_text().strip()
            else:
                admin_token = secrets.token_urlsafe(24)
                self._write_secret("admin_token", admin_token)
        codec_keys, codec_keys_file = self._codec_keys()
        ui_codec_endpoint_file = (
            self._write_secret(UI_CODEC_ENDPOINT_FILE, api_url + ui_codec_path(admin_token)) if codec_keys else None
        )

        temporal_argv = [
            temporal_cli_path(),
            "server",
            "start-dev",
            "--ip",
            o.host,
            "--port",
            str(temporal_port),
            "--ui-port",
            str(ui_port),
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--log-level",
            "error",
            *cli_flags(),
        ]
        base_env = child_env()
        temporal = self._spawn("temporal", temporal_argv, base_env)
        sandbox = None
        if sandbox_url:
            sandbox = self._spawn(
                "sandbox",
                [sys.executable, "-m", "twilio_sandbox", "--host", o.host, "--port", str(sandbox_port)],
                base_env,
            )

        with self.console.status("Starting the Temporal dev server…"):
            self._wait_started("The Temporal dev server", temporal, lambda: temporal_ready(temporal_address))
        self._ok(f"Temporal dev server on {temporal_address} (UI {ui_url}), search attributes registered")

        if real is not None:
            orgs_file = Path(self.settings.orgs_file).resolve()
            orgs = real
            self._ok(f"Real Twilio: orgs {', '.join(orgs.names())} from {orgs_file} (no sandbox)")
        else:
            assert sandbox is not None and sandbox_url is not None
            with self.console.status("Starting the Twilio sandbox…"):
                self._wait_started("The Twilio sandbox", sandbox, lambda: http_ok(f"{sandbox_url}/_sandbox/seed"))
            orgs_file = wire_sandbox(
                sandbox_url, self.data_dir, public_base_url=api_url, org_settings=self.options.org_settings
            )
            orgs = OrgRegistry.load(orgs_file)
            self._ok(f"Twilio sandbox on {sandbox_url}, org {SANDBOX_ORG!r} written to {orgs_file}")

        env = dict(base_env)
        env.update(
            {
                "TEMPORAL_ADDRESS": temporal_address,
                "TEMPORAL_NAMESPACE": NAMESPACE,
                "WAFH_ORGS_FILE": str(orgs_file),
                "WAFH_TEMPORAL_UI_URL": ui_url,
                "WAFH_TEMPORAL_UI_ORIGIN": ui_url,  # the UI's browser calls the codec endpoint from there
                "WAFH_ADMIN_TOKEN": admin_token,
                "PYTHONUNBUFFERED": "1",
                "WAFH_METRICS_PORT": str(worker_metrics_port),
                **o.service_env,
            }
        )
        if codec_keys:
            env["WAFH_CODEC_KEYS"] = codec_keys
        else:
            env.pop("WAFH_CODEC_KEYS", None)
        # A dev server has no TLS and no API key: do not let a Cloud profile in the environment leak in.
        for key in ("TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_PROFILE"):
            env.pop(key, None)
        worker = self._spawn("worker", [sys.executable, "-m", "worker"], env)
        api = self._spawn(
            "api", [sys.executable, "-m", "cli.main", "api", "--host", o.host, "--port", str(api_port)], env
        )
        # While they import (seconds), set up or check the Twilio side.
        if real is None:
            self._connect_sandbox(orgs)
        else:
            self._doctor_real(orgs)
        with self.console.status("Starting the worker and the API…"):
            self._wait_started(
                "The worker", worker, lambda: worker_polling(temporal_address, self.settings.task_queue, worker.pid)
            )
            self._ok(f"Worker polling task queue {self.settings.task_queue!r}")
            self._wait_started("The API", api, lambda: http_ok(f"{api_url}/readyz"))
        self._ok(f"API on {api_url} (docs {api_url}/docs)")
        worker_metrics_url = f"http://{o.host}:{worker_metrics_port}/metrics"
        self._ok(metrics_urls(api_url, worker_metrics_url))

        self.info = RunInfo(
            pid=os.getpid(),
            started_at=datetime.now(UTC),
            api_url=api_url,
            temporal_address=temporal_address,
            namespace=NAMESPACE,
            ui_url=ui_url,
            sandbox_url=sandbox_url,
            orgs_file=str(orgs_file),
            orgs=orgs.names(),
            task_queue=self.settings.task_queue,
            admin_token_file=str(admin_token_file) if admin_token_file else None,
            log_dir=str(self.log_dir),
            codec_keys_file=str(codec_keys_file) if codec_keys_file else None,
            ui_codec_endpoint_file=str(ui_codec_endpoint_file) if ui_codec_endpoint_file else None,
            worker_metrics_url=worker_metrics_url,
        )
        self._write_run_info()
        if codec_keys:
            self._ok(f"Payloads encrypted; to read them decoded in the Temporal UI see {ui_codec_endpoint_file}")
        self.console.print(f"[dim]Started in {time.monotonic() - started:.1f} s; logs in {self.log_dir}[/dim]")
        return self.info

    def _connect_sandbox(self, orgs: OrgRegistry) -> None:
        with self.console.status("Connecting the sandbox workspace (AI worker, event callback)…"):
            changed = connect_sandbox_org(orgs)
        self._ok(f"connect --org {SANDBOX_ORG}: {changed}")

    def _doctor_real(self, orgs: OrgRegistry) -> None:
        """Report (never change) each real org's set-up: `run` must start even when Twilio needs fixing."""
        from cli.connect import check_org

        for name in orgs.names():
            org = orgs.get(name)
            if org is None or org.config.twilio_sandbox_url:
                continue
            try:
                with self.console.status(f"Checking org {name!r} with Twilio (doctor)…"):
                    report = check_org(org, apply=False)
            except CliError as exc:
                self.console.print(f"[yellow]![/yellow] doctor --org {name}: {exc}")
                continue
            if report.ok:
                self._ok(f"doctor --org {name}: ready for the handoff")
            else:
                bad = ", ".join(f.check for f in report.findings if not f.ok)
                self.console.print(
                    f"[yellow]![/yellow] doctor --org {name}: not ready ({bad}); "
                    f"run `wa-flex-handoff connect --org {name}` and see `doctor` for details"
                )

    def _wait_started(self, what: str, proc: ManagedProcess, ready: Callable[[], bool]) -> None:
        """Waits until `ready`; a process that dies or a start-up timeout points at its log."""
        wait_until(what, ready, self.options.start_timeout, alive=self._alive(proc), fix=f"see {proc.log_path}.")

    def _alive(self, proc: ManagedProcess) -> Callable[[], str | None]:
        """For wait_until: a reason to stop waiting — the process died, or Ctrl-C/SIGTERM during start-up."""

        def check() -> str | None:
            if self.stop_requested():
                raise StartInterrupted("Start-up interrupted; everything started so far was stopped.")
            return proc.exit_reason()

        return check

    def _codec_keys(self) -> tuple[str | None, Path | None]:
        """The key ring and, when `run` keeps it, its file. It is kept across runs: the Temporal database is, and
        its history stays readable only with the keys it was written with."""
        if self.settings.codec_keys:
            return self.settings.codec_keys.get_secret_value(), None
        if not self.options.encrypt_payloads:
            return None, None
        path = self.data_dir / "secrets" / CODEC_KEYS_FILE
        if path.is_file():
            return path.read_text().strip(), path
        return (ring := generate_key_ring()), self._write_secret(CODEC_KEYS_FILE, ring)

    def _write_run_info(self) -> None:
        assert self.info is not None
        self.info.processes = {p.name: p.pid for p in self.procs if p.pid is not None}
        path = self.data_dir / RUN_FILE
        path.write_text(self.info.model_dump_json(indent=2))

    def _write_secret(self, name: str, value: str) -> Path:
        secrets_dir = self.data_dir / "secrets"
        secrets_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(secrets_dir, 0o700)
        path = secrets_dir / name
        path.write_text(value)
        os.chmod(path, 0o600)
        return path

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.log_dir / f"{name}.log", env)
        proc.start()
        self.procs.append(proc)
        return proc

    def _ok(self, text: str) -> None:
        self.console.print(f"[green]✓[/green] {text}")

    # -- running
    # ----------------------------------------------------------------------------------------------
    def wait(self, stop_requested: Callable[[], bool]) -> str | None:
        """Supervise until a stop is requested (None) or the stack cannot go on (the reason).

        A crashed worker or API is restarted after a backoff, said on the console and in `logs/run.log`; the
        stack gives up when one of them crashes `MAX_CRASHES` times within `CRASH_WINDOW_SECONDS`, or when
        Temporal or the sandbox exits."""
        crashes = {name: CrashHistory() for name in RESTARTABLE}
        due: dict[str, float] = {}  # name → when to start it again
        while not stop_requested():
            now = time.monotonic()
            for proc in self.procs:
                if proc.name in due:
                    if now >= due[proc.name]:
                        del due[proc.name]
                        proc.start()
                        if self.info is not None:
                            self._write_run_info()
                        self._supervisor_says(f"{proc.name} restarted (pid {proc.pid})")
                    continue
                reason = proc.exit_reason()
                if not reason:
                    continue
                status = proc.proc.returncode if proc.proc is not None else None
                if proc.name not in RESTARTABLE:
                    return reason
                decision = crashes[proc.name].record(now)
                proc.stop()  # closes its log; nothing is left running
                if not decision.restart:
                    self._supervisor_says(f"{proc.name} exited with status {status}: giving up")
                    return (
                        f"{reason}\n{proc.name} crashed {decision.crashes_in_window} times within "
                        f"{crashes[proc.name].window:.0f} s; not restarting it again"
                    )
                self._supervisor_says(
                    f"{proc.name} exited with status {status}; restarting it in {decision.delay:.0f} s "
                    f"(crash {decision.crashes_in_window} within {crashes[proc.name].window:.0f} s; "
                    f"{crashes[proc.name].max_crashes} stop the stack; log {proc.log_path})"
                )
                due[proc.name] = now + decision.delay
            time.sleep(0.3)
        return None

    def _supervisor_says(self, text: str) -> None:
        self.console.print(f"[yellow]![/yellow] {text}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / "run.log").open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}\n")

    # -- stop
    # -------------------------------------------------------------------------------------------------
    def stop(self, quiet: bool = False) -> None:
        """Stop children in reverse start order: API and worker drain first, Temporal last."""
        for proc in reversed(self.procs):
            if proc.proc is None:
                continue
            running = proc.proc.poll() is None
            code = proc.stop()
            if running and not quiet:
                how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit {code}"
                self.console.print(f"[dim]stopped {proc.name} ({how})[/dim]")
        self.procs.clear()
        run_file = self.data_dir / RUN_FILE
        info = read_run_info(self.data_dir)
        if info is not None and info.pid == os.getpid():
            run_file.unlink(missing_ok=True)

    def __enter__(self) -> RunSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def connect_sandbox_org(orgs: OrgRegistry) -> str:
    """`connect --org demo` against the sandbox; returns what it changed, raises when the workspace is not ready."""
    from cli.connect import check_org

    org = orgs.get(SANDBOX_ORG)
    assert org is not None
    report = check_org(org, apply=True)
    if not report.ok:
        bad = "; ".join(f"{f.check}: {f.detail}" for f in report.findings if not f.ok)
        raise CliError(f"The sandbox workspace is not set up for the handoff: {bad}.", "see `doctor --org demo`.")
    return ", ".join(f.check for f in report.changes) or "nothing to change"


def remove_if_empty(directory: Path) -> None:
    """Remove `directory` if no file was written under it (empty subdirectories go with it)."""
    if not directory.is_dir() or any(p.is_file() for p in directory.rglob("*")):
        return
    for sub in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    directory.rmdir()


def child_env() -> dict[str, str]:
    """The environment for children; in a source checkout its root goes on PYTHONPATH so `python -m worker`
    and friends import the same code as this process even when the editable install predates a package."""
    env = dict(os.environ)
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env
