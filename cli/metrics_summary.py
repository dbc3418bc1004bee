"""The headline figures of a `run` read from its metrics: time to first reply, queue wait, AI containment.

`run` starts the worker with its Prometheus endpoint and records both metrics URLs in run.json; `demo` takes a
snapshot before its conversation and one after, and prints the figures of the difference: its own conversation's,
even against a `run` that has served others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from contracts import metrics as m

# The worker's metrics port under `run` (WAFH_METRICS_PORT; a free one with --free-ports).
WORKER_METRICS_PORT = 9464
SCRAPE_TIMEOUT = 5.0

Labels = frozenset[tuple[str, str]]


class MetricsUnavailable(Exception):
    """A metrics endpoint did not answer or answered something that is not Prometheus text."""


@dataclass(frozen=True)
class Snapshot:
    """Every sample of the scraped endpoints, by series name and labels."""

    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def total(self, series: str, **labels: str) -> float:
        """The sum over every series of that name whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (name, have), v in self.samples.items() if name == series and wanted <= have)

    def minus(self, before: Snapshot | None) -> Snapshot:
        if before is None:
            return self
        return Snapshot({key: value - before.samples.get(key, 0.0) for key, value in self.samples.items()})


@dataclass(frozen=True)
class HeadlineFigures:
    first_replies: int
    mean_first_reply_seconds: float | None
    queue_waits: int
    mean_queue_wait_seconds: float | None
    sessions_ended: int
    containment: float | None  # contained / ended


def parse(text: str) -> Snapshot:
    samples: dict[tuple[str, Labels], float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                samples[key] = samples.get(key, 0.0) + sample.value
    except ValueError as exc:
        raise MetricsUnavailable(f"not Prometheus text: {exc}") from None
    return Snapshot(samples)


def scrape(*urls: str, timeout: float = SCRAPE_TIMEOUT) -> Snapshot:
    """Every endpoint's samples in one snapshot (the API's and the worker's names do not overlap)."""
    merged: dict[tuple[str, Labels], float] = {}
    for url in urls:
        try:
            response = httpx.get(url, timeout=timeout)
        except httpx.HTTPError as exc:
            raise MetricsUnavailable(f"{url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise MetricsUnavailable(f"{url}: HTTP {response.status_code}")
        merged.update(parse(response.text).samples)
    return Snapshot(merged)


def _mean(snapshot: Snapshot, metric: m.MetricDef, **labels: str) -> tuple[int, float | None]:
    count = snapshot.total(f"{metric.name}_count", **labels)
    total = snapshot.total(f"{metric.name}_sum", **labels)
    return round(count), (total / count if count > 0 else None)


def headline(snapshot: Snapshot, org: str | None = None) -> HeadlineFigures:
    labels = {m.ORG: org} if org else {}
    first_replies, first_reply = _mean(snapshot, m.TIME_TO_FIRST_REPLY_SECONDS, **labels)
    queue_waits, queue_wait = _mean(snapshot, m.QUEUE_WAIT_SECONDS, **labels)
    ended = snapshot.total(m.SESSIONS_ENDED.name, **labels)
    contained = snapshot.total(m.SESSIONS_ENDED.name, outcome="contained", **labels)
    return HeadlineFigures(
        first_replies=first_replies,
        mean_first_reply_seconds=first_reply,
        queue_waits=queue_waits,
        mean_queue_wait_seconds=queue_wait,
        sessions_ended=round(ended),
        containment=contained / ended if ended > 0 else None,
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "none yet"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def describe(figures: HeadlineFigures) -> list[str]:
    containment = "no session ended" if figures.containment is None else f"{figures.containment:.0%}"
    return [
        f"time to first reply: {_seconds(figures.mean_first_reply_seconds)} (mean of {figures.first_replies})",
        f"queue wait: {_seconds(figures.mean_queue_wait_seconds)} (mean of {figures.queue_waits})",
        f"AI containment: {containment} ({figures.sessions_ended} session(s) ended)",
    ]


def metrics_urls(api_url: str, worker_metrics_url: str | None) -> str:
    """What `run` prints: where Prometheus scrapes the API and the worker."""
    worker = worker_metrics_url or "not exported (WAFH_METRICS_PORT unset)"
    return f"Metrics: API {api_url}/metrics, worker {worker}"


def snapshot_of_run(api_url: str, worker_metrics_url: str | None) -> Snapshot | None:
    """The run's metrics now; None when the worker exports none or an endpoint does not answer."""
    if worker_metrics_url is None:
        return None
    try:
        return scrape(f"{api_url}/metrics", worker_metrics_url)
    except MetricsUnavailable:
        return None


def print_headline(console: Console, api_url: str, worker_metrics_url: str | None, before: Snapshot | None) -> None:
    """The figures since `before` (a demo's own conversation), read from the run's metrics."""
    after = snapshot_of_run(api_url, worker_metrics_url)
    if after is None:
        console.print("[dim]Headline figures: the run's metrics are not available.[/dim]")
        return
    console.print("\n[bold]Headline figures of this run[/bold] (from its metrics)")
    for line in describe(headline(after.minus(before))):
        console.print(f"  {line}")
