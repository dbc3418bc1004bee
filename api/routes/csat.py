"""Admin API: the contacts' ratings (CSAT) — a paginated list and an export as CSV or JSON. Bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api import ratings
from api.deps import AdminDep, OrgsDep, TemporalDep
from api.errors import ApiError
from api.models import ErrorBody
from contracts.csat import CsatExportQuery, CsatFilter, CsatListQuery, CsatPage

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "No such org"},
    422: {"model": ErrorBody, "description": "Invalid parameter (named in `field`), or an export too large"},
    503: {"model": ErrorBody, "description": "Admin API disabled, or Temporal unavailable"},
}
router = APIRouter(prefix="/csat", tags=["admin"], dependencies=[AdminDep], responses=_ERRORS)


@router.get("", response_model=CsatPage, summary="List the contacts' ratings, conversation by conversation")
async def list_ratings(client: TemporalDep, orgs: OrgsDep, query: Annotated[CsatListQuery, Query()]) -> CsatPage:
    flt = _filter(query, orgs)
    token = ratings.decode_token(flt, query.page_token)
    executions, next_token = await ratings.conversations_page(client, flt, query.page_size, token)
    found = await ratings.ratings_of(client, executions, flt)
    return CsatPage(ratings=found, next_page_token=ratings.encode_token(flt, next_token) if next_token else None)


@router.get(
    "/export",
    summary="Export the contacts' ratings as CSV or JSON, oldest first",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The ratings"}},
)
async def export_ratings(client: TemporalDep, orgs: OrgsDep, query: Annotated[CsatExportQuery, Query()]) -> Response:
    flt = _filter(query, orgs)
    found = await ratings.all_ratings(client, flt)
    name = f"csat-{flt.org or 'all'}"
    if query.format == "json":
        return JSONResponse(
            [r.model_dump(mode="json") for r in found],
            headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
        )
    return Response(
        ratings.as_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _filter(query: CsatFilter, orgs: OrgsDep) -> CsatFilter:
    if query.org is not None and orgs.get(query.org) is None:
        raise ApiError(404, f"unknown org {query.org!r}", field="org")
    return CsatFilter(org=query.org, since=query.since, until=query.until)
