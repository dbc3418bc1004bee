"""The `wa-flex-handoff` command.

Errors are shown as one sentence plus the fix; `--debug` shows the traceback as well.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from cli.errors import CliError, settings_error
from config.orgs import ConfigError, Org, OrgRegistry
from config.settings import Settings

if TYPE_CHECKING:
    from cli.connect import ConnectReport

app = typer.Typer(
    name="wa-flex-handoff",
    help="Hand WhatsApp conversations from an AI agent to human reps in Twilio Flex, on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
_debug = False

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where the Temporal database, logs and run.json live.")]
OrgOption = Annotated[str, typer.Option("--org", help="Org name from the orgs file.")]
OrgsFileOption = Annotated[
    Path | None, typer.Option("--orgs-file", help="Orgs file (default: WAFH_ORGS_FILE, else orgs.toml).")
]


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug


class _StopFlag:
    """Set by SIGINT/SIGTERM: `run` notices it and stops what it started."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


@app.command()
def run(
    data_dir: DataDir = Path(".data"),
    host: Annotated[str, typer.Option(help="Interface every service binds to.")] = "127.0.0.1",
    temporal_port: Annotated[int, typer.Option(help="Temporal frontend (gRPC).")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal UI.")] = 8233,
    api_port: Annotated[int, typer.Option(help="The service's API and webhooks.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="The local Twilio sandbox.")] = 8400,
    free_ports: Annotated[
        bool, typer.Option(help="Pick free ports instead of the defaults.", envvar="WAFH_FREE_PORTS")
    ] = False,
) -> None:
    """Run everything: Temporal dev server, Twilio sandbox (unless real Twilio is set up), worker and API."""
    from cli.run import RunOptions, RunSession

    stop = _StopFlag()
    stop.install()
    started = time.monotonic()
    session = RunSession(
        RunOptions(
            data_dir=data_dir,
            host=host,
            temporal_port=temporal_port,
            ui_port=ui_port,
            api_port=api_port,
            sandbox_port=sandbox_port,
            free_ports=free_ports,
        ),
        console,
        stop_requested=lambda: stop.requested,
    )
    try:
        info = session.start()
        if stop.requested:
            return
        table = Table(show_header=False, box=None)
        table.add_row("API", info.api_url, f"docs {info.api_url}/docs")
        table.add_row("Temporal UI", info.ui_url, f"gRPC {info.temporal_address}")
        if info.sandbox_url:
            table.add_row("Twilio sandbox", info.sandbox_url, f"org {', '.join(info.orgs)}")
        if info.admin_token_file:
            table.add_row("Admin token", info.admin_token_file, "bearer token for the admin API and codec")
        console.print(table)
        console.print(
            f"[bold green]Ready[/bold green] in {time.monotonic() - started:.1f} s. "
            "Try `wa-flex-handoff demo` in another terminal. Ctrl-C stops everything."
        )
        reason = session.wait(lambda: stop.requested)
        if reason:
            raise CliError(f"A service stopped unexpectedly: {reason}", "see the logs in the data directory.")
        console.print("Stopping…")
    finally:
        session.stop()
    console.print("Stopped.")


@app.command()
def demo(
    data_dir: DataDir = Path(".data"),
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each step.")] = 45.0,
) -> None:
    """Play a scripted conversation through the sandbox against a running `run` (or start one just for it)."""
    from cli.demo import run_demo
    from cli.run import RunOptions, RunSession, api_alive, read_run_info

    info = read_run_info(data_dir.resolve())
    if info is not None and api_alive(info.api_url):
        run_demo(info, console, timeout=timeout)
        return
    console.print("[dim]No `run` found in this data directory: starting one for the demo.[/dim]")

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so the `finally` below stops what was started

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory(prefix="wafh-demo-") as tmp:
        session = RunSession(RunOptions(data_dir=Path(tmp), free_ports=True), console)
        try:
            info = session.start()
            run_demo(info, console, timeout=timeout)
        finally:
            session.stop(quiet=True)


def _load_org(org: str, orgs_file: Path | None) -> Org:
    path = orgs_file or Path(Settings().orgs_file)
    try:
        registry = OrgRegistry.load(path)
    except ConfigError as exc:
        raise CliError(f"The orgs file is invalid: {exc}.", f"correct {path} (see orgs.example.toml).") from None
    found = registry.get(org)
    if found is None:
        raise CliError(
            f"There is no org {org!r} in {path} (it has: {', '.join(registry.names()) or 'none'}).",
            "pass --org with one of those names, or add the org to the file.",
        )
    return found


def _print_report(report: ConnectReport) -> None:
    table = Table(title=f"{'connect' if report.applied else 'doctor'} --org {report.org}")
    table.add_column("")
    table.add_column("check")
    table.add_column("detail", overflow="fold")
    for f in report.findings:
        mark = "[yellow]fixed[/yellow]" if f.changed else ("[green]ok[/green]" if f.ok else "[red]MISSING[/red]")
        table.add_row(mark, f.check, f.detail)
    console.print(table)
    if report.recommended_workflow_configuration:
        console.print("TaskRouter workflow configuration the handoff expects (apply it in Console → TaskRouter):")
        console.print_json(json.dumps(report.recommended_workflow_configuration))


def _connect_or_doctor(org: str, orgs_file: Path | None, apply: bool) -> None:
    from cli.connect import check_org

    loaded = _load_org(org, orgs_file)
    with console.status("Checking the workspace…"):
        report = check_org(loaded, apply=apply)
    _print_report(report)
    if not report.ok:
        bad = [f.check for f in report.findings if not f.ok]
        raise CliError(
            f"Org {org!r} is not ready for the handoff: {', '.join(bad)}.",
            "fix the rows marked MISSING" + ("" if apply else ", or run `connect` for the ones it fixes") + ".",
        )
    console.print(
        f"[green]Org {org!r} is ready.[/green]"
        + (f" Changed: {', '.join(f.check for f in report.changes)}." if report.changes else " Nothing changed.")
    )


@app.command()
def connect(org: OrgOption, orgs_file: OrgsFileOption = None) -> None:
    """Check an org and provision our part: AI worker (idempotent) and TaskRouter event callback."""
    _connect_or_doctor(org, orgs_file, apply=True)


@app.command()
def doctor(org: OrgOption, orgs_file: OrgsFileOption = None) -> None:
    """Report what `connect` checks, changing nothing."""
    _connect_or_doctor(org, orgs_file, apply=False)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8400,
) -> None:
    """Run the local Twilio sandbox on its own."""
    os.execv(sys.executable, [sys.executable, "-m", "twilio_sandbox", "--host", host, "--port", str(port)])


@app.command()
def worker() -> None:
    """Run the Temporal worker (connection from TEMPORAL_* variables, orgs from WAFH_ORGS_FILE)."""
    import worker as worker_module

    code = worker_module.main()
    if code:
        raise typer.Exit(code)


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Run the webhook and admin API (uvicorn)."""
    from cli.serve_api import serve_api

    serve_api(host, port)


def main() -> None:
    from cli.run import StartInterrupted

    try:
        # Without standalone mode click returns the code of a typer.Exit instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except StartInterrupted as exc:
        err_console.print(str(exc))
        sys.exit(130)
    except CliError as exc:
        _fail(str(exc), exc)
    except ValidationError as exc:  # Settings() from the environment
        _fail(str(settings_error(exc)), exc)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # the one place where unexpected errors become one line
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()  # a usage error (typer's own click): its usual message and exit status 2
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        _fail(f"Unexpected error: {type(exc).__name__}: {exc}. Fix: rerun with --debug and report it.", exc)


def _fail(text: str, exc: BaseException) -> None:
    err_console.print(f"[bold red]Error:[/bold red] {text}")
    if _debug:
        err_console.print_exception(show_locals=False)
    sys.exit(1)


if __name__ == "__main__":
    main()
