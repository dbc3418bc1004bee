"""The metrics with real parts: a `run`-style stack (dev server, sandbox, worker and API processes), Debian's
Prometheus scraping the worker and the API with the alert rules loaded, the demo conversation played, then a
second contact whose conversation meets the failures the demo does not (a send Twilio refuses, a message WhatsApp
cannot deliver). Every metric the dashboard and the alert rules read must exist in Prometheus, with the value the
two conversations imply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from rich.console import Console

from cli.demo import Demo
from cli.net import free_port
from cli.sandbox_setup import SANDBOX_ORG
from cli.stack import RunInfo, RunOptions, RunSession
from config.orgs import OrgRegistry
from contracts import metrics as m
from observability import alerts, dashboard, generate, promql
from tests.polling import eventually_sync

pytestmark = pytest.mark.e2e

# Over the 1600 characters Twilio takes in one message body: refused at the REST API (21617).
TOO_LONG = "This reply is far too long. " * 60


@dataclass
class Floor:
    info: RunInfo
    prometheus: str
    demo_output: str
    http: httpx.Client

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.prometheus}/api/v1/query", params={"query": expr})
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        """A query whose answer is one number (0 when it has no series)."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr}: more than one series: {result}"
        return float(result[0]["value"][1]) if result else 0.0

    def exists(self, name: str) -> bool:
        metric = m.BY_NAME.get(name)
        series = metric.series if metric else (name,)
        return bool(self.query(f'count({{__name__=~"{"|".join(series)}"}})'))

    def recorded(self, name: str) -> bool:
        """Something was recorded: a counter above zero, a histogram with observations, a gauge with a series.
        (Zero series exist from the worker's start: existence alone does not tell that anybody emits it.)"""
        metric = m.BY_NAME.get(name)
        if metric is not None and metric.kind == "gauge":
            return self.exists(name)
        series = f"{name}_count" if metric is not None and metric.kind == "histogram" else name
        return self.value(f'sum({{__name__="{series}"}})') > 0

    def sum_of(self, metric: m.MetricDef, suffix: str = "", **labels: str) -> float:
        selector = ", ".join(f'{k}="{v}"' for k, v in {m.ORG: SANDBOX_ORG, **labels}.items())
        return self.value(f"sum({metric.name}{suffix}{{{selector}}})")


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    assert path, "prometheus not found: install Debian's prometheus package (`apt-get install prometheus`)"
    return path


