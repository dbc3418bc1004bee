"""The Grafana dashboard, built with the Grafana Foundation SDK from the catalogue's names.

Rows: traffic, AI, handoffs and queue, reps and window, delivery, webhooks. Every query filters on the `$org`
variable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from contracts import metrics as m

UID = "wa-flex-handoff"
TITLE = "wa-flex-handoff: the floor"
DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
ORG = 'org=~"$org"'
CONTAINED = 'outcome="contained"'


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: Literal["timeseries", "stat"] = "timeseries"
    description: str = ""
    width: int = 8


def sel(metric: m.MetricDef | str, extra: str = "", suffix: str = "") -> str:
    name = metric.name if isinstance(metric, m.MetricDef) else metric
    return f"{name}{suffix}{{{ORG}{', ' + extra if extra else ''}}}"


def rate(metric: m.MetricDef, by: str, extra: str = "") -> str:
    return f"sum by ({by}) (rate({sel(metric, extra)}[$__rate_interval]))"


def quantile(metric: m.MetricDef, q: float, by: str = "org") -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({sel(metric, suffix='_bucket')}[$__rate_interval])))"


def over_range(metric: m.MetricDef, extra: str = "") -> str:
    return f"sum(increase({sel(metric, extra)}[$__range]))"


def counts(metric: m.MetricDef, title: str, by: str) -> Panel:
    """One counter's rate, split by `by` (comma-separated labels), described by the metric's help."""
    legend = " ".join("{{" + label.strip() + "}}" for label in by.split(","))
    return Panel(title, ((rate(metric, by), legend),), unit="ops", description=metric.help)


def latency(metric: m.MetricDef, title: str, description: str, by: str = "org") -> Panel:
    return Panel(
        title,
        ((quantile(metric, 0.5, by), "p50 {{" + by + "}}"), (quantile(metric, 0.95, by), "p95 {{" + by + "}}")),
        unit="s",
        description=description,
    )


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    (
        "Traffic",
        (
            counts(m.CONVERSATIONS_OPENED, "Sessions opened", "org"),
            counts(m.SESSIONS_ENDED, "Sessions ended", "org, outcome"),
            latency(
                m.TIME_TO_FIRST_REPLY_SECONDS,
                "Time to first reply",
                m.TIME_TO_FIRST_REPLY_SECONDS.help,
            ),
        ),
    ),
    (
        "AI",
        (
            Panel(
                "AI containment",
                (
                    (
                        over_range(m.SESSIONS_ENDED, CONTAINED) + " / " + over_range(m.SESSIONS_ENDED),
                        "contained",
                    ),
                ),
                unit="percentunit",
                kind="stat",
                description="Sessions the AI held to the end without a handoff, of all sessions ended in the range.",
            ),
            counts(m.AI_TURNS, "AI turns", "outcome"),
            latency(m.AI_TURN_SECONDS, "AI turn latency", m.AI_TURN_SECONDS.help),
        ),
    ),
    (
        "Handoffs and queue",
        (
            counts(m.HANDOFFS_REQUESTED, "Handoffs requested", "reason"),
            counts(m.HANDOFFS, "Handoff rounds", "outcome"),
            latency(m.HANDOFF_SECONDS_METRIC, "Handoff latency", m.HANDOFF_SECONDS_METRIC.help),
            Panel(
                "Queue wait against the SLA",
                (
                    (quantile(m.QUEUE_WAIT_SECONDS, 0.95), "p95 {{org}}"),
                    (f"max by (org) ({sel(m.ORG_QUEUE_SLA_SECONDS)})", "SLA {{org}}"),
                ),
                unit="s",
                description=m.QUEUE_WAIT_SECONDS.help,
            ),
            Panel(
                "Queued and stuck now",
                (
                    (f"max by (org) ({sel(m.QUEUED_CONVERSATIONS)})", "queued {{org}}"),
                    (f"max by (org) ({sel(m.STUCK_HANDOFFS)})", "stuck {{org}}"),
                    (f"sum(increase({m.VISIBILITY_ERRORS.name}[$__rate_interval]))", "counts failed"),
                ),
                # max, not sum: every API replica counts the same conversations.
                description=f"{m.QUEUED_CONVERSATIONS.help} {m.STUCK_HANDOFFS.help} {m.VISIBILITY_ERRORS.help}",
            ),
            Panel(
                "After-hours handoffs; queue-position updates",
                (
                    (rate(m.AFTER_HOURS_HANDOFFS, "org"), "after hours {{org}}"),
                    (rate(m.QUEUE_POSITION_UPDATES, "org"), "position updates {{org}}"),
                ),
                unit="ops",
                description=f"{m.AFTER_HOURS_HANDOFFS.help} {m.QUEUE_POSITION_UPDATES.help}",
            ),
        ),
    ),
    (
        "Reps and window",
        (
            latency(m.REP_FIRST_RESPONSE_SECONDS, "Rep first response", m.REP_FIRST_RESPONSE_SECONDS.help),
            Panel(
                "Replies refused (window); templates sent",
                (
                    (rate(m.REP_REPLIES_REFUSED, "org"), "refused {{org}}"),
                    (rate(m.TEMPLATES_SENT, "org"), "templates {{org}}"),
                ),
                unit="ops",
                description=f"{m.REP_REPLIES_REFUSED.help} {m.TEMPLATES_SENT.help}",
            ),
            Panel(
                "CSAT answers",
                ((rate(m.CSAT_ANSWERS, "score"), "score {{score}}"),),
                unit="ops",
                description=m.CSAT_ANSWERS.help,
            ),
        ),
    ),
    (
        "Delivery",
        (
            counts(m.DELIVERY_FAILURES, "Delivery failures by error code", "error_code"),
            counts(m.SEND_REFUSALS, "Sends refused by error code", "error_code"),
            counts(m.NOTICES_POSTED, "Notices posted for reps", "kind"),
        ),
    ),
    (
        "Webhooks",
        (
            counts(m.WEBHOOKS, "Webhooks by outcome", "route, outcome"),
            latency(m.WEBHOOK_ACK_SECONDS, "Webhook ack latency", m.WEBHOOK_ACK_SECONDS.help, by="route"),
            Panel(
                "Workers polling",
                (
                    (
                        f'sum({m.SDK_NUM_POLLERS}{{job="{m.WORKER_JOB}", poller_type="workflow_task"}})',
                        "workflow pollers",
                    ),
                    (f'sum({m.SCRAPE_UP}{{job="{m.WORKER_JOB}"}})', "workers up"),
                ),
                description="Workers Prometheus reaches, and their workflow-task pollers (the SDK's gauge).",
            ),
        ),
    ),
)


def _panel(panel: Panel) -> Any:
    builder: Any = timeseries.Panel() if panel.kind == "timeseries" else stat.Panel()
    builder = builder.title(panel.title).description(panel.description).unit(panel.unit).span(panel.width).height(7)
    builder = builder.datasource(DATASOURCE)
    for i, (expr, legend) in enumerate(panel.queries):
        builder = builder.with_target(prometheus.Dataquery().expr(expr).legend_format(legend).ref_id("ABCDEFGH"[i]))
    return builder.min(0)


def build() -> dict[str, Any]:
    board = (
        gd.Dashboard(TITLE)
        .uid(UID)
        .tags(["wa-flex-handoff", "generated"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(
            gd.QueryVariable("org")
            .label("org")
            .datasource(DATASOURCE)
            .query(f"label_values({m.CONVERSATIONS_OPENED.name}, org)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
        )
    )
    for title, panels in ROWS:
        board = board.with_row(gd.Row(title))
        for panel in panels:
            board = board.with_panel(_panel(panel))
    built: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return built


def panels_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a dashboard document, rows' own panels included."""
    found: list[dict[str, Any]] = []
    for panel in document.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found
