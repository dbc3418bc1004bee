"""Dependency aliases (full-stack-fastapi-template style): settings, orgs, Temporal, org, signed form.

Every dependency is `async def`, though none awaits anything: FastAPI runs a plain `def` dependency on its
thread pool, and four thread hops per webhook cost a large share of the API's CPU (bench/README.md)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.contact_routing import ContactRouting
from api.errors import ApiError, TemporalUnavailable
from api.forms import Fields, parse_body, read_body
from api.signature import SIGNATURE_HEADER, verify_signature
from config.orgs import Org, OrgRegistry, OrgsSource
from config.settings import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_orgs(request: Request) -> OrgRegistry:
    source: OrgsSource = request.app.state.orgs
    return source.current()


async def get_temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise TemporalUnavailable("not connected")
    return client


async def get_contact_routing(request: Request) -> ContactRouting:
    routing: ContactRouting = request.app.state.contact_routing
    return routing


async def get_now() -> datetime:
    return datetime.now(UTC)


SettingsDep = Annotated[Settings, Depends(get_settings)]
OrgsDep = Annotated[OrgRegistry, Depends(get_orgs)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
NowDep = Annotated[datetime, Depends(get_now)]
ContactRoutingDep = Annotated[ContactRouting, Depends(get_contact_routing)]


async def get_org(org: str, orgs: OrgsDep) -> Org:
    found = orgs.get(org)
    if found is None:
        raise ApiError(404, f"unknown org {org[:64]!r}")
    return found


OrgDep = Annotated[Org, Depends(get_org)]


async def signed_fields(request: Request, org: OrgDep) -> Fields:
    """The webhook's fields, once the signature by the org's auth token checks out (403 otherwise)."""
    if not request.headers.get(SIGNATURE_HEADER):
        raise ApiError(403, f"missing {SIGNATURE_HEADER} header")
    body = parse_body(await read_body(request), request.headers.get("content-type"))
    verify_signature(request, org, body.signed_params)
    return Fields(body.fields)


SignedFieldsDep = Annotated[Fields, Depends(signed_fields)]

_bearer = HTTPBearer(auto_error=False, description="The deployment's admin token (WAFH_ADMIN_TOKEN).")


async def require_admin(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise ApiError(503, "admin API disabled: no admin token configured (set WAFH_ADMIN_TOKEN)")
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(401, "missing bearer token", headers=challenge)
    expected = settings.admin_token.get_secret_value().encode()
    if not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise ApiError(401, "wrong bearer token", headers=challenge)


AdminDep = Depends(require_admin)