def start_prometheus(info: RunInfo, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    assert info.worker_metrics_url is not None, "run starts the worker without its metrics port"
    port = free_port()
    worker = httpx.URL(info.worker_metrics_url)
    api = httpx.URL(info.api_url)
    config = {
        "global": {"scrape_interval": "2s", "evaluation_interval": "1s"},
        "rule_files": [str(generate.ALERTS_FILE)],
        "scrape_configs": [
            {"job_name": m.API_JOB, "static_configs": [{"targets": [f"{api.host}:{api.port}"]}]},
            {"job_name": m.WORKER_JOB, "static_configs": [{"targets": [f"{worker.host}:{worker.port}"]}]},
        ],
    }
    (data / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (data / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={data / 'prometheus.yml'}",
            f"--storage.tsdb.path={data / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def second_contact(info: RunInfo, http: httpx.Client) -> None:
    """Asks for a human; the rep's first reply is too long (refused by Twilio), then the contact becomes unreachable
    and the rep's next reply is not delivered (63024); the rep wraps up."""
    demo = Demo(info, Console(quiet=True))
    sandbox = info.sandbox_url
    contact = demo.contact

    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = http.post(f"{sandbox}{path}", json=body or {})
        assert response.status_code < 400, f"{path}: {response.status_code} {response.text}"
        return response.json() if response.content else {}

    def state() -> dict[str, Any]:
        return demo.state() or {}

    try:
        sent = post(
            f"/_sandbox/contacts/{contact}/messages", {"to": demo.business, "body": "I want to talk to a human"}
        )
        assert sent["webhook_status"] == 200, sent
        eventually_sync("the second contact's handoff reaching the queue", state, lambda s: s.get("state") == "queued")

        def reservation() -> tuple[str, str, str] | None:
            for rep in demo.seed.reps:
                listed = http.get(f"{sandbox}/_sandbox/reps/{rep.name}/reservations?status=pending").json()
                for res in listed.get("reservations", []):
                    attrs = res.get("task_attributes") or {}
                    attrs = json.loads(attrs) if isinstance(attrs, str) else attrs
                    if (attrs.get("waHandoff") or {}).get("workflowId") == demo.workflow_id:
                        return rep.name, res["reservation_sid"], res["task_sid"]
            return None

        found = eventually_sync("a reservation for the second contact", reservation)
        assert found is not None
        rep, reservation_sid, task_sid = found
        post(f"/_sandbox/reps/{rep}/reservations/{reservation_sid}/accept")
        accepted = eventually_sync("the rep holding it", state, lambda s: s.get("state") == "with_rep")
        conversation = accepted["conversation_sid"]
        post(f"/_sandbox/reps/{rep}/messages", {"conversation_sid": conversation, "body": TOO_LONG})
        eventually_sync("the refused send's notice", state, lambda s: len(s.get("notices", [])) >= 1)
        post(f"/_sandbox/contacts/{contact}/reachability", {"unreachable": True})
        post(f"/_sandbox/reps/{rep}/messages", {"conversation_sid": conversation, "body": "Are you there?"})
        eventually_sync(
            "the undelivered reply recorded",
            state,
            lambda s: any(f.get("error_code") == 63024 for f in s.get("delivery_failures", [])),
        )
        post(f"/_sandbox/reps/{rep}/tasks/{task_sid}/complete")
        eventually_sync("the session ending", state, lambda s: s.get("state") == "ai" and s.get("sessions_ended") == 1)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    data = tmp_path_factory.mktemp("metrics-e2e")
    session = RunSession(RunOptions(data_dir=data / "run", free_ports=True), Console(quiet=True))
    prometheus: subprocess.Popen[bytes] | None = None
    http = httpx.Client(timeout=15)
    try:
        info = session.start()
        prometheus, url = start_prometheus(info, data)
        eventually_sync("Prometheus ready", lambda: http.get(f"{url}/-/ready").status_code == 200, within=60)
        console = Console(record=True, width=200)
        demo = Demo(info, console)
        try:
            demo.play()
        finally:
            demo.close()
        second_contact(info, http)
        floor = Floor(info, url, console.export_text(), http)
        # Scraped after the last event: the session's end is the last thing either conversation recorded.
        eventually_sync(
            "Prometheus to scrape both sessions' ends",
            lambda: floor.sum_of(m.SESSIONS_ENDED),
            lambda ended: ended == 2,
            within=60,
        )
        # Both targets healthy (the last scrape's error, if any, is in the failure message).
        eventually_sync(
            "Prometheus scraping the API and the worker",
            lambda: http.get(f"{url}/api/v1/targets").json()["data"]["activeTargets"],
            lambda targets: len(targets) == 2 and all(t["health"] == "up" for t in targets),
            within=60,
        )
        yield floor
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(30)
        http.close()
        session.stop(quiet=True)


def _referenced() -> dict[str, set[str]]:
    """Metric → the dashboard panels and alert rules that read it."""
    readers: dict[str, set[str]] = {}
    board = json.loads(generate.DASHBOARD_FILE.read_text())
    for panel in dashboard.panels_of(board):
        for target in panel.get("targets", []):
            for name in promql.owners(target["expr"]):
                readers.setdefault(name, set()).add(f"panel {panel['title']!r}")
    for alert in alerts.ALERTS:
        for name in promql.owners(alert.expr):
            readers.setdefault(name, set()).add(f"alert {alert.name}")
    return readers


# Read by the dashboard or the alerts, and zero in these two conversations: each one's emission is proven by the
# test named here. Anything else the dashboard or the alerts read must have been recorded.
ZERO_HERE = {
    m.REP_REPLIES_REFUSED.name: "the workflow's clock stays inside the window (tests/workflow/test_metrics.py)",
    m.VISIBILITY_ERRORS.name: "Temporal answers every count (tests/api/test_metrics.py)",
    m.AFTER_HOURS_HANDOFFS.name: "the demo org is always open (tests/workflow/test_metrics.py)",
}


def test_every_metric_the_dashboard_and_the_alerts_read_exists(floor: Floor) -> None:
    readers = _referenced()
    missing = {name: sorted(by) for name, by in readers.items() if not floor.exists(name)}
    assert not missing, f"read by the dashboard or the alerts, emitted by nobody: {missing}"
    silent = {name: sorted(by) for name, by in readers.items() if name not in ZERO_HERE and not floor.recorded(name)}
    assert not silent, f"read by the dashboard or the alerts, never recorded by the conversations: {silent}"
    assert all(floor.exists(name) for name in ZERO_HERE)


def _figures(f: Floor, expected: dict[str, tuple[float, m.MetricDef, str, dict[str, str]]]) -> dict[str, float]:
    return {what: f.sum_of(metric, suffix, **labels) for what, (_, metric, suffix, labels) in expected.items()}


def test_the_conversations_figures(floor: Floor) -> None:
    """The demo (A: two sessions, three handoffs' worth of AI turns, a rating, a template, a late reply) and the
    second contact (B: one session, refused and undelivered replies) imply every figure below."""
    expected: dict[str, tuple[float, m.MetricDef, str, dict[str, str]]] = {
        # A's two sessions (the second after the rating), B's one.
        "sessions opened": (3, m.CONVERSATIONS_OPENED, "", {}),
        # A's answer, A's two "a person will take over", B's one.
        "AI turns replied": (4, m.AI_TURNS, "", {"outcome": "replied"}),
        "AI turns failed": (0, m.AI_TURNS, "", {"outcome": "failed"}),
        "AI turn timings": (4, m.AI_TURN_SECONDS, "_count", {}),
        "handoffs asked by the contact": (3, m.HANDOFFS_REQUESTED, "", {"reason": "customer_asked"}),
        "handoffs asked": (3, m.HANDOFFS_REQUESTED, "", {}),
        "handed off": (3, m.HANDOFFS, "", {"outcome": "handed_off"}),
        "handoff rounds retried": (0, m.HANDOFFS, "", {"outcome": "retrying"}),
        "handoff timings": (3, m.HANDOFF_SECONDS_METRIC, "_count", {}),
        "queue waits": (3, m.QUEUE_WAIT_SECONDS, "_count", {}),
        "reps' first responses": (3, m.REP_FIRST_RESPONSE_SECONDS, "_count", {}),
        "first replies by the AI": (3, m.TIME_TO_FIRST_REPLY_SECONDS, "_count", {"by": "ai"}),
        "first replies by a rep": (0, m.TIME_TO_FIRST_REPLY_SECONDS, "_count", {"by": "rep"}),
        # A's first session and B's, each ended by the rep.
        "sessions ended with a rep": (2, m.SESSIONS_ENDED, "", {"outcome": "handed_off"}),
        "sessions contained by the AI": (0, m.SESSIONS_ENDED, "", {"outcome": "contained"}),
        # A's queue position while the reps were offline (B's handoff found a rep at once: nothing to tell).
        "queue positions sent": (1, m.QUEUE_POSITION_UPDATES, "", {}),
        "ratings": (1, m.CSAT_ANSWERS, "", {"score": "5"}),
        "templates sent": (1, m.TEMPLATES_SENT, "", {}),
        "rep replies refused": (0, m.REP_REPLIES_REFUSED, "", {}),  # the workflow's clock never left the window
        # A's late reply: Twilio took it and WhatsApp failed it outside the window (sandbox clock +25 h).
        "63016 delivery failures": (1, m.DELIVERY_FAILURES, "", {"error_code": "63016"}),
        # B's reply and B's rating question, after B became unreachable.
        "63024 delivery failures": (2, m.DELIVERY_FAILURES, "", {"error_code": "63024"}),
        "delivery failures": (3, m.DELIVERY_FAILURES, "", {}),
        "sends refused (too long)": (1, m.SEND_REFUSALS, "", {"error_code": "21617"}),
        "delivery failure notices": (3, m.NOTICES_POSTED, "", {"kind": "delivery_failed"}),
        "send failure notices": (1, m.NOTICES_POSTED, "", {"kind": "send_failed"}),
        "window warnings": (1, m.NOTICES_POSTED, "", {"kind": "window_closing"}),
        "notices": (5, m.NOTICES_POSTED, "", {}),
    }
    assert _figures(floor, expected) == {what: value for what, (value, *_) in expected.items()}
    assert 0 < floor.sum_of(m.TIME_TO_FIRST_REPLY_SECONDS, "_sum") < 90  # the AI answers in seconds


def test_the_gauges_and_the_sla(floor: Floor) -> None:
    orgs = OrgRegistry.load(floor.info.orgs_file)
    org = orgs.get(SANDBOX_ORG)
    assert org is not None
    assert floor.sum_of(m.ORG_QUEUE_SLA_SECONDS) == org.policy().queue_sla_seconds
    assert floor.sum_of(m.STUCK_HANDOFFS) == 0
    assert floor.sum_of(m.QUEUED_CONVERSATIONS) == 0
    assert floor.value(f"sum({m.VISIBILITY_ERRORS.name})") == 0


def test_the_webhooks(floor: Floor) -> None:
    f = floor
    # A's three messages and the rating button, B's one.
    assert f.sum_of(m.WEBHOOKS, route="whatsapp", outcome="signalled") == 5
    assert f.sum_of(m.WEBHOOK_ACK_SECONDS, "_count", route="whatsapp") == 5
    assert f.sum_of(m.WEBHOOKS, route="whatsapp_status", outcome="signalled") == 3  # the three failures
    assert f.sum_of(m.WEBHOOKS, route="whatsapp_status", outcome="ignored") >= 1  # queued, sent, delivered …
    assert f.sum_of(m.WEBHOOKS, route="conversations", outcome="signalled") >= 6  # the reps' six messages
    assert f.sum_of(m.WEBHOOKS, route="taskrouter", outcome="signalled") >= 6
    refused = 'outcome=~"refused_.*|unavailable"'
    assert f.value(f"sum({m.WEBHOOKS.name}{{{refused}}})") == 0


def test_the_worker_polls_and_the_rules_are_loaded(floor: Floor) -> None:
    assert floor.value(f'sum({m.SCRAPE_UP}{{job="{m.WORKER_JOB}"}})') == 1
    assert floor.value(f'sum({m.SCRAPE_UP}{{job="{m.API_JOB}"}})') == 1
    assert floor.value(f'sum({m.SDK_NUM_POLLERS}{{job="{m.WORKER_JOB}", poller_type="workflow_task"}})') >= 1
    rules = floor.http.get(f"{floor.prometheus}/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
    assert set(loaded) == {a.name for a in alerts.ALERTS}
    assert all(rule["health"] == "ok" for rule in loaded.values()), loaded
    firing = floor.query('ALERTS{alertstate="firing"}')
    assert not firing, firing


def test_the_demo_prints_its_own_headline_figures(floor: Floor) -> None:
    out = floor.demo_output
    assert "Headline figures of this run" in out
    # The demo's two sessions; the first ended with the rep, the second is still with one.
    assert "(mean of 2)" in out.split("time to first reply:")[1].splitlines()[0]
    assert "(mean of 2)" in out.split("queue wait:")[1].splitlines()[0]
    assert "AI containment: 0% (1 session(s) ended)" in out


# The webhooks panel's question, as Prometheus's own graph page answers it.
SCREENSHOT_QUERY = f"sum by (route, outcome) ({m.WEBHOOKS.name}) > 0"


def test_a_browser_shows_the_figures_on_prometheus_graph_page(floor: Floor, tmp_path: Path) -> None:
    """Debian's Chromium, headless, renders Prometheus's graph page of the run; WAFH_SCREENSHOTS=dir keeps the
    picture (the README's is made this way)."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium not found: install Debian's chromium package (`apt-get install chromium`)"
    params = {"g0.expr": SCREENSHOT_QUERY, "g0.tab": "1"}  # the console tab: one row per series
    picture = tmp_path / "metrics-prometheus.png"
    shot = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1280,640",
            "--virtual-time-budget=10000",
            f"--screenshot={picture}",
            f"{floor.prometheus}/graph?{urlencode(params)}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0 and picture.is_file(), shot.stderr[-2000:]
    data = picture.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000, len(data)  # a rendered page, not a blank one
    keep = os.environ.get("WAFH_SCREENSHOTS")
    if keep:
        shutil.copy(picture, Path(keep) / picture.name)
