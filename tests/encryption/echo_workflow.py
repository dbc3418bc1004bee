"""A tiny workflow that carries PII in its input, result and failure message (its own module: the workflow sandbox
re-imports it, and it must not pull in `cryptography`)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.signals import ContactMessage


@workflow.defn(name="EchoContactMessage")
class EchoContactMessage:
    @workflow.run
    async def run(self, message: ContactMessage) -> str:
        if not message.body:
            raise ApplicationError(f"empty message from {message.contact_address}")
        return f"{message.contact_address}: {message.body}"
