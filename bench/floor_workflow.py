"""The naive floor for figure 3: a minimal workflow that answers each signal with one activity.

Kept free of I/O imports: the Temporal sandbox re-imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

FLOOR_WORKFLOW = "BenchFloorWorkflow"
FLOOR_ACTIVITY = "bench_floor_reply"
FLOOR_SIGNAL = "message"
FLOOR_TASK_QUEUE = "bench-floor"


@dataclass
class FloorReply:
    sink_url: str
    workflow_id: str
    seq: int


@workflow.defn(name=FLOOR_WORKFLOW)
class FloorWorkflow:
    def __init__(self) -> None:
        self.pending: list[int] = []

    @workflow.signal(name=FLOOR_SIGNAL)
    def message(self, seq: int) -> None:
        self.pending.append(seq)

    @workflow.run
    async def run(self, sink_url: str) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.pending))
            seq = self.pending.pop(0)
            await workflow.execute_activity(
                FLOOR_ACTIVITY,
                FloorReply(sink_url, workflow.info().workflow_id, seq),
                start_to_close_timeout=timedelta(seconds=10),
            )
