"""Worker Versioning on the real dev server (docs/DESIGN.md §4): a worker configured with a deployment and build
runs conversations as that build, AUTO_UPGRADE."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.testing import WorkflowEnvironment

import worker
from cli.temporal_binaries import temporal_cli_path
from config.settings import Settings
from contracts.signals import QUERY_STATE, WORKFLOW_NAME
from tests.activities.fakes import org_registry
from tests.polling import eventually
from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, pydantic_client


async def test_a_versioned_worker_runs_conversations_as_its_build(local_env: WorkflowEnvironment) -> None:
    client = pydantic_client(local_env)
    deployment = f"wafh-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        _env_file=None, task_queue=f"tq-{deployment}", deployment_name=deployment, build_id="1.0.0", activity_threads=2
    )
    config = worker.deployment_config(settings)
    assert config is not None and worker.deployment_config(Settings(_env_file=None)) is None
    fake = FakeTwilio()
    with ThreadPoolExecutor(max_workers=4) as executor:
        built = worker.build_worker(client, settings, org_registry(), executor)
        async with built:
            target = client.service_client.config.target_host
            await eventually(
                "the deployment's build to become current",
                lambda: asyncio.to_thread(_set_current, target, deployment),
            )
            conv = Conv(local_env, client, fake, settings.task_queue)
            handle = await client.start_workflow(
                WORKFLOW_NAME, conv.start_input(), id=conv.workflow_id, task_queue=settings.task_queue
            )
            await eventually("the conversation to wait", lambda: handle.query(QUERY_STATE), lambda v: v["idle"])
            info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
            assert info.deployment_version.build_id == "1.0.0"
            assert info.deployment_version.deployment_name == deployment
            assert info.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
            await handle.terminate("test over")


def _set_current(target: str, deployment: str) -> bool:
    done = subprocess.run(
        [
            temporal_cli_path(),
            "worker",
            "deployment",
            "set-current-version",
            "--address",
            target,
            "--deployment-name",
            deployment,
            "--build-id",
            "1.0.0",
            "--yes",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode == 0
