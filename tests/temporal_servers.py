"""The time-skipping test server as the tests need it: the bundled binary (never downloaded), our search
attributes registered through its operator service (it takes no `--search-attribute` flag)."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from cli.temporal_binaries import test_server_path
from contracts.search_attributes import ALL_KEYS


async def start_time_skipping() -> WorkflowEnvironment:
    """Started and ready; the caller shuts it down (sdk-python#300: a process may crash at exit otherwise)."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_path())
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={k.name: int(k.indexed_value_type) for k in ALL_KEYS},  # type: ignore[misc]
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env
