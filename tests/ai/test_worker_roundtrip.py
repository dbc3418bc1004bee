"""`ai_turn` registered on a real worker, called from a workflow through the pydantic data converter."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.ai.activity import UNKNOWN_BACKEND, AiActivities
from activities.ai.rules_backend import RulesBackend
from config.settings import Settings
from contracts.ai import AiTurnResult
from payload_encryption.converter import build_data_converter
from tests.ai.conftest import contact, turn_input
from tests.ai.roundtrip_workflow import AiRoundTripWorkflow


def _client(env: WorkflowEnvironment) -> Client:
    config = env.client.config()
    config["data_converter"] = build_data_converter()
    return Client(**config)


async def test_turn_through_a_worker(
    time_skipping_env: WorkflowEnvironment, rules_backend: RulesBackend
) -> None:
    client = _client(time_skipping_env)
    acts = AiActivities(Settings(), backends={"rules": rules_backend})
    queue = f"ai-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[AiRoundTripWorkflow], activities=[acts.ai_turn]):
        inp = turn_input(
            ("contact", "Hola"),
            ("ai", "¡Hola!"),
            ("contact", "¿Dónde está mi pedido?"),
            flex_context={"flex_order_id": "A-9", "flex_order_status": "enviado"},
            contact_name="Ana",
        )
        result = await client.execute_workflow(
            AiRoundTripWorkflow.run, inp, id=f"wf-{queue}", task_queue=queue
        )
        assert isinstance(result, AiTurnResult)
        assert result.reply == "Tu pedido A-9 está actualmente: enviado." and result.language == "es"

        bad = contact("hi").model_copy(update={"backend": "nope"})
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(AiRoundTripWorkflow.run, bad, id=f"wf2-{queue}", task_queue=queue)
        cause = info.value.cause
        assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
        assert cause.cause.type == UNKNOWN_BACKEND and "unknown AI backend 'nope'" in cause.cause.message
