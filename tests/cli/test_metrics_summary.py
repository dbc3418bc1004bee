"""The headline figures `demo` prints, computed from Prometheus text as the worker and the API serve it."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from rich.console import Console

from cli.metrics_summary import (
    MetricsUnavailable,
    Snapshot,
    describe,
    headline,
    metrics_urls,
    parse,
    print_headline,
    scrape,
)
from cli.net import free_port
from contracts import metrics as m


class Floor:
    """The catalogue's metrics in a registry of their own, rendered as an endpoint would."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.first_reply = self._histogram(m.TIME_TO_FIRST_REPLY_SECONDS)
        self.queue_wait = self._histogram(m.QUEUE_WAIT_SECONDS)
        self.ended = Counter(m.SESSIONS_ENDED.name, "c", m.SESSIONS_ENDED.labels, registry=r)

    def _histogram(self, spec: m.MetricDef) -> Histogram:
        return Histogram(spec.name, "h", spec.labels, buckets=spec.buckets, registry=self.registry)

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def test_figures_of_the_difference_between_two_snapshots() -> None:
    floor = Floor()
    floor.first_reply.labels(org="demo", by="ai").observe(30)
    floor.queue_wait.labels(org="demo").observe(600)
    floor.ended.labels(org="demo", outcome="contained").inc(3)
    floor.ended.labels(org="other", outcome="handed_off").inc()
    before = parse(floor.text())
    assert headline(before).containment == pytest.approx(3 / 4)
    assert headline(before, org="demo").containment == 1.0

    floor.first_reply.labels(org="demo", by="ai").observe(2)
    floor.first_reply.labels(org="demo", by="rep").observe(4)
    floor.queue_wait.labels(org="demo").observe(90)
    floor.ended.labels(org="demo", outcome="handed_off").inc()
    figures = headline(parse(floor.text()).minus(before))
    assert (figures.first_replies, figures.mean_first_reply_seconds) == (2, pytest.approx(3.0))
    assert (figures.queue_waits, figures.mean_queue_wait_seconds) == (1, pytest.approx(90.0))
    assert (figures.sessions_ended, figures.containment) == (1, 0.0)
    lines = describe(figures)
    assert lines == [
        "time to first reply: 3.0 s (mean of 2)",
        "queue wait: 90.0 s (mean of 1)",
        "AI containment: 0% (1 session(s) ended)",
    ]


def test_nothing_yet_reads_as_such() -> None:
    figures = headline(Snapshot())
    assert figures.containment is None and figures.mean_queue_wait_seconds is None
    assert describe(figures)[1:] == [
        "queue wait: none yet (mean of 0)",
        "AI containment: no session ended (0 session(s) ended)",
    ]
    slow = headline(parse(_one_queue_wait(1500)))
    assert describe(slow)[1] == "queue wait: 25.0 min (mean of 1)"


def _one_queue_wait(seconds: float) -> str:
    floor = Floor()
    floor.queue_wait.labels(org="demo").observe(seconds)
    return floor.text()


def test_unreachable_or_broken_endpoints_are_refused_clearly() -> None:
    with pytest.raises(MetricsUnavailable, match="ConnectError"):
        scrape(f"http://127.0.0.1:{free_port()}/metrics", timeout=2)
    with pytest.raises(MetricsUnavailable, match="not Prometheus text"):
        parse("wafh_x{org=} what\n")


def test_print_headline_says_when_the_metrics_are_missing() -> None:
    console = Console(record=True, width=200)
    print_headline(console, f"http://127.0.0.1:{free_port()}", None, None)
    assert "metrics are not available" in console.export_text()
    assert (
        metrics_urls("http://h:1", None)
        == "Metrics: API http://h:1/metrics, worker not exported (WAFH_METRICS_PORT unset)"
    )
