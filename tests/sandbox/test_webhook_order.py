"""Webhook delivery order: one resource's webhooks in order, one at a time; other resources never wait behind a
slow answer (as with Twilio)."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import httpx

from twilio_sandbox.clock import SandboxClock
from twilio_sandbox.faults import FaultConfig, Faults
from twilio_sandbox.record import Recorder
from twilio_sandbox.webhooks import Delivery, WebhookDispatcher, order_key

URL = "http://service.test/webhooks/demo/taskrouter"


def _event(task: str, event: str) -> Delivery:
    params = [("TaskSid", task), ("EventType", event)]
    return Delivery(kind="taskrouter", url=URL, params=params, token="t", order_key=order_key("taskrouter", params))


def test_the_order_key_names_the_resource_of_each_kind_of_webhook() -> None:
    assert order_key("taskrouter", [("TaskSid", "WT1"), ("WorkerSid", "WK1")]) == "WT1"
    assert order_key("taskrouter", [("WorkerSid", "WK1"), ("EventType", "worker.activity.update")]) == "WK1"
    assert order_key("conversations.scoped", [("ConversationSid", "CH1"), ("MessageSid", "IM1")]) == "CH1"
    assert order_key("messaging.inbound", [("MessageSid", "SM1"), ("From", "whatsapp:+34600")]) == "whatsapp:+34600"
    assert order_key("messaging.status", [("MessageSid", "SM2"), ("From", "whatsapp:+1415")]) == "SM2"
    assert order_key("unknown", [("MessageSid", "SM2")]) == ""


async def test_a_slow_answer_holds_up_its_own_resource_only() -> None:
    release_first = asyncio.Event()
    seen: list[tuple[str, str]] = []

    async def service(request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        seen.append((form["TaskSid"], form["EventType"]))
        if (form["TaskSid"], form["EventType"]) == ("WT1", "reservation.created"):
            await release_first.wait()
        return httpx.Response(204)

    dispatcher = WebhookDispatcher(Recorder(SandboxClock()), Faults(), timeout=15)
    dispatcher._client = httpx.AsyncClient(transport=httpx.MockTransport(service))
    try:
        first = dispatcher.send(_event("WT1", "reservation.created"))
        second = dispatcher.send(_event("WT1", "reservation.accepted"))
        other = dispatcher.send(_event("WT2", "reservation.created"))
        # Another task's event is answered while the first task's is still waiting for its answer.
        assert await asyncio.wait_for(other, 5) == 204
        assert not first.done() and not second.done()
        assert ("WT1", "reservation.accepted") not in seen
        release_first.set()
        assert await asyncio.wait_for(second, 5) == 204
        assert seen.index(("WT1", "reservation.created")) < seen.index(("WT1", "reservation.accepted"))
        # A drained resource leaves no queue behind; its next webhook starts a new one.
        assert dispatcher._queues == {}
        assert await asyncio.wait_for(dispatcher.send(_event("WT1", "task.completed")), 5) == 204
        assert dispatcher._queues == {}
    finally:
        await dispatcher.stop()


async def test_a_delivery_is_answered_before_twilios_duplicate_of_it_goes_out() -> None:
    release_copy = asyncio.Event()
    copy_arrived = asyncio.Event()
    attempts = 0

    async def service(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            copy_arrived.set()
            await release_copy.wait()  # the duplicate meets a slow service
        return httpx.Response(204)

    faults = Faults()
    faults.set(FaultConfig(webhook_duplicate_rate=1.0))
    dispatcher = WebhookDispatcher(Recorder(SandboxClock()), faults, timeout=15)
    dispatcher._client = httpx.AsyncClient(transport=httpx.MockTransport(service))
    try:
        # Whoever waits on the delivery (a contact's message waits on its webhook) hears the first answer.
        assert await asyncio.wait_for(dispatcher.send(_event("WT1", "task.created")), 5) == 204
        await asyncio.wait_for(copy_arrived.wait(), 5)  # the duplicate goes out, and waits for its answer
        assert attempts == 2
        release_copy.set()
    finally:
        await dispatcher.stop()
