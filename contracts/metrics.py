"""The metric catalogue: every business metric of the service — name, kind, labels, buckets, help — once.

The workflow, the activities, the API, the worker (which creates the zero series), the Grafana dashboard, the
alert rules' tests and the end-to-end test all take names from here. Labels are low-cardinality only: the org
and closed sets of words; never a phone number, SID, name or message body. `error_code` is Twilio's numeric code
(a small set in practice). Where a label's values are listed in `values`, every series exists at zero from the
start (a panel shows 0, not "no data"; `rate()` sees the first increase).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MetricKind = Literal["counter", "histogram", "gauge"]
# Who emits it: the workflow (workflow.metric_meter, replay-safe), an activity (activity.metric_meter), both
# through the worker's Prometheus endpoint; or the API (prometheus-client, its own /metrics).
Emitter = Literal["workflow", "activity", "api"]

ORG = "org"

# Buckets in seconds. The AI answers in seconds; a handoff takes seconds to a few minutes (retries); reps take
# minutes to hours.
AI_SECONDS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
HANDOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0)
REP_SECONDS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0)
FIRST_REPLY_SECONDS = (1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
ACK_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: MetricKind
    emitter: Emitter
    help: str
    labels: tuple[str, ...] = (ORG,)
    # Every value a label may take, for labels with a closed set (the org's values come from the orgs file).
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    buckets: tuple[float, ...] = ()
    # Non-empty: defined, not yet emitted; names the feature that will emit it.

    def __post_init__(self) -> None:
        if not self.name.startswith("wafh_"):
            raise ValueError(f"{self.name}: every metric of ours starts with wafh_")
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"{self.name}: a counter's name ends with _total")
        if (self.kind == "histogram") != bool(self.buckets):
            raise ValueError(f"{self.name}: histograms, and only they, have buckets")
        if list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError(f"{self.name}: buckets must increase")
        unknown = set(self.values) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: values for labels it does not have: {sorted(unknown)}")

    @property
    def series(self) -> tuple[str, ...]:
        """The names Prometheus stores (a histogram is three series)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    def check_labels(self, labels: Mapping[str, str]) -> None:
        """Refuse a label set the catalogue does not allow (a wrong name, a value outside a closed set)."""
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {list(self.labels)}, got {sorted(labels)}")
        for name, allowed in self.values.items():
            if labels[name] not in allowed:
                raise ValueError(f"{self.name}: {name}={labels[name]!r} is not one of {list(allowed)}")


HANDOFF_REASONS = ("customer_asked", "ai_decided", "ai_unavailable", "operator")
NOTICE_KINDS = (
    "ai_reply_not_sent",
    "busy_not_sent",
    "contact_media_refused",
    "contact_message_not_in_flex",
    "delivery_failed",
    "handoff_failed",
    "queue_stuck",
    "rep_media_refused",
    "reply_refused",
    "send_failed",
    "template_error",
    "window_closed",
    "window_closing",
)
WEBHOOK_ROUTES = ("whatsapp", "whatsapp_status", "conversations", "taskrouter")
WEBHOOK_OUTCOMES = (
    "signalled",  # recorded: a signal (or signal-with-start) reached the conversation
    "duplicate",  # a redelivery (same I-Twilio-Idempotency-Token) this process signalled; the workflow ignores it
    "ignored",  # 2xx without a signal: an event that needs none, or a conversation no longer running
    "refused_signature",  # 403: missing or invalid X-Twilio-Signature
    "refused_wrong_org",  # 403: the account, number, service or workspace is not this org's
    "refused_unknown_org",  # 404: no such org
    "refused_malformed",  # 4xx: a field, the body or its type is wrong
    "unavailable",  # 503: Temporal could not record it (Twilio retries)
)

