"""Twilio's legacy error JSON (`code`, `message`, `more_info`, `status`) for every failure the sandbox
returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

T = TypeVar("T")


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def found(items: Mapping[str, T], sid: str, what: str) -> T:
    """`items[sid]`, or Twilio's 404 (20404) naming the resource."""
    item = items.get(sid)
    if item is None:
        raise not_found(what, sid)
    return item


def not_found(what: str, sid: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {what} {sid} was not found")


def bad_param(message: str, code: int = 20001) -> TwilioError:
    return TwilioError(400, code, message)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(TwilioError)
    async def _twilio_error(request: Request, exc: TwilioError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, 20404, f"The requested resource {request.url.path} was not found")
        if exc.status_code == 405:
            return error_response(405, 20004, "Method not allowed")
        return error_response(exc.status_code, 20001 if exc.status_code < 500 else 20500, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(400, 20001, f"Invalid parameter {where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A sandbox bug must still look like a Twilio 500, so clients exercise their 5xx path.
        return error_response(500, 20500, f"Internal Server Error ({type(exc).__name__}: {exc})")
