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
from rich.table import Table

from cli.console import make_console
from cli.errors import CliError, settings_error
from cli.orgs_file import find_orgs_file, load_org, load_orgs, use_orgs_file
from config.env_file import load_env_file

if TYPE_CHECKING:
    from cli.connect import ConnectReport
    from cli.stack import RunInfo

app = typer.Typer(
    name="wa-flex-handoff",
    help="Hand WhatsApp conversations from an AI agent to human reps in Twilio Flex, on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # click's plain help: flags shown as flags, nothing boxed or cut at 80 columns
)
console = make_console()
err_console = make_console(stderr=True)
_debug = False

DEFAULT_DATA_DIR = Path(".data")
DataDir = Annotated[Path, typer.Option("--data-dir", help="Where the Temporal database, logs and run.json live.")]
StackDataDir = Annotated[
    Path, typer.Option("--data-dir", help="Data directory of the running `run` whose orgs file to use.")
]
OrgOption = Annotated[str, typer.Option("--org", help="Org name from the orgs file.")]
OrgsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--orgs-file",
        help="Orgs file (default: WAFH_ORGS_FILE, else the running `run`'s, else ./orgs.toml).",
    ),
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
        bool, typer.Option("--free-ports", help="Pick free ports instead of the defaults.", envvar="WAFH_FREE_PORTS")
    ] = False,
) -> None:
    """Run everything: Temporal dev server, Twilio sandbox (unless real Twilio is set up), worker and API."""
    from cli.stack import RunOptions, RunSession

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
        # One line each, never wrapped or cut: people copy these.
        console.print(f"API             {info.api_url}  (docs {info.api_url}/docs)")
        console.print(f"Temporal UI     {info.ui_url}  (gRPC {info.temporal_address})")
        if info.sandbox_url:
            console.print(f"Twilio sandbox  {info.sandbox_url}  (org {', '.join(info.orgs)})")
        if info.admin_token_file:
            console.print(f"Admin token     {info.admin_token_file}  (bearer token for the admin API and codec)")
        if info.ui_codec_endpoint_file:
            console.print(
                f"Decoded in UI   paste the URL in {info.ui_codec_endpoint_file} into the UI's Codec Server settings"
            )
        demo_command = "wa-flex-handoff demo"
        if data_dir.resolve() != DEFAULT_DATA_DIR.resolve():
            demo_command += f" --data-dir {data_dir}"
        console.print(
            f"[bold green]Ready[/bold green] in {time.monotonic() - started:.1f} s. "
            f"Try `{demo_command}` in another terminal. Ctrl-C stops everything."
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
    data_dir: DataDir = DEFAULT_DATA_DIR,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each step.")] = 45.0,
    api_url: Annotated[
        str | None, typer.Option(help="Play against this API instead of a `run` (docker compose).")
    ] = None,
    sandbox_url: Annotated[str | None, typer.Option(help="With --api-url: the sandbox.")] = None,
    temporal_address: Annotated[str | None, typer.Option(help="With --api-url: Temporal's frontend.")] = None,
    ui_url: Annotated[str, typer.Option(help="With --api-url: the Temporal UI, for links.")] = "http://localhost:8080",
    orgs_file: OrgsFileOption = None,
) -> None:
    """Play a scripted conversation through the sandbox against a running `run` (or start one just for it)."""
    from cli.demo import run_demo
    from cli.readiness import api_alive
    from cli.stack import RunOptions, RunSession, read_run_info

    if api_url is not None:
        run_demo(_stack_from_options(api_url, sandbox_url, temporal_address, ui_url, orgs_file, data_dir), console)
        return
    info = read_run_info(data_dir.resolve())
    if info is not None and api_alive(info.api_url):
        run_demo(info, console, timeout=timeout)
        return
    console.print(
        f"No `run` found in {data_dir}: starting one for the demo, on free ports in a temporary directory; "
        "it is stopped when the demo ends."
    )

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so the `finally` below stops what was started

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory(prefix="wafh-demo-") as tmp:
        session = RunSession(RunOptions(data_dir=Path(tmp), free_ports=True), console)
        try:
            info = session.start()
            run_demo(info, console, timeout=timeout, own_stack=True)
        finally:
            session.stop(quiet=True)
            console.print(
                "The demo's temporary stack is stopped: the links above no longer answer. To keep a stack to "
                "explore, start `wa-flex-handoff run` in one terminal and `wa-flex-handoff demo` in another."
            )


def _stack_from_options(
    api_url: str,
    sandbox_url: str | None,
    temporal_address: str | None,
    ui_url: str,
    orgs_file: Path | None,
    data_dir: Path,
) -> RunInfo:
    """A stack not started by `run` (docker compose), described by options and the environment."""
    from datetime import UTC, datetime

    from cli.stack import RunInfo
    from config.settings import Settings

    if sandbox_url is None or temporal_address is None:
        raise CliError("--api-url needs --sandbox-url and --temporal-address too.", "pass all three.")
    choice = find_orgs_file(orgs_file, data_dir)
    return RunInfo(
        pid=os.getpid(),
        started_at=datetime.now(UTC),
        api_url=api_url.rstrip("/"),
        temporal_address=temporal_address,
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
        ui_url=ui_url.rstrip("/"),
        sandbox_url=sandbox_url.rstrip("/"),
        orgs_file=str(choice.path),
        orgs=load_orgs(choice).names(),
        task_queue=Settings().task_queue,
    )


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


