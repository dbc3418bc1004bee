"""The Prometheus alert rules: what hurts customers or stops the service, per org. Names come from the catalogue.

Each rule's `runbook` is the README section that says what to do when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import metrics as m

GROUP = "wa-flex-handoff"
# Refused webhooks above this share of an org's webhooks: a signature or routing misconfiguration, not noise.
REFUSED_SHARE = 0.2
# Delivery failures per minute, averaged over 15 minutes, above which WhatsApp is refusing an org's messages at scale.
DELIVERY_FAILURES_PER_MINUTE = 1.0


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    @property
    def runbook(self) -> str:
        return f"README.md#{self.name.lower()}"

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": self.runbook,
            },
        }


REFUSED = "refused_signature|refused_wrong_org"

ALERTS: tuple[Alert, ...] = (
    Alert(
        "WafhStuckHandoffs",
        f"max by (org) ({m.STUCK_HANDOFFS.name}) > 0",
        "10m",
        "page",
        "{{ $labels.org }}: {{ $value }} conversation(s) stuck for 10 minutes",
        "A handoff keeps failing, an opening gave up, or a queue wait passed its SLA: contacts are waiting for nobody.",
    ),
    Alert(
        "WafhQueueWaitOverSla",
        f"histogram_quantile(0.95, sum by (org, le) (rate({m.QUEUE_WAIT_SECONDS.name}_bucket[30m])))"
        f" > on (org) max by (org) ({m.ORG_QUEUE_SLA_SECONDS.name})",
        "15m",
        "page",
        "{{ $labels.org }}: queue wait p95 {{ $value | humanizeDuration }} is over the org's SLA",
        "Contacts wait longer than the org's queue_sla_seconds for a rep: too few reps available, or reps not "
        "taking WhatsApp tasks.",
    ),
    Alert(
        "WafhDeliveryFailures",
        f"sum by (org) (rate({m.DELIVERY_FAILURES.name}[15m])) * 60 > {DELIVERY_FAILURES_PER_MINUTE}",
        "15m",
        "warning",
        "{{ $labels.org }}: {{ $value | humanize }} WhatsApp delivery failures a minute",
        "WhatsApp is not delivering the org's messages (error codes on the dashboard's delivery row).",
    ),
    Alert(
        "WafhWebhookRefusals",
        f'sum by (org) (rate({m.WEBHOOKS.name}{{outcome=~"{REFUSED}"}}[5m]))'
        f" / sum by (org) (rate({m.WEBHOOKS.name}[5m])) > {REFUSED_SHARE}",
        "5m",
        "page",
        "{{ $labels.org }}: {{ $value | humanizePercentage }} of webhooks refused (signature or wrong org)",
        "Twilio's webhooks are refused: the org's auth token or public_base_url is wrong, or a number, service or "
        "workspace points at another org. Events are not reaching the conversations.",
    ),
    Alert(
        "WafhNoWorkerPolling",
        f'sum(max_over_time({m.SDK_NUM_POLLERS}{{job="{m.WORKER_JOB}", poller_type="workflow_task"}}[2m])) == 0'
        f' or absent({m.SCRAPE_UP}{{job="{m.WORKER_JOB}"}} == 1)',
        "2m",
        "page",
        "No worker is polling the task queue",
        "No worker is up, or none polls: conversations do not advance (webhooks are recorded and wait).",
    ),
)


def rules_document() -> dict[str, Any]:
    return {"groups": [{"name": GROUP, "rules": [a.rule() for a in ALERTS]}]}
