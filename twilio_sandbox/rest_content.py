"""Content API v1 under `/content`: content create (text, quick-reply, list-picker), list, fetch, and WhatsApp
approval requests (create, fetch). WhatsApp's review is the sandbox's: a submitted content is `received` until
`POST /_sandbox/content/{HX}/approval` decides, except a format WhatsApp always rejects (rejected at once)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from twilio_sandbox import content_types
from twilio_sandbox.auth import require_auth
from twilio_sandbox.core import Sandbox, get_sb
from twilio_sandbox.errors import TwilioError, found
from twilio_sandbox.formats import iso, page_v1, url
from twilio_sandbox.forms import check_query, read_json
from twilio_sandbox.state import ContentTemplate, WhatsAppApproval

router = APIRouter(prefix="/content", dependencies=[Depends(require_auth)])
# WhatsApp template categories; TRANSACTIONAL is the older name Twilio's own examples still show.
CATEGORIES = ("UTILITY", "MARKETING", "AUTHENTICATION", "TRANSACTIONAL")
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
# WhatsApp's review has answered; a content in any other status may be submitted again.
DECIDED = ("received", "pending", "approved", "paused", "disabled")


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
        "types": content_types.types_or_text(t.types, t.body),
        "url": url("content", base),
        "links": {
            "approval_create": url("content", f"{base}/ApprovalRequests/whatsapp"),
            "approval_fetch": url("content", f"{base}/ApprovalRequests"),
        },
    }


def approval_json(t: ContentTemplate) -> dict[str, Any]:
    a = t.approval
    if a is None:
        kind = content_types.whatsapp_type(content_types.types_or_text(t.types, t.body))
        return {
            "name": "",
            "category": "",
            "content_type": kind,
            "status": "unsubmitted",
            "rejection_reason": "",
            "allow_category_change": True,
        }
    return {
        "name": a.name,
        "category": a.category,
        "content_type": a.content_type,
        "status": a.status,
        "rejection_reason": a.rejection_reason,
        "allow_category_change": True,
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


@router.post("/v1/Content", status_code=201)
async def create_content(request: Request) -> JSONResponse:
    sb = get_sb(request)
    body = await read_json(request)
    language = body.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}([_-][A-Za-z]{2,4})?", language):
        raise TwilioError(400, 20001, f"language must be a language code such as en or pt_BR, not {language!r}")
    variables = body.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise TwilioError(400, 20001, "variables must map variable names to sample strings")
    name = body.get("friendly_name", "")
    if not isinstance(name, str):
        raise TwilioError(400, 20001, "friendly_name must be a string")
    types = content_types.validate_types(body.get("types"))
    now = sb.now()
    shown = types[content_types.whatsapp_type(types)]
    t = ContentTemplate(sb.sids.new("HX"), name, language, str(shown["body"]), dict(variables), False, now, now, types)
    sb.state.templates[t.sid] = t
    sb.recorder.add("content.created", content_sid=t.sid, friendly_name=name, types=sorted(types))
    return JSONResponse(content_json(sb, t), status_code=201)


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
        "whatsapp": {"type": "whatsapp", **approval_json(t)},
        "url": url("content", f"/v1/Content/{t.sid}/ApprovalRequests"),
    }


@router.post("/v1/Content/{ContentSid}/ApprovalRequests/whatsapp", status_code=201)
async def create_approval(request: Request, ContentSid: str) -> JSONResponse:
    sb = get_sb(request)
    t = found(sb.state.templates, ContentSid, "Content")
    body = await read_json(request)
    name, category = body.get("name"), body.get("category")
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise TwilioError(400, 20001, f"name must be lowercase letters, digits and underscores, not {name!r}")
    if category not in CATEGORIES:
        raise TwilioError(400, 20001, f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    if t.approval is not None and t.approval.status in DECIDED:
        raise TwilioError(
            400, 20001, f"Content {t.sid} was already submitted for WhatsApp approval ({t.approval.status})"
        )
    types = content_types.types_or_text(t.types, t.body)
    problem = content_types.approval_problem(types, t.variables)
    kind = content_types.whatsapp_type(types)
    if kind == content_types.LIST_PICKER:
        raise TwilioError(400, 20001, problem or "twilio/list-picker content cannot be approved for WhatsApp")
    t.approval = WhatsAppApproval(name, str(category), kind, "rejected" if problem else "received", problem or "")
    t.approved = False
    t.date_updated = sb.now()
    sb.recorder.add("content.approval", content_sid=t.sid, name=name, category=category, status=t.approval.status)
    return JSONResponse(approval_json(t), status_code=201)
