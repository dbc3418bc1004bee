"""Errors that become JSON answers: `{"detail": reason, "field": name?}`.

A reason never quotes the value at fault (it may be a phone number or a message body).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.logs import log_event

# Names the kind of a refusal where the status alone does not (the metrics count them apart).
REFUSED_HEADER = "X-Wafh-Refused"


class ApiError(Exception):
    """An answer other than success, with the HTTP status and a reason for the caller."""

    def __init__(self, status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers


def bad_field(field: str, problem: str) -> ApiError:
    """422 naming the form field at fault."""
    return ApiError(422, f"{field}: {problem}", field=field)


def wrong_org(what: str) -> ApiError:
    # The header tells the metrics this 403 from a bad signature's.
    return ApiError(403, f"routed to the wrong org: {what}", headers={REFUSED_HEADER: "wrong_org"})


class TemporalUnavailable(ApiError):
    """Temporal could not record the event: 503 so Twilio retries (never 2xx for an unrecorded event)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(503, f"Temporal unavailable, retry later ({reason})", headers={"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, str] = {"detail": exc.detail}
        if exc.field:
            body["field"] = exc.field
        # Every refusal is logged (the troubleshooting table relies on it); forgeries and outages louder.
        level = logging.WARNING if exc.status >= 500 or exc.status in (401, 403) else logging.INFO
        log_event(
            "request.refused", level, status=exc.status, path=_safe_path(request), reason=exc.detail, field=exc.field
        )
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Same shape as every other refusal; the message never echoes the input.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
        field = ".".join(loc) or None
        detail = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg", "invalid request"))
        log_event("request.refused", logging.INFO, status=422, path=_safe_path(request), reason=detail, field=field)
        return JSONResponse({"detail": detail, "field": field}, status_code=422)


def _safe_path(request: Request) -> str:
    # Paths carry org names, keys (hashes) and workflow ids only: no PII.
    return request.url.path[:200]
