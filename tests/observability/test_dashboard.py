"""The Grafana dashboard: generated from the code, six rows, and every panel's query reads catalogue metrics (a
panel on a metric nobody defines fails here; one nobody emits fails the end-to-end test)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from contracts import metrics as m
from observability import dashboard, generate, promql

ROWS = ["Traffic", "AI", "Handoffs and queue", "Reps and window", "Delivery", "Webhooks"]


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(generate.DASHBOARD_FILE.read_text())
    return document


def test_checked_in_dashboard_is_the_generated_one(board: dict[str, Any]) -> None:
    assert generate.DASHBOARD_FILE.read_text() == generate.rendered()[generate.DASHBOARD_FILE], (
        "run `python -m observability.generate`"
    )
    assert board["uid"] == dashboard.UID and board["title"] == dashboard.TITLE


def test_generate_check_reports_a_stale_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert generate.main(["--check"]) == 0
    stale = tmp_path / "dashboard.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(generate, "DASHBOARD_FILE", stale)
    assert generate.main(["--check"]) == 1


def test_rows_in_order(board: dict[str, Any]) -> None:
    rows = [p["title"] for p in dashboard.panels_of(board) if p["type"] == "row"]
    assert rows == ROWS


def _targets(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard.panels_of(board)
        if panel["type"] != "row"
        for target in panel.get("targets", [])
    ]


def test_every_panel_queries_catalogue_metrics_filtered_by_org(board: dict[str, Any]) -> None:
    panels = [p for p in dashboard.panels_of(board) if p["type"] != "row"]
    assert len(panels) >= 18 and all(p.get("targets") for p in panels)
    for title, expr in _targets(board):
        read = promql.owners(expr)
        assert read, f"{title}: {expr} reads no metric"
        for name in read:
            metric = m.BY_NAME.get(name)
            if metric is not None and m.ORG in metric.labels:
                assert 'org=~"$org"' in expr, f"{title}: {expr} ignores the org variable"


def test_the_dashboard_shows_every_catalogue_metric(board: dict[str, Any]) -> None:
    shown = set().union(*(promql.owners(expr) for _, expr in _targets(board)))
    assert {metric.name for metric in m.CATALOGUE} <= shown, {metric.name for metric in m.CATALOGUE} - shown


def test_panels_use_the_provisioned_datasource(board: dict[str, Any]) -> None:
    provisioned = yaml.safe_load(
        (generate.ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [source] = provisioned["datasources"]
    assert source["uid"] == dashboard.DATASOURCE_UID and source["type"] == "prometheus"
    for panel in dashboard.panels_of(board):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": dashboard.DATASOURCE_UID}
