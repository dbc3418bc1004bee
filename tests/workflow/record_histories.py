"""Record the saved histories again: `python -m tests.workflow.record_histories`.

Only when a change to the workflow is meant to change its commands (before 1.0, or with the versioning step in
docs/DESIGN.md); the replay test never writes them.
"""

from __future__ import annotations

import asyncio
import uuid

from tests.temporal_servers import start_time_skipping
from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, make_worker, pydantic_client
from tests.workflow.history_scenarios import HISTORIES, SAVED_NAMES, SCENARIOS


async def record() -> None:
    env = await start_time_skipping()
    try:
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