CONVERSATIONS_OPENED = MetricDef(
    "wafh_conversations_opened_total",
    "counter",
    "workflow",
    "Sessions opened: a contact's message with no session open (a new Flex conversation and task).",
)
AI_TURNS = MetricDef(
    "wafh_ai_turns_total",
    "counter",
    "workflow",
    "AI turns by outcome: replied (a reply went to WhatsApp), no_reply (escalated or nothing to say), failed (a round"
    " failed; it is tried again).",
    labels=(ORG, "outcome"),
    values={"outcome": ("replied", "no_reply", "failed")},
)
AI_TURN_SECONDS = MetricDef(
    "wafh_ai_turn_seconds",
    "histogram",
    "workflow",
    "One AI turn: the contact's messages posted to Flex, the AI's answer, the reply posted and sent.",
    buckets=AI_SECONDS,
)
SESSIONS_ENDED = MetricDef(
    "wafh_sessions_ended_total",
    "counter",
    "workflow",
    "Sessions ended, by outcome: contained (the AI held it to the end, no handoff) or handed_off. Containment is"
    " contained / all.",
    labels=(ORG, "outcome"),
    values={"outcome": ("contained", "handed_off")},
)
HANDOFFS_REQUESTED = MetricDef(
    "wafh_handoffs_requested_total",
    "counter",
    "workflow",
    "Handoffs asked for, by reason: customer_asked, ai_decided (intent, sentiment, unanswered), ai_unavailable (the"
    " AI failing or its offer lost), operator (admin API).",
    labels=(ORG, "reason"),
    values={"reason": HANDOFF_REASONS},
)
HANDOFFS = MetricDef(
    "wafh_handoffs_total",
    "counter",
    "workflow",
    "Handoff rounds by outcome: handed_off (the task is with the humans), retrying (a round failed: stuck until it"
    " succeeds), gave_up (every round failed).",
    labels=(ORG, "outcome"),
    values={"outcome": ("handed_off", "retrying", "gave_up")},
)
HANDOFF_SECONDS_METRIC = MetricDef(
    "wafh_handoff_seconds",
    "histogram",
    "workflow",
    "Handoff latency: the decision to hand off → the task in the human queue (retried rounds included).",
    buckets=HANDOFF_SECONDS,
)
QUEUE_WAIT_SECONDS = MetricDef(
    "wafh_queue_wait_seconds",
    "histogram",
    "workflow",
    "Queue wait: the task in the human queue → a rep accepts it (the org's queue SLA counts from the same start).",
    buckets=REP_SECONDS,
)
REP_FIRST_RESPONSE_SECONDS = MetricDef(
    "wafh_rep_first_response_seconds",
    "histogram",
    "workflow",
    "Rep first response: a rep accepts → their first message relayed to WhatsApp.",
    buckets=REP_SECONDS,
)
TIME_TO_FIRST_REPLY_SECONDS = MetricDef(
    "wafh_time_to_first_reply_seconds",
    "histogram",
    "workflow",
    "Time to first reply: a session's first contact message → the first reply Twilio accepted for WhatsApp, by who"
    " replied (ai or rep).",
    labels=(ORG, "by"),
    values={"by": ("ai", "rep")},
    buckets=FIRST_REPLY_SECONDS,
)
REP_REPLIES_REFUSED = MetricDef(
    "wafh_rep_replies_refused_total",
    "counter",
    "workflow",
    "Rep replies refused before sending: the 24-hour window is closed (the rep gets a notice to use a template).",
)
TEMPLATES_SENT = MetricDef(
    "wafh_templates_sent_total",
    "counter",
    "workflow",
    "Approved templates sent (a rep's /template command or the admin API).",
)
DELIVERY_FAILURES = MetricDef(
    "wafh_whatsapp_delivery_failures_total",
    "counter",
    "workflow",
    "Sent messages that ended failed or undelivered, by Twilio error code (status callback or read back).",
    labels=(ORG, "error_code"),
)
SEND_REFUSALS = MetricDef(
    "wafh_whatsapp_send_refusals_total",
    "counter",
    "activity",
    "Sends Twilio refused outright (HTTP 4xx), by Twilio error code: 63016 is a free-form message outside the window.",
    labels=(ORG, "error_code"),
)
NOTICES_POSTED = MetricDef(
    "wafh_notices_posted_total",
    "counter",
    "workflow",
    "Notices for reps (in Flex, never WhatsApp), by kind.",
    labels=(ORG, "kind"),
    values={"kind": NOTICE_KINDS},
)
STUCK_HANDOFFS = MetricDef(
    "wafh_stuck_handoffs",
    "gauge",
    "api",
    "Running conversations flagged stuck (HandoffStuck = true), from Temporal visibility.",
)
QUEUED_CONVERSATIONS = MetricDef(
    "wafh_queued_conversations",
    "gauge",
    "api",
    "Running conversations waiting in the human queue (ConversationState = 'queued'), from Temporal visibility.",
)
ORG_QUEUE_SLA_SECONDS = MetricDef(
    "wafh_org_queue_sla_seconds",
    "gauge",
    "api",
    "The org's queue SLA from the orgs file (queue_sla_seconds): the alert on queue wait compares against it.",
)
VISIBILITY_ERRORS = MetricDef(
    "wafh_visibility_errors_total",
    "counter",
    "api",
    "Visibility counts that failed: the stuck and queued gauges keep their last value meanwhile.",
    labels=(),
)
WEBHOOKS = MetricDef(
    "wafh_webhooks_total",
    "counter",
    "api",
    "Twilio webhooks by route and outcome. org is the path's org when it is configured, else 'unknown'.",
    labels=(ORG, "route", "outcome"),
    values={"route": WEBHOOK_ROUTES, "outcome": WEBHOOK_OUTCOMES},
)
WEBHOOK_ACK_SECONDS = MetricDef(
    "wafh_webhook_ack_seconds",
    "histogram",
    "api",
    "Time to answer a Twilio webhook (Twilio gives up after 5 s for Conversations, 15 s for the others).",
    labels=(ORG, "route"),
    values={"route": WEBHOOK_ROUTES},
    buckets=ACK_SECONDS,
)
QUEUE_POSITION_UPDATES = MetricDef(
    "wafh_queue_position_updates_total",
    "counter",
    "workflow",
    "Queue-position updates sent to waiting contacts.",
)
AFTER_HOURS_HANDOFFS = MetricDef(
    "wafh_after_hours_handoffs_total",
    "counter",
    "workflow",
    "Handoffs asked for outside the org's opening hours.",
)
CSAT_ANSWERS = MetricDef(
    "wafh_csat_answers_total",
    "counter",
    "workflow",
    "Customer-satisfaction answers by score (1-5).",
    labels=(ORG, "score"),
    values={"score": ("1", "2", "3", "4", "5")},
)

