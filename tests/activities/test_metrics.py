"""The worker's own metrics: zero series for the workflow's counters, and sends Twilio refused (activity side)."""

from __future__ import annotations

from temporalio.runtime import BUFFERED_METRIC_KIND_COUNTER, MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment

from activities.metrics import count_send_refusal, create_zero_series, zero_label_sets
from activities.twilio_errors import error_for_status
from contracts import metrics as m
from contracts.signals import WORKFLOW_NAME


def buffered() -> tuple[Runtime, MetricBuffer]:
    buffer = MetricBuffer(10_000)
    return Runtime(telemetry=TelemetryConfig(metrics=buffer)), buffer


def test_zero_label_sets_cover_every_closed_combination_per_org() -> None:
    sets = zero_label_sets(m.SESSIONS_ENDED, ["b", "a"])
    assert sets == [
        {"org": "a", "outcome": "contained"},
        {"org": "b", "outcome": "contained"},
        {"org": "a", "outcome": "handed_off"},
        {"org": "b", "outcome": "handed_off"},
    ]
    assert zero_label_sets(m.CONVERSATIONS_OPENED, ["a"]) == [{"org": "a"}]
    # An open label (Twilio's error codes) and histograms get no zero series.
    assert zero_label_sets(m.DELIVERY_FAILURES, ["a"]) == []
    assert zero_label_sets(m.QUEUE_WAIT_SECONDS, ["a"]) == []


def test_zero_series_carry_the_workflow_meters_attributes() -> None:
    runtime, buffer = buffered()
    made = create_zero_series(runtime.metric_meter, ["acme"], "default", "tq")
    updates = [u for u in buffer.retrieve_updates() if u.metric.name.startswith("wafh_")]
    assert made == len(updates) > 0
    assert {u.metric.kind for u in updates} == {BUFFERED_METRIC_KIND_COUNTER}
    assert all(u.value == 0 for u in updates)
    names = {u.metric.name for u in updates}
    assert m.NOTICES_POSTED.name in names and m.HANDOFFS_REQUESTED.name in names
    assert m.WEBHOOKS.name not in names  # the API's, not the worker's
    for u in updates:
        attrs = dict(u.attributes)
        assert (attrs.pop("namespace"), attrs.pop("task_queue"), attrs.pop("workflow_type")) == (
            "default",
            "tq",
            WORKFLOW_NAME,
        )
        attrs.pop("service_name", None)
        m.BY_NAME[u.metric.name].check_labels({k: str(v) for k, v in attrs.items()})


def test_a_refused_send_is_counted_by_error_code_inside_an_activity_only() -> None:
    runtime, buffer = buffered()
    refused = error_for_status(400, 63016, "outside the window", what="send_whatsapp")
    retryable = error_for_status(503, None, "down", what="send_whatsapp")
    count_send_refusal("acme", refused)  # outside an activity: nothing, no error
    env = ActivityEnvironment()
    env.metric_meter = runtime.metric_meter
    env.run(count_send_refusal, "acme", refused)
    env.run(count_send_refusal, "acme", retryable)  # retried by Temporal: not a refusal
    updates = [u for u in buffer.retrieve_updates() if u.metric.name == m.SEND_REFUSALS.name]
    assert [(u.value, dict(u.attributes)["org"], dict(u.attributes)["error_code"]) for u in updates] == [
        (1, "acme", "63016")
    ]
