"""worker.py: the start-up check of search attributes, and run_worker polling + stopping on the dev server."""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

import worker
from config.orgs import OrgRegistry
from config.settings import Settings
from contracts.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parents[2]


class FakeOperator:
    def __init__(self, attrs: dict[str, Any] | None = None, error: RPCError | None = None) -> None:
        self.attrs = attrs or {}
        self.error = error

    async def list_search_attributes(self, request: Any) -> Any:
        if self.error:
            raise self.error
        return SimpleNamespace(custom_attributes=self.attrs)


def fake_client(operator: FakeOperator) -> Any:
    return SimpleNamespace(namespace="default", operator_service=operator)


async def test_all_search_attributes_registered_passes() -> None:
    attrs = {k.name: k.indexed_value_type for k in ALL_KEYS}
    await worker.check_search_attributes(fake_client(FakeOperator(attrs)))


async def test_missing_search_attributes_fail_with_the_command_to_fix() -> None:
    attrs: dict[str, Any] = {k.name: k.indexed_value_type for k in ALL_KEYS if k.name != "HandoffStuck"}
    attrs["OrgId"] = IndexedValueType.INDEXED_VALUE_TYPE_TEXT  # wrong type
    with pytest.raises(worker.StartupError) as info:
        await worker.check_search_attributes(fake_client(FakeOperator(attrs)))
    message = str(info.value)
    assert "missing the search attributes HandoffStuck, OrgId (OrgId registered with another type)" in message
    assert "--name HandoffStuck --type Bool --name OrgId --type Keyword" in message
    assert message.count(".") >= 1 and "Fix:" in message


async def test_cloud_without_permission_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    denied = RPCError("denied", RPCStatusCode.PERMISSION_DENIED, b"")
    await worker.check_search_attributes(fake_client(FakeOperator(error=denied)))
    assert "cannot list search attributes" in caplog.text


async def test_unreachable_temporal_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
    with pytest.raises(worker.StartupError) as info:
        await worker.connect_client(Settings())
    assert "Cannot reach Temporal at 127.0.0.1:9" in str(info.value) and "TEMPORAL_ADDRESS" in str(info.value)


def test_envconfig_reads_temporal_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "support")
    monkeypatch.setenv("TEMPORAL_API_KEY", "key-123")
    options = worker.client_connect_config()
    assert options["target_host"] == "temporal.example:7233"
    assert options["namespace"] == "support"
    assert options["api_key"] == "key-123"
    assert options.get("tls")  # an API key turns TLS on, as Temporal Cloud needs


def example_orgs() -> OrgRegistry:
    data = tomllib.loads((ROOT / "orgs.example.toml").read_text())
    return OrgRegistry.from_mapping(data, {"ACME_TWILIO_AUTH_TOKEN": "token"})


async def test_run_worker_polls_and_stops_on_request(local_env: WorkflowEnvironment) -> None:
    client = local_env.client
    settings = Settings(task_queue=f"wafh-test-{uuid.uuid4().hex[:8]}", activity_threads=2)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(worker.run_worker(client, settings, example_orgs(), stop, ready=ready))
    await asyncio.wait_for(ready.wait(), 30)
    pollers: list[Any] = []
    for _ in range(50):
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        pollers = list(resp.pollers)
        if pollers:
            break
        await asyncio.sleep(0.2)
    assert pollers, "the worker never polled its task queue"
    stop.set()
    await asyncio.wait_for(task, 30)  # graceful shutdown returns instead of hanging
    assert task.exception() is None


async def test_prometheus_metrics_are_served(local_env: WorkflowEnvironment) -> None:
    import httpx
    from temporalio.client import Client

    from cli.net import free_port

    port = free_port()
    runtime = worker.build_runtime(port, metrics_host="127.0.0.1")
    assert runtime is not None and worker.build_runtime(None) is None
    client = await Client.connect(local_env.client.service_client.config.target_host, runtime=runtime)
    settings = Settings(task_queue=f"wafh-metrics-{uuid.uuid4().hex[:8]}", activity_threads=2)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(worker.run_worker(client, settings, example_orgs(), stop, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        body = ""
        async with httpx.AsyncClient() as http:
            for _ in range(50):
                response = await http.get(f"http://127.0.0.1:{port}/metrics")
                assert response.status_code == 200
                body = response.text
                if "temporal_" in body:
                    break
                await asyncio.sleep(0.2)
        assert "temporal_" in body, body[:500]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_worker_sizes_come_from_settings(local_env: WorkflowEnvironment) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = Settings(_env_file=None, max_cached_workflows=123, activity_threads=2, workflow_task_slots=77)
    with ThreadPoolExecutor(max_workers=4) as executor:
        built = worker.build_worker(local_env.client, settings, example_orgs(), executor)
        config = built.config()
        assert config["max_cached_workflows"] == 123
        assert (config["max_concurrent_workflow_tasks"], config["max_concurrent_activities"]) == (77, 2)
        # No per-conversation sandbox (memory per cached conversation, replay time); the workflow tests keep it.
        assert isinstance(config["workflow_runner"], UnsandboxedWorkflowRunner)


def test_worker_logging_keeps_twilio_request_logs_with_phone_numbers_out() -> None:
    import logging

    from worker import configure_logging

    configure_logging("INFO")
    assert logging.getLogger("wa_flex_handoff.worker").isEnabledFor(logging.INFO)
    assert not logging.getLogger("twilio.http_client").isEnabledFor(logging.INFO)