CATALOGUE: tuple[MetricDef, ...] = (
    CONVERSATIONS_OPENED,
    AI_TURNS,
    AI_TURN_SECONDS,
    SESSIONS_ENDED,
    HANDOFFS_REQUESTED,
    HANDOFFS,
    HANDOFF_SECONDS_METRIC,
    QUEUE_WAIT_SECONDS,
    REP_FIRST_RESPONSE_SECONDS,
    TIME_TO_FIRST_REPLY_SECONDS,
    REP_REPLIES_REFUSED,
    TEMPLATES_SENT,
    DELIVERY_FAILURES,
    SEND_REFUSALS,
    NOTICES_POSTED,
    STUCK_HANDOFFS,
    QUEUED_CONVERSATIONS,
    ORG_QUEUE_SLA_SECONDS,
    VISIBILITY_ERRORS,
    WEBHOOKS,
    WEBHOOK_ACK_SECONDS,
    QUEUE_POSITION_UPDATES,
    AFTER_HOURS_HANDOFFS,
    CSAT_ANSWERS,
)
BY_NAME: dict[str, MetricDef] = {m.name: m for m in CATALOGUE}

# Series of others that the alert rules and the dashboard use: Prometheus's own `up` and the Temporal SDK's
# poller gauge (exported by the worker's runtime).
SCRAPE_UP = "up"
SDK_NUM_POLLERS = "temporal_num_pollers"
EXTERNAL_SERIES = (SCRAPE_UP, SDK_NUM_POLLERS)
# Prometheus job names (docker-compose's Prometheus, the end-to-end test's): alert rules select on them.
API_JOB = "wafh-api"
WORKER_JOB = "wafh-worker"


def series_owner(series: str) -> MetricDef | None:
    """The catalogue metric a stored series belongs to (`x_bucket` → `x`), or None."""
    if series in BY_NAME:
        return BY_NAME[series]
    for suffix in ("_bucket", "_sum", "_count"):
        base = series.removesuffix(suffix)
        if base != series and base in BY_NAME and BY_NAME[base].kind == "histogram":
            return BY_NAME[base]
    return None


def histogram_buckets() -> dict[str, list[float]]:
    """Bucket boundaries by metric name, for the worker's Prometheus runtime (`histogram_bucket_overrides`)."""
    return {m.name: list(m.buckets) for m in CATALOGUE if m.kind == "histogram" and m.emitter != "api"}
