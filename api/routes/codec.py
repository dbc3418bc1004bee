"""Codec endpoint for the Temporal UI (`POST /codec/encode`, `POST /codec/decode`).

Lets authorised operators read encrypted payloads in the UI. Guarded by the admin bearer token, or, for the UI in a
browser (which cannot send our token), by the key in `/codec/ui/{key}/…` that derives from it
(payload_encryption.ui_access); CORS is answered only for the configured UI origin (the UI calls this from the
browser). Protocol: the Temporal codec server JSON (`{"payloads": [...]}` in proto3 JSON form).
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
from payload_encryption.ui_access import ui_access_key

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

    ui_key = ui_access_key(admin_token) if admin_token else None

    def _ui_key_matches(key: str) -> bool:
        return ui_key is not None and hmac.compare_digest(key.encode(), ui_key.encode())

    async def _handle(request: Request, encode: bool, authorised: bool) -> Response:
        cors = _cors_headers(request, allowed_origin)
        if not authorised:
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
        return await _handle(request, encode=True, authorised=_authorised(request))

    @router.post("/decode")
    async def decode(request: Request) -> Response:
        return await _handle(request, encode=False, authorised=_authorised(request))

    # The key is a credential: kept out of the OpenAPI document, compared in constant time.
    @router.options("/ui/{key}/{operation}", include_in_schema=False)
    async def ui_preflight(key: str, operation: str, request: Request) -> Response:
        cors = _cors_headers(request, allowed_origin)
        return Response(status_code=204 if cors else 403, headers=cors)

    @router.post("/ui/{key}/encode", include_in_schema=False)
    async def ui_encode(key: str, request: Request) -> Response:
        return await _handle(request, encode=True, authorised=_ui_key_matches(key))

    @router.post("/ui/{key}/decode", include_in_schema=False)
    async def ui_decode(key: str, request: Request) -> Response:
        return await _handle(request, encode=False, authorised=_ui_key_matches(key))

    return router
