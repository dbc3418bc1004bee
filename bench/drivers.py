"""The two ways a contact message enters Temporal: the API's signed webhook, and the raw SDK call (floor)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from bench.stack import Stack
from cli.sandbox_setup import SANDBOX_ORG
from contracts.ids import conversation_key, workflow_id_for_key
from contracts.search_attributes import ORG_ID
from contracts.signals import SIGNAL_CONTACT_MESSAGE, WORKFLOW_NAME, ContactMessage, ConversationStart


class WebhookDriver:
    """POSTs inbound WhatsApp webhooks to the API exactly as Twilio would (form body, X-Twilio-Signature)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=30)
        )

    async def close(self) -> None:
        await self.http.close()

    async def send(self, contact: str, body: str) -> None:
        params = self.stack.inbound_params(contact, body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "X-Twilio-Signature": self.stack.sign(self.stack.webhook_url, params),
            "I-Twilio-Idempotency-Token": params["MessageSid"],
        }
        async with self.http.post(self.stack.webhook_url, data=urlencode(params), headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"API answered HTTP {resp.status}")


class RawDriver:
    """The floor: the same signal-with-start the API makes, straight from the SDK, no HTTP, no signature."""

    def __init__(self, stack: Stack, client: Client) -> None:
        self.stack = stack
        self.client = client
        self.policy = stack.org.policy()

    async def send(self, contact: str, body: str) -> None:
        key = conversation_key(SANDBOX_ORG, self.stack.business, contact)
        message = ContactMessage(
            message_sid="SM" + key,
            account_sid=self.stack.account_sid,
            business_number=self.stack.business,
            contact_address=contact,
            profile_name="Bench",
            body=body,
            received_at=datetime.now(UTC),
        )
        start = ConversationStart(
            org=SANDBOX_ORG,
            key=key,
            business_number=self.stack.business,
            contact_address=contact,
            policy=self.policy,
        )
        await self.client.start_workflow(
            WORKFLOW_NAME,
            start,
            id=workflow_id_for_key(SANDBOX_ORG, key),
            task_queue=self.stack.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=SIGNAL_CONTACT_MESSAGE,
            start_signal_args=[message],
            search_attributes=TypedSearchAttributes([SearchAttributePair(ORG_ID, SANDBOX_ORG)]),
            static_summary=f"WhatsApp conversation ({SANDBOX_ORG})",
        )
