"""Worker process for the naive floor: `python -m bench.floor_worker` (TEMPORAL_ADDRESS from the env).

Its one activity POSTs the reply to the benchmark's sink, the floor's "reply reaches the contact".
"""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor_workflow import FLOOR_ACTIVITY, FLOOR_TASK_QUEUE, FloorReply, FloorWorkflow

_http: aiohttp.ClientSession | None = None


@activity.defn(name=FLOOR_ACTIVITY)
async def floor_reply(reply: FloorReply) -> None:
    global _http
    if _http is None:
        _http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    async with _http.post(reply.sink_url, json={"workflow_id": reply.workflow_id, "seq": reply.seq}) as r:
        r.raise_for_status()


async def main() -> None:
    client = await Client.connect(
        os.environ["TEMPORAL_ADDRESS"], namespace=os.environ.get("TEMPORAL_NAMESPACE", "default")
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=FLOOR_TASK_QUEUE, workflows=[FloorWorkflow], activities=[floor_reply]):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
