"""Record the saved histories again: `python -m tests.workflow.record_histories`.

Only when a change to the workflow is meant to change its commands (before 1.0, or with the versioning step in
docs/DESIGN.md); the replay test never writes them.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from cli.temporal_binaries import test_server_path
from contracts.search_attributes import ALL_KEYS
from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, make_worker, pydantic_client
from tests.workflow.history_scenarios import HISTORIES, SAVED_NAMES, SCENARIOS


async def record() -> None:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_path())
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={k.name: int(k.indexed_value_type) for k in ALL_KEYS},  # type: ignore[misc]
            )
        )
        client = pydantic_client(env)
        HISTORIES.mkdir(exist_ok=True)
        written: list[str] = []
        for scenario in SCENARIOS.values():
            fake = FakeTwilio()
            task_queue = f"record-{uuid.uuid4()}"
            async with make_worker(client, fake, task_queue):
                conv = Conv(env, client, fake, task_queue)
                for name, history in (await scenario(conv)).items():
                    (HISTORIES / f"{name}.json").write_text(history.to_json())
                    written.append(name)
                await conv.handle.terminate("recorded")
        assert sorted(written) == sorted(SAVED_NAMES), written
        print("wrote", ", ".join(f"tests/histories/{n}.json" for n in written))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
