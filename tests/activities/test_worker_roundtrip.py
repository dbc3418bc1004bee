"""The registered activities through a real Temporal worker (time-skipping test server) and the sandbox:
pydantic payloads survive the data converter, sync activities run in the thread pool, and a Twilio 4xx reaches
the workflow as a non-retryable `TwilioClientError` with its code, not retried."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.registry import build_activities
from config.settings import Settings
from contracts.activities import FETCH_TASK, FetchTaskInput, FetchTaskResult
from tests.activities.conftest import Sb
from tests.activities.test_sandbox_activities import interaction_inp, open_inp


class ProbeResult(BaseModel):
    result: FetchTaskResult | None = None
    error_type: str | None = None
    error_details: list[dict[str, object]] = []
    retry_state: str | None = None


@workflow.defn(name="activities-probe")
class Probe:
    @workflow.run
    async def run(self, inp: FetchTaskInput) -> ProbeResult:
        try:
            result = await workflow.execute_activity(
                FETCH_TASK.name,
                inp,
                result_type=FetchTaskResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["TwilioClientError"]),
            )
            return ProbeResult(result=result)
        except ActivityError as err:
            cause = err.cause
            assert isinstance(cause, ApplicationError)
            return ProbeResult(
                error_type=cause.type,
                error_details=[dict(d) for d in cause.details],
                retry_state=err.retry_state.name if err.retry_state else None,
            )


async def test_fetch_task_through_a_worker(time_skipping_env: WorkflowEnvironment, sb: Sb) -> None:
    client = Client(
        time_skipping_env.client.service_client,
        namespace=time_skipping_env.client.namespace,
        data_converter=pydantic_data_converter,
    )
    conv = sb.acts.open_flex_conversation(open_inp(sb))
    it = sb.acts.create_interaction(interaction_inp(sb, conv))
    queue = f"probe-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[Probe],
            activities=build_activities(sb.orgs, Settings()),
            activity_executor=executor,
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            ok = await client.execute_workflow(
                Probe.run,
                FetchTaskInput(org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid=it.task_sid),
                id=f"probe-{uuid.uuid4()}",
                task_queue=queue,
            )
            missing = await client.execute_workflow(
                Probe.run,
                FetchTaskInput(org="acme", workspace_sid=sb.seed["workspace_sid"], task_sid="WT" + "0" * 32),
                id=f"probe-{uuid.uuid4()}",
                task_queue=queue,
            )
    assert ok.result is not None and ok.result.task_sid == it.task_sid
    assert ok.result.attributes["waHandoff"]["sessionId"].endswith("-1")
    assert ok.result.reservations and ok.result.reservations[0][1] == sb.ai_worker_sid
    assert missing.error_type == "TwilioClientError"
    assert missing.error_details == [{"status": 404, "code": 20404, "message": missing.error_details[0]["message"]}]
    assert missing.retry_state == "NON_RETRYABLE_FAILURE"
