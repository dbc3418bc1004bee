"""With the codec on, the raw history stored by the real Temporal server holds no phone number or message body."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.signals import ContactMessage
from payload_encryption.converter import build_data_converter
from tests.encryption.echo_workflow import EchoContactMessage

PHONE = "+15557654321"
BODY = "my card number is 4111 1111 1111 1111"


async def test_raw_history_holds_no_plaintext_pii(local_env: WorkflowEnvironment) -> None:
    converter = build_data_converter(f"k1:{base64.b64encode(os.urandom(32)).decode()}")
    config = local_env.client.config()
    config["data_converter"] = converter
    client = Client(**config)
    task_queue = f"enc-{uuid.uuid4()}"
    message = ContactMessage(
        message_sid="SM" + "a" * 32,
        account_sid="AC" + "b" * 32,
        business_number="+14155238886",
        contact_address=PHONE,
        profile_name="Ana Pérez",
        body=BODY,
        received_at=datetime.now(UTC),
    )
    failing = message.model_copy(update={"body": "", "message_sid": "SM" + "c" * 32})
    async with Worker(client, task_queue=task_queue, workflows=[EchoContactMessage]):
        ok_id = f"enc-{uuid.uuid4()}"
        result = await client.execute_workflow(EchoContactMessage.run, message, id=ok_id, task_queue=task_queue)
        failed = await client.start_workflow(
            EchoContactMessage.run, failing, id=f"enc-{uuid.uuid4()}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await failed.result()
        # The failure message is encrypted too, and an authorised client decodes it.
        assert PHONE in str(failure.value.cause)
    assert result == f"{PHONE}: {BODY}"  # the codec round-trips for an authorised client

    # A client without the codec sees what the server stores.
    for workflow_id in (ok_id, failed.id):
        history = await local_env.client.get_workflow_handle(workflow_id).fetch_history()
        raw_bytes = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
        assert PHONE.encode() not in raw_bytes
        assert b"4111 1111" not in raw_bytes  # the digits alone may occur in an event timestamp
        assert "Pérez".encode() not in raw_bytes
