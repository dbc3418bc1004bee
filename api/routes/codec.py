"""Codec endpoint for the Temporal UI (`POST /codec/encode`, `POST /codec/decode`).

Lets authorised operators read encrypted payloads in the UI. Guarded by the admin bearer token; CORS is answered
only for the configured UI origin (the UI calls this from the browser). Protocol: the Temporal codec server JSON
(`{"payloads": [...]}` in proto3 JSON form).
"""

from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from payload_encryption.codec import PayloadDecryptionError

_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def _cors_headers(request: Request, allowed_origin: str) -> dict[str, str]:
    if request.headers.get("origin") != allowed_origin:
        return {}
    return {
        "Access-Control-Allow-Origin": allowed_origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def build_codec_router(codec: PayloadCodec, admin_token: str | None, allowed_origin: str) -> APIRouter:
    """A router serving the codec; with no admin token configured every call is refused (fail closed)."""
    router = APIRouter(prefix="/codec", tags=["codec"])

    def _authorised(request: Request) -> bool:
        if not admin_token:
            return False
        supplied = request.headers.get("authorization", "")
        return hmac.compare_digest(supplied.encode(), f"Bearer {admin_token}".encode())

    async def _handle(request: Request, encode: bool) -> Response:
        cors = _cors_headers(request, allowed_origin)
        if not _authorised(request):
            return Response('{"detail":"missing or wrong bearer token"}', 401, cors, "application/json")
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
            return Response(f'{{"detail":"malformed payloads: {type(exc).__name__}"}}', 400, cors, "application/json")
        try:
            result = await (codec.encode if encode else codec.decode)(list(payloads.payloads))
        except PayloadDecryptionError as exc:
            return Response(f'{{"detail":{json.dumps(str(exc))}}}', 400, cors, "application/json")
        body = json_format.MessageToJson(Payloads(payloads=result))
        return Response(body, 200, cors, "application/json")

    @router.options("/{operation}", include_in_schema=False)
    async def preflight(operation: str, request: Request) -> Response:
        cors = _cors_headers(request, allowed_origin)
        return Response(status_code=204 if cors else 403, headers=cors)

    @router.post("/encode")
    async def encode(request: Request) -> Response:
        return await _handle(request, encode=True)

    @router.post("/decode")
    async def decode(request: Request) -> Response:
        return await _handle(request, encode=False)

    return router
