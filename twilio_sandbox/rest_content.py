"""Content API v1 under `/content`: the seeded approved templates, listed and fetched."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import found
from twilio_sandbox.formats import iso, page_v1, url
from twilio_sandbox.forms import check_query
from twilio_sandbox.state import ContentTemplate

router = APIRouter(prefix="/content", dependencies=[Depends(require_auth)])


def content_json(sb: Sandbox, t: ContentTemplate) -> dict[str, Any]:
    base = f"/v1/Content/{t.sid}"
    return {
        "date_created": iso(t.date_created),
        "date_updated": iso(t.date_updated),
        "sid": t.sid,
        "account_sid": sb.state.account_sid,
        "friendly_name": t.friendly_name,
        "language": t.language,
        "variables": t.variables,
        "types": {"twilio/text": {"body": t.body}},
        "url": url("content", base),
        "links": {
            "approval_create": url("content", f"{base}/ApprovalRequests/whatsapp"),
            "approval_fetch": url("content", f"{base}/ApprovalRequests"),
        },
    }


@router.get("/v1/Content")
async def list_content(request: Request) -> dict[str, Any]:
    check_query(request)
    sb = get_sb(request)
    return page_v1(
        request,
        "content",
        "/v1/Content",
        "contents",
        [content_json(sb, t) for t in sb.state.templates.values()],
    )


@router.get("/v1/Content/{Sid}")
async def fetch_content(request: Request, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    t = found(sb.state.templates, Sid, "Content")
    return content_json(sb, t)


@router.get("/v1/Content/{Sid}/ApprovalRequests")
async def fetch_approval(request: Request, Sid: str) -> dict[str, Any]:
    sb = get_sb(request)
    t = found(sb.state.templates, Sid, "Content")
    return {
        "sid": t.sid,
        "account_sid": sb.state.account_sid,
        "whatsapp": {
            "category": "UTILITY",
            "content_type": "twilio/text",
            "name": t.friendly_name,
            "status": "approved" if t.approved else "rejected",
            "rejection_reason": "",
            "allow_category_change": True,
        },
        "url": url("content", f"/v1/Content/{t.sid}/ApprovalRequests"),
    }
