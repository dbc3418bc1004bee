"""The Temporal worker: the conversation workflow plus every activity, on the service's task queue.

Run it with `python worker.py` or `wa-flex-handoff worker`. The connection comes from `temporalio.envconfig`
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the config
file), so a local dev server, a self-hosted cluster and Temporal Cloud all work unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkerDeploymentConfig, WorkflowRunner

from config.orgs import OrgsFile, OrgsSource
from config.settings import Settings
from contracts.metrics import histogram_buckets
from contracts.search_attributes import ALL_KEYS, CLI_TYPES
from payload_encryption.converter import build_data_converter

log = logging.getLogger("wa_flex_handoff.worker")

# Activities in flight get this long to finish after SIGTERM before they are cancelled (they are idempotent
# and retried elsewhere, so a short grace is enough and keeps rolling deploys quick).
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def workflow_runner() -> WorkflowRunner:
    """Conversations run unsandboxed: the sandbox gives every conversation it loads its own copy of the workflow
    module and proxies of its imports, which cost memory per cached conversation and most of a replay's time. The
    workflow package needs none of it: it imports no I/O (tests/test_imports.py), and the workflow tests run it
    in the SDK's sandbox, which fails on any non-deterministic call."""
    return UnsandboxedWorkflowRunner()


class StartupError(Exception):
    """The worker cannot start; the message is one sentence plus the fix."""


def client_connect_config() -> dict[str, Any]:
    """Connection options from TEMPORAL_* variables and the Temporal config file (profiles, TLS, API key)."""
    return dict(ClientConfig.load_client_connect_config())


def build_runtime(metrics_port: int | None, metrics_host: str = "0.0.0.0") -> Runtime | None:
    """A runtime exporting to Prometheus the SDK's metrics (task latencies, slots, failures) and ours (the
    catalogue's buckets for our histograms); None = default."""
    if metrics_port is None:
        return None
    prometheus = PrometheusConfig(
        bind_address=f"{metrics_host}:{metrics_port}", histogram_bucket_overrides=histogram_buckets()
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def connect_client(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect with envconfig options and the shared (optionally encrypting) data converter."""
    options = client_connect_config()
    options.setdefault("target_host", "localhost:7233")
    codec_keys = settings.codec_keys.get_secret_value() if settings.codec_keys else None
    target = options["target_host"]
    try:
        return await Client.connect(**options, data_converter=build_data_converter(codec_keys), runtime=runtime)
    except RuntimeError as exc:  # the core SDK raises RuntimeError for connection failures
        raise StartupError(
            f"Cannot reach Temporal at {target} ({exc}). "
            "Fix: start it (`wa-flex-handoff run` starts a dev server) "
            "or set TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE."
        ) from None


async def check_search_attributes(client: Client) -> None:
    """Fail fast when the namespace lacks our search attributes (every workflow task would fail later)."""
    try:
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as exc:
        # Temporal Cloud API keys may not be allowed to list them; the UI/tcld are the place to check there.
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
            log.warning("cannot list search attributes (%s); assuming they are registered", exc.status.name)
            return
        raise
    registered = dict(response.custom_attributes)
    missing = [k.name for k in ALL_KEYS if registered.get(k.name) != k.indexed_value_type]
    if missing:
        wrong = [n for n in missing if n in registered]
        flags = " ".join(f"--name {n} --type {CLI_TYPES[n]}" for n in missing)
        detail = f" ({', '.join(wrong)} registered with another type)" if wrong else ""
        raise StartupError(
            f"Namespace {client.namespace!r} is missing the search attributes {', '.join(missing)}{detail}. "
            f"Fix: `temporal operator search-attribute create --namespace {client.namespace} {flags}` "
            "(docker-compose's temporal-admin-tools job and `wa-flex-handoff run` do this for you)."
        )


def build_worker(client: Client, settings: Settings, orgs: OrgsSource, executor: ThreadPoolExecutor) -> Worker:
    # Imported here so `worker.py --help`-style failures (bad config) are reported before the heavy imports.
    from activities.registry import build_activities
    from workflows.conversation import ConversationWorkflow

    return Worker(
        client,
        task_queue=settings.task_queue,
        deployment_config=deployment_config(settings),
        workflows=[ConversationWorkflow],
        activities=build_activities(orgs, settings, executor),
        # The twilio client is blocking: sync activities run here. The pool has a thread for every slot (and as
        # many for the steps of multi-step activities), so none waits for a thread while its timeout runs.
        activity_executor=executor,
        max_concurrent_activities=settings.activity_threads,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.workflow_task_slots,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=workflow_runner(),
    )


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The worker's place in a Worker Deployment, when configured (unversioned otherwise)."""
    if not (settings.deployment_name and settings.build_id):
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=settings.deployment_name, build_id=settings.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


async def run_worker(
    client: Client,
    settings: Settings,
    orgs: OrgsSource,
    stop_event: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Poll until `stop_event` is set, then shut down gracefully (in-flight work gets GRACEFUL_SHUTDOWN)."""
    await check_search_attributes(client)
    with ThreadPoolExecutor(max_workers=2 * settings.activity_threads, thread_name_prefix="activity") as executor:
        worker = build_worker(client, settings, orgs, executor)
        async with worker:
            log.info(
                "worker polling task queue %r on namespace %r (orgs: %s)",
                settings.task_queue,
                client.namespace,
                ", ".join(orgs.current().names()),
            )
            if ready is not None:
                ready.set()
            await stop_event.wait()
            log.info("stopping: finishing in-flight tasks")
    log.info("worker stopped")


def install_stop_signals(stop_event: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)


async def main_async(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    orgs = OrgsFile(settings.orgs_file)
    orgs.current()  # a broken orgs file stops the worker at start, not at its first conversation
    runtime = build_runtime(settings.metrics_port)
    client = await connect_client(settings, runtime=runtime)
    if runtime is not None:
        from activities.metrics import create_zero_series  # with the activities: after the config checks

        create_zero_series(runtime.metric_meter, orgs.current().names(), client.namespace, settings.task_queue)
    stop_event = asyncio.Event()
    install_stop_signals(stop_event)
    await run_worker(client, settings, orgs, stop_event)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(level.upper())  # also when something configured logging before us
    # The twilio client logs every request's headers and query at INFO, phone numbers included (To=whatsapp:+…):
    # personal data does not belong in logs, and the volume would drown ours.
    logging.getLogger("twilio.http_client").setLevel(max(logging.WARNING, logging.getLogger().level))


def main() -> int:
    from pydantic import ValidationError

    from config.env_file import load_env_file
    from config.orgs import ConfigError
    from config.settings_errors import describe_settings_error
    from payload_encryption.keys import KeyRingError

    load_env_file()
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"worker: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(main_async(settings))
    except (StartupError, ConfigError, KeyRingError) as exc:
        hint = "" if isinstance(exc, StartupError) else " Fix: correct it in the orgs file or the environment."
        print(f"worker: {exc}{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
