"""The worker's own metrics, exported by its Prometheus runtime with the SDK's: the activity-side counter (sends
Twilio refused, through `activity.metric_meter()`), and the zero series of the workflow's counters.

A counter's series appears at its first increase, so a panel says "no data" and `rate()` misses that first
increase; creating every closed label set at zero when the worker starts avoids both. The attributes are the
ones `workflow.metric_meter()` adds, so the zero series and the workflow's are one series.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError

from activities.twilio_errors import CLIENT_ERROR_TYPE
from contracts import metrics as m
from contracts.signals import WORKFLOW_NAME


def count_send_refusal(org: str, error: ApplicationError) -> None:
    """A send Twilio refused with a 4xx (final: the activity does not retry it), by Twilio's error code."""
    if error.type != CLIENT_ERROR_TYPE or not activity.in_activity():
        return
    detail = error.details[0] if error.details else None
    code = detail.get("code") if isinstance(detail, dict) else None
    counter = activity.metric_meter().create_counter(m.SEND_REFUSALS.name, m.SEND_REFUSALS.help)
    counter.add(1, {m.ORG: org, "error_code": str(code) if code is not None else "none"})


def zero_label_sets(metric: m.MetricDef, orgs: Iterable[str]) -> list[dict[str, str]]:
    """Every label set of a counter whose labels other than the org are closed sets; none for the others."""
    others = [label for label in metric.labels if label != m.ORG]
    if metric.kind != "counter" or any(label not in metric.values for label in others):
        return []
    combos = itertools.product(*(metric.values[label] for label in others))
    return [{m.ORG: org, **dict(zip(others, combo, strict=True))} for combo in combos for org in sorted(orgs)]


def create_zero_series(meter: MetricMeter, orgs: Iterable[str], namespace: str, task_queue: str) -> int:
    """Add 0 to every closed label set of the workflow's counters; how many series that made."""
    base = {"namespace": namespace, "task_queue": task_queue, "workflow_type": WORKFLOW_NAME}
    made = 0
    org_names = list(orgs)
    for metric in m.CATALOGUE:
        if metric.emitter != "workflow":
            continue
        counter = meter.create_counter(metric.name, metric.help)
        for labels in zero_label_sets(metric, org_names):
            counter.add(0, {**base, **labels})
            made += 1
    return made
