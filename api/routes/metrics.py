"""`GET /metrics`: the API's metrics for Prometheus (the worker serves its own on WAFH_METRICS_PORT)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.metrics import ApiMetrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    api_metrics: ApiMetrics = request.app.state.metrics
    orgs = api_metrics.refresh_orgs()
    await api_metrics.refresh_visibility(request.app.state.temporal, orgs)
    return Response(generate_latest(api_metrics.registry), media_type=CONTENT_TYPE_LATEST)
