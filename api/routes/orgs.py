"""Admin API: apply an org's edited settings (the orgs file as it is now) to its open conversations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AdminDep, OrgDep, TemporalDep
from api.logs import log_event
from api.models import ErrorBody
from api.policy_rollout import RolloutReport, apply_policy_to_open_conversations

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "No such org"},
    503: {"model": ErrorBody, "description": "Admin API disabled, or Temporal unavailable"},
}

router = APIRouter(prefix="/orgs", tags=["admin"], dependencies=[AdminDep], responses=_ERRORS)


@router.post(
    "/{org}/settings/apply",
    response_model=RolloutReport,
    summary="Apply the org's settings from the orgs file to its open conversations now",
)
async def apply_settings(org: OrgDep, client: TemporalDep) -> RolloutReport:
    report = await apply_policy_to_open_conversations(client, org.name, org.policy())
    log_event("admin.settings_applied", org=org.name, conversations=report.conversations, failed=len(report.failed))
    return report
