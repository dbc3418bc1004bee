"""The conversation's metrics, read from a metric buffer on the worker's runtime while a scenario plays on the
time-skipping server: names and labels from the catalogue, durations from the skipped time."""

from __future__ import annotations

import ast
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_HISTOGRAM,
    MetricBuffer,
    Runtime,
    TelemetryConfig,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import metrics as m
from contracts.signals import WORKFLOW_NAME
from tests.workflow.conftest import workflow_task_failures
from tests.workflow.fakes import FakeTwilio, client_error
from tests.workflow.harness import ORG, Conv, make_worker
from workflows.conversation.metrics import handoff_reason

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Recorded:
    counters: dict[tuple[str, frozenset[tuple[str, str]]], int]
    observations: dict[tuple[str, frozenset[tuple[str, str]]], list[float]]

    def count(self, metric: m.MetricDef, **labels: str) -> int:
        return self.counters.get((metric.name, frozenset({"org": ORG, **labels}.items())), 0)

    def observed(self, metric: m.MetricDef, **labels: str) -> list[float]:
        return self.observations.get((metric.name, frozenset({"org": ORG, **labels}.items())), [])


class Metered:
    """A conversation whose worker's runtime records metrics into a buffer."""

    def __init__(self, conv: Conv, buffer: MetricBuffer) -> None:
        self.conv = conv
        self.buffer = buffer
        self.counters: dict[tuple[str, frozenset[tuple[str, str]]], int] = defaultdict(int)
        self.observations: dict[tuple[str, frozenset[tuple[str, str]]], list[float]] = defaultdict(list)

    def read(self) -> Recorded:
        for update in self.buffer.retrieve_updates():
            if not update.metric.name.startswith("wafh_"):
                continue
            attrs = dict(update.attributes)
            # Added by the SDK to every workflow metric; the catalogue's own labels are the rest.
            assert attrs.pop("workflow_type") == WORKFLOW_NAME
            attrs.pop("namespace")
            attrs.pop("task_queue")
            attrs.pop("service_name", None)
            metric = m.BY_NAME[update.metric.name]
            metric.check_labels({k: str(v) for k, v in attrs.items()})
            key = (metric.name, frozenset((k, str(v)) for k, v in attrs.items()))
            if update.metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                assert metric.kind == "counter"
                self.counters[key] += int(update.value)
            else:
                assert update.metric.kind == BUFFERED_METRIC_KIND_HISTOGRAM and metric.kind == "histogram"
                self.observations[key].append(float(update.value))
        return Recorded(dict(self.counters), {k: list(v) for k, v in self.observations.items()})


