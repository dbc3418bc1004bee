"""The API's metrics (prometheus-client, one registry per app): webhooks by route and outcome, their ack latency,
the orgs' queue SLAs, and the stuck/queued gauges counted from Temporal visibility.

Stuck and queued come from visibility (`HandoffStuck`, `ConversationState`, `OrgId` search attributes), not from
the workflows: they stay right across worker restarts and with any number of workers (docs/DESIGN.md "Metrics").
The counts run when Prometheus scrapes, at most once per `VISIBILITY_CACHE` (two count queries per org).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from temporalio.client import Client

from api.logs import log_event
from api.temporal import ADMIN_DEADLINE, call
from config.orgs import OrgRegistry
from contracts import metrics as m
from contracts.search_attributes import CONVERSATION_STATE, HANDOFF_STUCK, ORG_ID
from contracts.signals import WORKFLOW_NAME

VISIBILITY_CACHE = 10.0
# How long a scrape waits for a count in progress (Prometheus's scrape timeout is the interval, 15 s in compose).
VISIBILITY_WAIT = 0.5
# Twilio's idempotency tokens of webhooks this process signalled, to tell a redelivery (bounded: a redelivery
# comes within minutes).
MAX_TOKENS = 10_000
UNKNOWN_ORG = "unknown"

_WEBHOOK_PATH = re.compile(
    r"^/webhooks/(?P<org>[^/]+)/(?:(?P<whatsapp>whatsapp)|(?P<whatsapp_status>whatsapp/status/[^/]+)"
    r"|(?P<conversations>conversations/[^/]+)|(?P<taskrouter>taskrouter))/?$"
)


def webhook_route(path: str) -> tuple[str, str] | None:
    """(org as written in the path, route) of a webhook path; None for any other path."""
    match = _WEBHOOK_PATH.match(path)
    if match is None:
        return None
    route = next(name for name in m.WEBHOOK_ROUTES if match.group(name))
    return match.group("org"), route


def webhook_outcome(status: int, ignored: bool, refused: str | None) -> str:
    """The `outcome` label of a webhook's answer (a redelivery is told apart by the caller)."""
    if 200 <= status < 300:
        return "ignored" if ignored else "signalled"
    if status == 403:
        return "refused_wrong_org" if refused == "wrong_org" else "refused_signature"
    if status == 404:
        return "refused_unknown_org"
    if 400 <= status < 500:
        return "refused_malformed"
    return "unavailable"


class ApiMetrics:
    def __init__(self, orgs: Callable[[], OrgRegistry]) -> None:
        self.orgs = orgs
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.webhooks = Counter(m.WEBHOOKS.name, m.WEBHOOKS.help, m.WEBHOOKS.labels, registry=reg)
        ack = m.WEBHOOK_ACK_SECONDS
        self.ack = Histogram(ack.name, ack.help, ack.labels, buckets=ack.buckets, registry=reg)
        sla = m.ORG_QUEUE_SLA_SECONDS
        self.sla = Gauge(sla.name, sla.help, sla.labels, registry=reg)
        self.stuck = Gauge(m.STUCK_HANDOFFS.name, m.STUCK_HANDOFFS.help, m.STUCK_HANDOFFS.labels, registry=reg)
        queued = m.QUEUED_CONVERSATIONS
        self.queued = Gauge(queued.name, queued.help, queued.labels, registry=reg)
        errors = m.VISIBILITY_ERRORS
        self.visibility_errors = Counter(errors.name, errors.help, errors.labels, registry=reg)
        self._tokens: OrderedDict[str, None] = OrderedDict()
        self.cache_seconds = VISIBILITY_CACHE
        self._counted_at: float | None = None
        self._counting: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ webhooks
    def org_label(self, org: str) -> str:
        """The path's org when configured; anything else is one label value (the path is the caller's)."""
        return org if self.orgs().get(org) is not None else UNKNOWN_ORG

    def webhook_answered(
        self, org: str, route: str, status: int, ignored: bool, refused: str | None, token: str | None, seconds: float
    ) -> str:
        outcome = webhook_outcome(status, ignored, refused)
        if outcome == "signalled" and token:
            if token in self._tokens:
                outcome = "duplicate"
                self._tokens.move_to_end(token)
            else:
                self._tokens[token] = None
                if len(self._tokens) > MAX_TOKENS:
                    self._tokens.popitem(last=False)
        label = self.org_label(org)
        self.webhooks.labels(org=label, route=route, outcome=outcome).inc()
        self.ack.labels(org=label, route=route).observe(seconds)
        return outcome

    # ------------------------------------------------------------------ at scrape
    def refresh_orgs(self) -> list[str]:
        """The SLA per configured org, and every webhook series of those orgs at zero; the org names."""
        registry = self.orgs()
        names = registry.names()
        self.sla.clear()
        for name in names:
            org = registry.get(name)
            assert org is not None
            self.sla.labels(org=name).set(org.policy().queue_sla_seconds)
            for route in m.WEBHOOK_ROUTES:
                self.ack.labels(org=name, route=route)
                for outcome in m.WEBHOOK_OUTCOMES:
                    self.webhooks.labels(org=name, route=route, outcome=outcome)
        return names

    async def refresh_visibility(self, client: Client | None, orgs: list[str]) -> None:
        """Stuck and queued per org, counted again when the last count is older than `cache_seconds`. A scrape
        waits at most VISIBILITY_WAIT for the count: a slow one goes on in the background and its values are in a
        later scrape (a scrape that outlasts Prometheus's timeout would lose every metric of the API)."""
        now = time.monotonic()
        stale = self._counted_at is None or now - self._counted_at >= self.cache_seconds
        if client is not None and stale and self._counting is None:
            self._counting = asyncio.create_task(self._count_all(client, orgs, now))
        if self._counting is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._counting), VISIBILITY_WAIT)

    async def _count_all(self, client: Client, orgs: list[str], started: float) -> None:
        try:
            stuck, queued = await asyncio.gather(
                asyncio.gather(*(self._count(client, org, f"{HANDOFF_STUCK.name} = true") for org in orgs)),
                asyncio.gather(*(self._count(client, org, f"{CONVERSATION_STATE.name} = 'queued'") for org in orgs)),
            )
        except Exception as exc:  # a scrape never fails for it: the gauges keep their last values
            self.visibility_errors.inc()
            log_event("metrics.visibility_failed", error=type(exc).__name__)
            return
        finally:
            self._counting = None
        self._counted_at = started
        self.stuck.clear()
        self.queued.clear()
        for org, s, q in zip(orgs, stuck, queued, strict=True):
            self.stuck.labels(org=org).set(s)
            self.queued.labels(org=org).set(q)

    @staticmethod
    async def _count(client: Client, org: str, condition: str) -> int:
        query = (
            f"WorkflowType = '{WORKFLOW_NAME}' AND ExecutionStatus = 'Running' "
            f"AND {ORG_ID.name} = '{org}' AND {condition}"
        )
        result = await call(client.count_workflows(query, rpc_timeout=ADMIN_DEADLINE), ADMIN_DEADLINE)
        return int(result.count)
