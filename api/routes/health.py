"""`GET /healthz` (process up) and `GET /readyz` (Temporal reachable and orgs loaded)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api.deps import OrgsDep
from api.models import Health, Readiness

router = APIRouter(tags=["health"])

_READY_TIMEOUT = timedelta(seconds=3)


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, orgs: OrgsDep) -> JSONResponse:
    client: Client | None = request.app.state.temporal
    reachable, detail = await _temporal_reachable(client)
    if len(orgs) == 0:
        detail = "no orgs loaded"
    ready = reachable and len(orgs) > 0
    body = Readiness(ready=ready, temporal=reachable, orgs=len(orgs), detail=None if ready else detail)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _temporal_reachable(client: Client | None) -> tuple[bool, str | None]:
    if client is None:
        return False, "Temporal client not connected"
    try:
        ok = await asyncio.wait_for(
            client.service_client.check_health(timeout=_READY_TIMEOUT), _READY_TIMEOUT.total_seconds() + 0.5
        )
    except Exception as exc:  # any failure means "not ready"; the reason is reported, never raised
        return False, f"Temporal unreachable ({type(exc).__name__})"
    return (True, None) if ok else (False, "Temporal health check failed")