@pytest_asyncio.fixture
async def metered(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Metered]:
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    client = await Client.connect(
        time_skipping_env.client.service_client.config.target_host,
        namespace=time_skipping_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
    fake = FakeTwilio()
    task_queue = f"tq-{uuid.uuid4()}"
    async with make_worker(client, fake, task_queue):
        conv = Conv(time_skipping_env, client, fake, task_queue)
        try:
            yield Metered(conv, buffer)
            await conv.quiet()
            assert not await workflow_task_failures(conv)
        finally:
            with contextlib.suppress(RPCError):
                await conv.handle.terminate("test over")


async def test_a_handed_off_conversation_records_each_figure_once(metered: Metered) -> None:
    conv = metered.conv
    sess = conv.session_id("SM1")
    await conv.to_queued("SM1", "hi", ask="I want a human please")
    await conv.skip(timedelta(minutes=7))
    await conv.rep_accepts(sess, "WThuman")
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep")
    assert view.conversation_sid is not None
    await conv.skip(timedelta(minutes=2))
    await conv.rep_says(view.conversation_sid, "Hello, Ana here", "IMrep1")
    await conv.until_calls("send_whatsapp", 3)
    await conv.rep_says(view.conversation_sid, "A second message", "IMrep2")
    await conv.until_calls("send_whatsapp", 4)
    await conv.tr("task.completed", "WThuman", session=sess)
    await conv.until(lambda v: v.sessions_ended == 1, "the session ended")
    await conv.quiet()

    got = metered.read()
    assert got.count(m.CONVERSATIONS_OPENED) == 1
    assert got.count(m.AI_TURNS, outcome="replied") == 2  # the answer, and "let me get you a person"
    assert got.count(m.AI_TURNS, outcome="no_reply") == 0
    assert got.count(m.AI_TURNS, outcome="failed") == 0
    assert len(got.observed(m.AI_TURN_SECONDS)) == 2
    assert got.count(m.HANDOFFS_REQUESTED, reason="customer_asked") == 1
    assert got.count(m.HANDOFFS, outcome="handed_off") == 1
    assert len(got.observed(m.HANDOFF_SECONDS_METRIC)) == 1
    [queue_wait] = got.observed(m.QUEUE_WAIT_SECONDS)
    assert 7 * 60 <= queue_wait < 7 * 60 + 30
    [first_response] = got.observed(m.REP_FIRST_RESPONSE_SECONDS)  # the second rep message is not a first
    assert 2 * 60 <= first_response < 2 * 60 + 30
    [first_reply] = got.observed(m.TIME_TO_FIRST_REPLY_SECONDS, by="ai")
    assert first_reply < 30
    assert got.observed(m.TIME_TO_FIRST_REPLY_SECONDS, by="rep") == []  # the AI replied first
    assert got.count(m.SESSIONS_ENDED, outcome="handed_off") == 1
    assert got.count(m.SESSIONS_ENDED, outcome="contained") == 0


async def test_refusals_failures_templates_and_notices_are_counted(metered: Metered) -> None:
    conv = metered.conv
    conv.fake.fail["hand_to_humans"] = [client_error("Invite refused", 20001)]
    sess = await conv.to_first_ai_reply("SM1", "hi")
    await conv.status("SMout1", "undelivered", 63024)  # the AI's reply never reached the contact
    await conv.request_handoff("req-1", "operator asked")
    await conv.until(lambda v: v.stuck, "stuck after the failed round")
    await conv.skip(timedelta(seconds=31))
    await conv.until(lambda v: v.state == "queued", "queued after the retried round")
    await conv.rep_accepts(sess, "WThuman")
    view = await conv.until(lambda v: v.state == "with_rep", "with_rep")
    assert view.conversation_sid is not None
    await conv.rep_says(view.conversation_sid, "/template order_update Ana 42", "IMtpl")
    await conv.until_calls("send_whatsapp", 2)
    await conv.skip(timedelta(hours=25))
    await conv.rep_says(view.conversation_sid, "still there?", "IMlate")
    await conv.until(lambda v: any("window" in n.lower() for n in v.notices[-1:]), "the refusal notice")
    await conv.quiet()

    got = metered.read()
    assert got.count(m.DELIVERY_FAILURES, error_code="63024") == 1
    assert got.count(m.NOTICES_POSTED, kind="delivery_failed") == 1
    assert got.count(m.HANDOFFS_REQUESTED, reason="operator") == 1
    assert got.count(m.HANDOFFS, outcome="retrying") == 1
    assert got.count(m.HANDOFFS, outcome="handed_off") == 1
    assert got.count(m.NOTICES_POSTED, kind="handoff_failed") == 1
    assert got.count(m.TEMPLATES_SENT) == 1
    assert got.count(m.REP_REPLIES_REFUSED) == 1
    assert got.count(m.NOTICES_POSTED, kind="reply_refused") == 1
    # A template is not the rep's first response, nor the session's first reply (the AI gave that).
    assert got.observed(m.REP_FIRST_RESPONSE_SECONDS) == []
    # The handoff's latency spans the failed round's backoff (30 s).
    [handoff_latency] = got.observed(m.HANDOFF_SECONDS_METRIC)
    assert handoff_latency >= 30


@pytest.mark.parametrize(
    ("source", "reason", "label"),
    [
        ("ai", "customer asked for a human agent", "customer_asked"),
        ("ai", "Customer asked for a human", "customer_asked"),
        ("ai", "customer has a complaint", "ai_decided"),
        ("ai", "the customer seems upset", "ai_decided"),
        ("ai_failure", "AI unavailable", "ai_unavailable"),
        ("ai_offer_timeout", "the AI's offer timed out", "ai_unavailable"),
        ("operator", "customer asked for a human", "operator"),
    ],
)
def test_handoff_reason_label(source: str, reason: str, label: str) -> None:
    assert handoff_reason(source, reason) == label  # type: ignore[arg-type]
    assert label in m.HANDOFF_REASONS


def _notice_kinds_in_workflows() -> set[str]:
    """The `kind` literal of every `notice(c, "<kind>", …)` call in the workflow's modules."""
    kinds: set[str] = set()
    for path in (ROOT / "workflows").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "notice"
                and len(node.args) >= 2
            ):
                kind = node.args[1]
                assert isinstance(kind, ast.Constant) and isinstance(kind.value, str), f"{path}: kind not a literal"
                kinds.add(kind.value)
    return kinds


def test_every_notice_kind_is_in_the_catalogue() -> None:
    kinds = _notice_kinds_in_workflows()
    assert len(kinds) >= 10  # the walk found the calls
    assert kinds == set(m.NOTICE_KINDS), kinds ^ set(m.NOTICE_KINDS)
