"""Drive a ConversationWorkflow on the time-skipping server with signals, updates and queries only."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateHandle, WorkflowUpdateStage
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.ids import conversation_key, workflow_id_for_key
from contracts.policy import ConversationPolicy, QueueUpdates
from contracts.signals import (
    SIGNAL_CONTACT_MESSAGE,
    UPDATE_REQUEST_HANDOFF,
    UPDATE_SEND_TEMPLATE,
    CommandOutcome,
    ContactMessage,
    ConversationEvent,
    ConversationMediaRef,
    ConversationStart,
    DeliveryStatus,
    HandoffRequest,
    InboundMedia,
    TaskRouterEvent,
    TemplateSendRequest,
)
from contracts.views import ConversationView
from tests.polling import eventually
from tests.workflow.fakes import FakeTwilio
from workflows.conversation import ConversationWorkflow

ORG = "acme"
BUSINESS = "+14155238886"
TEMPLATES = {"order_update": "HX" + "a" * 32, "welcome_back": "HX" + "b" * 32}
_numbers = itertools.count(1)


def policy(**kw: Any) -> ConversationPolicy:
    base: dict[str, Any] = dict(
        workspace_sid="WS1",
        workflow_sid="WW1",
        conversations_service_sid="IS1",
        ai_queue_sid="WQai",
        human_queue_sid="WQhuman",
        public_base_url="https://svc.example.com",
        templates=TEMPLATES,
        # Off unless a test is about them: they add sends and notices other tests do not count.
        queue_updates=QueueUpdates(enabled=False),
        window_warning_minutes=0,
        # The typing indicator before every AI reply: the fakes answer at once.
        typing_indicator_after_seconds=0,
    )
    base.update(kw)
    return ConversationPolicy(**base)


class Conv:
    """One conversation under test."""

    def __init__(self, env: WorkflowEnvironment, client: Client, fake: FakeTwilio, task_queue: str) -> None:
        self.env = env
        self.client = client
        self.fake = fake
        self.task_queue = task_queue
        self.contact = f"+3519{next(_numbers):08d}{uuid.uuid4().int % 10}"
        self.key = conversation_key(ORG, BUSINESS, self.contact)
        self.workflow_id = workflow_id_for_key(ORG, self.key)
        self._ev = itertools.count(1)
        self.first_run_id: str | None = None
        # Signals this test sent: with the workflow's own count, `quiet` knows all of them were dealt with.
        self.signals_sent = 0

    @property
    def handle(self) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(self.workflow_id)

    def session_id(self, opening_sid: str) -> str:
        return f"{self.key}-{opening_sid}"

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def contact_msg(
        self,
        sid: str,
        body: str = "hello",
        *,
        profile: str | None = "Ana",
        media: list[InboundMedia] | None = None,
        received_at: datetime | None = None,
        start: ConversationStart | None = None,
        **start_kw: Any,
    ) -> ContactMessage:
        msg = ContactMessage(
            message_sid=sid,
            account_sid="AC1",
            business_number=BUSINESS,
            contact_address=self.contact,
            profile_name=profile,
            body=body,
            media=media or [],
            received_at=received_at or await self.now(),
        )
        if start is not None or start_kw:
            start = start or self.start_input(**start_kw)
            started = await self.client.start_workflow(
                ConversationWorkflow.run,
                start,
                id=self.workflow_id,
                task_queue=self.task_queue,
                start_signal=SIGNAL_CONTACT_MESSAGE,
                start_signal_args=[msg],
            )
            self.first_run_id = started.first_execution_run_id or started.run_id
            self.signals_sent += 1
        else:
            await self.signal(ConversationWorkflow.contact_message, msg)
        return msg

    async def signal(self, handler: Any, payload: Any) -> None:
        """Send a signal (the workflow's handler method, or its name) and count it (a test re-sending a payload as
        a duplicate goes through here too)."""
        await self.handle.signal(handler, payload)
        self.signals_sent += 1

    def start_input(self, **policy_kw: Any) -> ConversationStart:
        return ConversationStart(
            org=ORG, key=self.key, business_number=BUSINESS, contact_address=self.contact, policy=policy(**policy_kw)
        )

    async def begin(self, sid: str = "SM1", body: str = "hello", **kw: Any) -> ContactMessage:
        """Signal-with-start the conversation."""
        return await self.contact_msg(sid, body, start=self.start_input(**kw))

    async def tr(
        self,
        event_type: str,
        task_sid: str,
        *,
        reservation: str | None = None,
        worker_sid: str | None = None,
        worker_name: str | None = None,
        session: str | None = None,
        event_sid: str | None = None,
        attributes: dict[str, Any] | None = None,
        queue: str | None = None,
    ) -> TaskRouterEvent:
        attrs = dict(attributes or {})
        if session is not None:
            attrs["waHandoff"] = {"workflowId": self.workflow_id, "org": ORG, "sessionId": session}
        ev = TaskRouterEvent(
            event_sid=event_sid or f"EV{next(self._ev):032d}",
            event_type=event_type,
            task_sid=task_sid,
            task_attributes=attrs,
            reservation_sid=reservation,
            worker_sid=worker_sid,
            worker_name=worker_name,
            task_queue_sid=queue,
            occurred_at=await self.now(),
        )
        await self.signal(ConversationWorkflow.taskrouter_event, ev)
        return ev

    async def ai_offer(self, session: str, task: str = "WT1", reservation: str = "WR1", **kw: Any) -> TaskRouterEvent:
        return await self.tr(
            "reservation.created",
            task,
            reservation=reservation,
            worker_sid="WKai",
            worker_name="AI Support Agent",
            session=session,
            **kw,
        )

    async def rep_accepts(self, session: str, task: str, reservation: str = "WRrep", **kw: Any) -> TaskRouterEvent:
        return await self.tr(
            "reservation.accepted",
            task,
            reservation=reservation,
            worker_sid="WKalice",
            worker_name="alice",
            session=session,
            **kw,
        )

    async def rep_says(
        self,
        conversation_sid: str,
        body: str | None,
        sid: str,
        *,
        author: str = "alice",
        media: list[ConversationMediaRef] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> ConversationEvent:
        ev = ConversationEvent(
            event_type="onMessageAdded",
            conversation_sid=conversation_sid,
            message_sid=sid,
            author=author,
            body=body,
            media=media or [],
            attributes=attributes or {},
            source="SDK",
            occurred_at=await self.now(),
        )
        await self.signal(ConversationWorkflow.conversation_event, ev)
        return ev

    async def status(self, message_sid: str, status: str, code: int | None = None) -> None:
        await self.signal(
            ConversationWorkflow.delivery_status,
            DeliveryStatus(message_sid=message_sid, status=status, error_code=code, occurred_at=await self.now()),
        )

    async def request_handoff(self, request_id: str, reason: str = "operator asked") -> CommandOutcome:
        """The operator's handoff update; refused ones raise `WorkflowUpdateFailedError`."""
        return await self.handle.execute_update(
            UPDATE_REQUEST_HANDOFF,
            HandoffRequest(request_id=request_id, reason=reason),
            id=request_id,
            result_type=CommandOutcome,
        )

    async def start_handoff_request(
        self, request_id: str, reason: str = "operator asked"
    ) -> WorkflowUpdateHandle[CommandOutcome]:
        """The handoff update, accepted (validated) but not waited for: the main loop answers it after the step
        it is in."""
        return await self.handle.start_update(
            UPDATE_REQUEST_HANDOFF,
            HandoffRequest(request_id=request_id, reason=reason),
            id=request_id,
            result_type=CommandOutcome,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )

    async def template(self, request_id: str, name: str, variables: list[str]) -> CommandOutcome:
        return await self.handle.execute_update(
            UPDATE_SEND_TEMPLATE,
            TemplateSendRequest(request_id=request_id, template_name=name, variables=variables),
            id=request_id,
            result_type=CommandOutcome,
        )

    async def search_attributes(self) -> dict[str, Any]:
        """The workflow's search attributes as stored (the test server keeps an unset key as null, which
        `describe()` cannot decode for a Datetime)."""
        response = await self.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=self.workflow_id)
            )
        )
        fields = response.workflow_execution_info.search_attributes.indexed_fields
        return {name: json.loads(p.data) if p.data else None for name, p in fields.items()}

    async def view(self) -> ConversationView:
        result: ConversationView = await self.handle.query("state", result_type=ConversationView)
        return result

    async def until(
        self, pred: Callable[[ConversationView], bool], what: str, within: float = 60.0
    ) -> ConversationView:
        """Poll the state query until `pred` holds (real time; no time skipping)."""
        return await eventually(what, self.view, pred, within=within)

    async def until_calls(self, name: str, count: int, within: float = 60.0) -> list[Any]:
        async def calls() -> list[Any]:
            return self.fake.of(name)

        return await eventually(f"{count} {name} call(s)", calls, lambda got: len(got) >= count, within=within)

    async def quiet(self) -> ConversationView:
        """Every signal this test sent has been dealt with and the workflow waits for the next one (or a timer)."""
        return await self.until(
            lambda v: v.signals_received >= self.signals_sent and v.idle,
            f"the workflow to deal with all {self.signals_sent} signals and wait",
        )

    async def running(self) -> bool:
        """The latest run is still open (a closed one answers queries from its last state: never idle)."""
        response = await self.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self.client.namespace, execution=WorkflowExecution(workflow_id=self.workflow_id)
            )
        )
        return response.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING

    async def skip(self, delta: timedelta) -> None:
        await self.env.sleep(delta)

    async def to_first_ai_reply(self, opening: str = "SM1", body: str = "hello", **kw: Any) -> str:
        """begin → task created → AI accepted → its first reply sent. Returns the session id."""
        sess = self.session_id(opening)
        await self.begin(opening, body, **kw)
        await self.until(lambda v: v.task_sid is not None, "task")
        await self.ai_offer(sess)
        await self.until_calls("send_whatsapp", 1)
        return sess

    async def to_queued(
        self, opening: str = "SM1", body: str = "hi", ask_sid: str = "SM2", ask: str = "human please", **kw: Any
    ) -> ConversationView:
        """The first AI reply → the contact asks for a human → transferred, waiting in the humans' queue."""
        await self.to_first_ai_reply(opening, body, **kw)
        await self.contact_msg(ask_sid, ask)
        return await self.until(lambda v: v.state == "queued", "queued")

    async def to_with_rep(self, opening: str = "SM1", **kw: Any) -> ConversationView:
        """to_queued → rep accepts."""
        await self.to_queued(opening, "hi", opening + "b", "I want a human please", **kw)
        await self.rep_accepts(self.session_id(opening), "WThuman")
        return await self.until(lambda v: v.state == "with_rep", "with_rep")


def make_worker(client: Client, fake: FakeTwilio, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[ConversationWorkflow], activities=fake.activities())


def pydantic_client(env: WorkflowEnvironment) -> Client:
    config = env.client.config()
    config["data_converter"] = pydantic_data_converter
    return Client(**config)
