"""Media Content Service under `/mcs` (not in the SDK or the OpenAPI documents): upload raw bytes, fetch,
download."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response

from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, not_found
from twilio_sandbox.formats import iso, url
from twilio_sandbox.state import Media

router = APIRouter(prefix="/mcs")
# Conversations media limit (Flex's own attachment limit is 16 MiB; MCS accepts up to 150 MB, keep memory
# sane).
MAX_UPLOAD_BYTES = 150 * 1024 * 1024


def media_json(sb: Sandbox, m: Media) -> dict[str, Any]:
    base = f"/v1/Services/{m.service_sid}/Media/{m.sid}"
    return {
        "sid": m.sid,
        "account_sid": sb.state.account_sid,
        "service_sid": m.service_sid,
        "date_created": iso(m.date_created),
        "date_upload_updated": iso(m.date_created),
        "date_updated": iso(m.date_created),
        "channel_sid": m.channel_sid,
        "message_sid": m.message_sid,
        "size": len(m.data),
        "content_type": m.content_type,
        "filename": m.filename,
        "author": m.author,
        "category": "media",
        "is_multipart_upstream": False,
        "url": url("mcs", base),
        "links": {
            "content": url("mcs", f"{base}/Content"),
            "content_direct_temporary": url("mcs", f"{base}/Content?Token={m.token}"),
        },
    }


def store_media(
    sb: Sandbox,
    data: bytes,
    content_type: str,
    filename: str | None,
    service_sid: str | None,
    author: str | None = None,
) -> Media:
    m = Media(
        sb.sids.new("ME"),
        service_sid,
        content_type,
        filename,
        data,
        sb.now(),
        author,
        token=secrets.token_hex(16),
    )
    sb.state.media[m.sid] = m
    return m


def _media(sb: Sandbox, service_sid: str, sid: str) -> Media:
    m = sb.state.media.get(sid)
    if m is None or m.service_sid != service_sid:
        raise not_found("Media", sid)
    return m


@router.post("/v1/Services/{ServiceSid}/Media", status_code=201)
async def upload(request: Request, ServiceSid: str) -> dict[str, Any]:
    await require_auth(request)
    sb = get_sb(request)
    if ServiceSid not in sb.state.chat_services:
        raise not_found("Service", ServiceSid)
    ctype = request.headers.get("content-type", "")
    filename = request.query_params.get("Filename") or request.headers.get("x-twilio-filename")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload_file = next((v for v in form.values() if hasattr(v, "read")), None)
        if upload_file is None:
            raise TwilioError(400, 20001, "multipart upload without a file part")
        data = await upload_file.read()
        ctype = getattr(upload_file, "content_type", None) or "application/octet-stream"
        filename = filename or getattr(upload_file, "filename", None)
    else:
        data = await request.body()
        disposition = request.headers.get("content-disposition", "")
        if "filename=" in disposition:
            filename = filename or disposition.split("filename=", 1)[1].strip('"; ')
    if not ctype:
        raise TwilioError(400, 20001, "Content-Type header is required for a media upload")
    if not data:
        raise TwilioError(400, 20001, "Empty media upload")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TwilioError(413, 20001, f"Media exceeds {MAX_UPLOAD_BYTES} bytes")
    m = store_media(
        sb,
        data,
        ctype.split(";")[0].strip(),
        filename,
        ServiceSid,
        author=request.headers.get("x-twilio-author"),
    )
    sb.recorder.add("mcs.upload", media_sid=m.sid, size=len(data), content_type=m.content_type)
    return media_json(sb, m)


@router.get("/v1/Services/{ServiceSid}/Media/{Sid}")
async def fetch(request: Request, ServiceSid: str, Sid: str) -> dict[str, Any]:
    await require_auth(request)
    sb = get_sb(request)
    return media_json(sb, _media(sb, ServiceSid, Sid))


@router.get("/v1/Services/{ServiceSid}/Media/{Sid}/Content")
async def content(request: Request, ServiceSid: str, Sid: str) -> Response:
    sb = get_sb(request)
    m = _media(sb, ServiceSid, Sid)
    # The temporary direct URL carries its own token (like a signed CDN URL); otherwise Basic auth is
    # required.
    if request.query_params.get("Token") != m.token:
        await require_auth(request)
    headers = {"Content-Disposition": f'inline; filename="{m.filename}"'} if m.filename else {}
    return Response(m.data, media_type=m.content_type, headers=headers)
