"""The alert rules: generated from the code, valid for `promtool check rules`, and firing (or not) on made-up
series as `promtool test rules` evaluates them. promtool is Debian's `prometheus` package (.ci/run installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import metrics as m
from observability import alerts, generate, promql


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool not found: install Debian's prometheus package (`apt-get install prometheus`)"
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120)


def test_checked_in_rules_are_the_generated_ones() -> None:
    text = generate.rendered()[generate.ALERTS_FILE]
    assert generate.ALERTS_FILE.read_text() == text, "run `python -m observability.generate`"
    assert yaml.safe_load(text) == alerts.rules_document()


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    checked = run_promtool("check", "rules", str(generate.ALERTS_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alerts.ALERTS)} rules found" in checked.stdout
    broken = tmp_path / "broken.yml"
    document = alerts.rules_document()
    document["groups"][0]["rules"][0]["expr"] = "max by (org) (wafh_stuck_handoffs > 0"
    broken.write_text(yaml.safe_dump(document))
    refused = run_promtool("check", "rules", str(broken))
    assert refused.returncode != 0 and "FAILED" in refused.stdout + refused.stderr


def test_promtool_checks_the_compose_prometheus_config(tmp_path: Path) -> None:
    config = yaml.safe_load((generate.ROOT / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(generate.ALERTS_FILE)]  # mounted at /etc/prometheus in compose
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    checked = run_promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_rule_reads_catalogue_metrics_only_and_links_its_runbook() -> None:
    readme = (generate.ROOT.parent / "README.md").read_text()
    for alert in alerts.ALERTS:
        read = promql.owners(alert.expr)
        assert read, alert.name
        assert f"#### {alert.name}" in readme, f"README has no section for {alert.name}"


def test_an_unknown_metric_in_an_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="wafh_nobody_emits_this"):
        promql.owners('sum(rate(wafh_nobody_emits_this{org="a"}[5m]))')
    assert promql.owners('sum(rate(wafh_webhooks_total{outcome="wafh_x"}[5m]))') == {m.WEBHOOKS.name}


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _firing(alert: str, at: str, *orgs: str, **extra: str) -> dict[str, Any]:
    severity = next(a.severity for a in alerts.ALERTS if a.name == alert)
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [{"exp_labels": {"severity": severity, **({"org": o} if o else {}), **extra}} for o in orgs],
    }


def _rule_tests() -> list[dict[str, Any]]:
    le_bounds = [*(str(b) for b in m.QUEUE_WAIT_SECONDS.buckets), "+Inf"]

    def queue_waits(org: str, slow: bool) -> list[dict[str, str]]:
        # 10 waits a minute: all between 15 and 30 minutes (slow), or all under a minute.
        limit = 1800.0 if slow else 60.0
        return [
            _series(
                f"{m.QUEUE_WAIT_SECONDS.name}_bucket",
                {"org": org, "le": le},
                "0+10x40" if le == "+Inf" or float(le) >= limit else "0x40",
            )
            for le in le_bounds
        ]

    webhooks = m.WEBHOOKS.name
    return [
        {
            "interval": "1m",
            "input_series": [
                _series(m.STUCK_HANDOFFS.name, {"org": "acme"}, "0 0 1x20"),
                _series(m.STUCK_HANDOFFS.name, {"org": "calm"}, "0x22"),
            ],
            "alert_rule_test": [
                _firing("WafhStuckHandoffs", "8m"),  # stuck, not yet for 10 minutes
                _firing("WafhStuckHandoffs", "13m", "acme"),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                *queue_waits("acme", slow=True),
                *queue_waits("calm", slow=False),
                _series(m.ORG_QUEUE_SLA_SECONDS.name, {"org": "acme"}, "300x40"),
                _series(m.ORG_QUEUE_SLA_SECONDS.name, {"org": "calm"}, "300x40"),
            ],
            "alert_rule_test": [
                _firing("WafhQueueWaitOverSla", "10m"),
                _firing("WafhQueueWaitOverSla", "30m", "acme"),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                _series(m.DELIVERY_FAILURES.name, {"org": "acme", "error_code": "63024"}, "0+3x40"),
                _series(m.DELIVERY_FAILURES.name, {"org": "calm", "error_code": "63024"}, "0+0.5x40"),
            ],
            "alert_rule_test": [_firing("WafhDeliveryFailures", "35m", "acme")],
        },
        {
            "interval": "1m",
            "input_series": [
                _series(webhooks, {"org": "acme", "route": "whatsapp", "outcome": "signalled"}, "0+10x20"),
                _series(webhooks, {"org": "acme", "route": "whatsapp", "outcome": "refused_signature"}, "0+5x20"),
                _series(webhooks, {"org": "calm", "route": "whatsapp", "outcome": "signalled"}, "0+10x20"),
                _series(webhooks, {"org": "calm", "route": "whatsapp", "outcome": "refused_malformed"}, "0+5x20"),
            ],
            # A malformed body is not a misconfiguration: only acme's bad signatures page.
            "alert_rule_test": [_firing("WafhWebhookRefusals", "3m"), _firing("WafhWebhookRefusals", "15m", "acme")],
        },
        {
            "interval": "1m",
            "input_series": [_series(m.SCRAPE_UP, {"job": m.WORKER_JOB, "instance": "w1"}, "0x10")],
            "alert_rule_test": [_firing("WafhNoWorkerPolling", "5m", "")],
        },
        {
            "interval": "1m",
            "input_series": [
                _series(m.SCRAPE_UP, {"job": m.WORKER_JOB, "instance": "w1"}, "1x10"),
                _series(m.SDK_NUM_POLLERS, {"job": m.WORKER_JOB, "poller_type": "workflow_task"}, "0x10"),
            ],
            "alert_rule_test": [_firing("WafhNoWorkerPolling", "5m", "")],
        },
        {
            "interval": "1m",
            "input_series": [
                _series(m.SCRAPE_UP, {"job": m.WORKER_JOB, "instance": "w1"}, "1x10"),
                _series(m.SDK_NUM_POLLERS, {"job": m.WORKER_JOB, "poller_type": "workflow_task"}, "5x10"),
            ],
            "alert_rule_test": [_firing("WafhNoWorkerPolling", "5m")],
        },
    ]


def test_rules_fire_on_what_hurts_and_stay_quiet_otherwise(tmp_path: Path) -> None:
    # promtool compares annotations too: the rules under test are the generated ones without them.
    document = alerts.rules_document()
    for rule in document["groups"][0]["rules"]:
        rule.pop("annotations")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": _rule_tests()}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    passed = run_promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # The same tests against rules that never fire must fail: the expectations above are real.
    for rule in document["groups"][0]["rules"]:
        rule["expr"] = "vector(0) > 1"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    failed = run_promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert failed.returncode != 0