def _connect_or_doctor(org: str, orgs_file: Path | None, data_dir: Path, apply: bool) -> None:
    from cli.connect import check_org

    loaded = load_org(org, find_orgs_file(orgs_file, data_dir))
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
def connect(org: OrgOption, orgs_file: OrgsFileOption = None, data_dir: StackDataDir = DEFAULT_DATA_DIR) -> None:
    """Check an org and provision our part: AI worker (idempotent) and TaskRouter event callback."""
    _connect_or_doctor(org, orgs_file, data_dir, apply=True)


@app.command()
def doctor(org: OrgOption, orgs_file: OrgsFileOption = None, data_dir: StackDataDir = DEFAULT_DATA_DIR) -> None:
    """Report what `connect` checks, changing nothing."""
    _connect_or_doctor(org, orgs_file, data_dir, apply=False)


@app.command("sandbox-setup")
def sandbox_setup(
    sandbox_url: Annotated[str, typer.Option(help="The sandbox, as the API and this command reach it.")],
    public_base_url: Annotated[str, typer.Option(help="The API, as the sandbox reaches it (webhooks).")],
    orgs_file: Annotated[Path, typer.Option(help="The orgs file to write (its secrets go beside it, 0600).")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the sandbox.")] = 60.0,
) -> None:
    """Wire a sandbox started on its own (docker compose --profile sandbox): org `demo`'s orgs file, the senders'
    webhook, then `connect --org demo`."""
    from cli.net import http_ok, wait_until
    from cli.sandbox_setup import SANDBOX_ORG, wire_sandbox
    from cli.stack import connect_sandbox_org
    from config.orgs import OrgRegistry

    sandbox_url, public_base_url = sandbox_url.rstrip("/"), public_base_url.rstrip("/")
    wait_until("The Twilio sandbox", lambda: http_ok(f"{sandbox_url}/_sandbox/seed"), timeout, fix="start it first.")
    orgs_file.parent.mkdir(parents=True, exist_ok=True)
    path = wire_sandbox(sandbox_url, orgs_file.parent, public_base_url=public_base_url, file_name=orgs_file.name)
    changed = connect_sandbox_org(OrgRegistry.load(path))
    webhook = f"{public_base_url}/webhooks/{SANDBOX_ORG}/whatsapp"
    console.print(f"Org {SANDBOX_ORG!r} written to {path}; its senders' webhook is {webhook}")
    console.print(f"connect --org {SANDBOX_ORG}: {changed}")


@app.command("codec-url")
def codec_url(
    api_url: Annotated[
        str | None, typer.Option(help="The API as your browser reaches it (default: the running `run`'s).")
    ] = None,
    data_dir: StackDataDir = DEFAULT_DATA_DIR,
) -> None:
    """Print the URL to paste into the Temporal UI's Codec Server settings to see decoded payloads."""
    from cli.stack import running_stack
    from payload_encryption.ui_access import ui_codec_path

    stack = running_stack(data_dir)
    if api_url is None and stack is not None and stack.ui_codec_endpoint_file:
        console.print(Path(stack.ui_codec_endpoint_file).read_text().strip())
        return
    token = os.environ.get("WAFH_ADMIN_TOKEN")
    if not token:
        raise CliError(
            "No admin token: the codec URL derives from it, and no running `run` was found.",
            "set WAFH_ADMIN_TOKEN (environment or .env), or start `wa-flex-handoff run`.",
        )
    base = (api_url or "http://localhost:8000").rstrip("/")
    console.print(f"{base}{ui_codec_path(token)}")


@app.command()
def sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8400,
) -> None:
    """Run the local Twilio sandbox on its own."""
    os.execv(sys.executable, [sys.executable, "-m", "twilio_sandbox", "--host", host, "--port", str(port)])


@app.command()
def worker(data_dir: StackDataDir = DEFAULT_DATA_DIR) -> None:
    """Run the Temporal worker (connection from TEMPORAL_* variables, orgs found as `doctor` finds them)."""
    import worker as worker_module

    use_orgs_file(data_dir)

    code = worker_module.main()
    if code:
        raise typer.Exit(code)


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    data_dir: StackDataDir = DEFAULT_DATA_DIR,
) -> None:
    """Run the webhook and admin API (uvicorn)."""
    from cli.serve_api import serve_api

    use_orgs_file(data_dir)
    serve_api(host, port)


def main() -> None:
    from cli.stack import StartInterrupted

    load_env_file()
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
