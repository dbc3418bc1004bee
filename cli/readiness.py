"""Is it up yet: the probes the dev stack (and the fault suite, the benchmarks and the tests) wait on."""

from __future__ import annotations

import asyncio
import os

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from contracts.search_attributes import ALL_KEYS

NAMESPACE = "default"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temporal_ready(address: str) -> bool:
    """The frontend answers and our search attributes are registered."""

    async def check() -> bool:
        try:
            client = await Client.connect(address, namespace=NAMESPACE)
            resp = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=NAMESPACE)
            )
        except Exception:
            return False
        return all(k.name in resp.custom_attributes for k in ALL_KEYS)

    return asyncio.run(check())


def worker_polling(address: str, task_queue: str, pid: int | None = None) -> bool:
    """Someone polls the task queue; with `pid`, that process itself. The server lists pollers seen in the last
    minutes, so after a restart only the new process's identity (the SDK's default, "pid@host") proves it is up."""

    async def check() -> bool:
        try:
            client = await Client.connect(address, namespace=NAMESPACE)
            resp = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=NAMESPACE,
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
        except Exception:
            return False
        if pid is None:
            return len(resp.pollers) > 0
        return any(p.identity.startswith(f"{pid}@") for p in resp.pollers)

    return asyncio.run(check())


def api_alive(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
