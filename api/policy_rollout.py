"""Edited org settings to every open conversation of the org, at once (`apply_policy` update each).

Without this, an edited orgs file reaches a conversation at its next continue-as-new. The request id is the
settings' digest: applying the same settings twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import hashlib

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.service import RPCError

from contracts.policy import ConversationPolicy
from contracts.signals import UPDATE_APPLY_POLICY, WORKFLOW_NAME, CommandOutcome, PolicyUpdate

MAX_CONCURRENT_UPDATES = 20


class RolloutReport(BaseModel):
    org: str
    conversations: int
    applied: int
    failed: list[str]  # workflow ids that did not take the settings (they get them at continue-as-new)


def policy_digest(policy: ConversationPolicy) -> str:
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:16]


async def apply_policy_to_open_conversations(client: Client, org: str, policy: ConversationPolicy) -> RolloutReport:
    query = f"WorkflowType = '{WORKFLOW_NAME}' AND OrgId = '{org}' AND ExecutionStatus = 'Running'"
    workflow_ids = [execution.id async for execution in client.list_workflows(query)]
    request_id = f"policy-{policy_digest(policy)}"
    gate = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
    failed: list[str] = []

    async def apply(workflow_id: str) -> None:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).start_update(
                    UPDATE_APPLY_POLICY,
                    PolicyUpdate(request_id=request_id, policy=policy),
                    id=request_id,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    result_type=CommandOutcome,
                )
            except (RPCError, WorkflowUpdateFailedError):
                failed.append(workflow_id)

    await asyncio.gather(*(apply(w) for w in workflow_ids))
    return RolloutReport(
        org=org, conversations=len(workflow_ids), applied=len(workflow_ids) - len(failed), failed=sorted(failed)
    )
