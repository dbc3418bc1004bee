"""What a webhook answers: Twilio wants TwiML (or nothing) from Messaging webhooks, 204 from TaskRouter."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Response

from api.logs import log_event
from api.models import ErrorBody

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
IGNORED_HEADER = "X-Wafh-Ignored"

# What every webhook may answer besides success (documented in OpenAPI).
WEBHOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body is not a UTF-8 form, or an event of ours is broken"},
    403: {"model": ErrorBody, "description": "Bad or missing signature, or routed to the wrong org"},
    404: {"model": ErrorBody, "description": "Unknown org"},
    413: {"model": ErrorBody, "description": "Body larger than 1 MiB"},
    415: {"model": ErrorBody, "description": "Not form-encoded (nor JSON signed with bodySHA256)"},
    422: {"model": ErrorBody, "description": "Malformed field (named in `field`)"},
    503: {"model": ErrorBody, "description": "Temporal unavailable: not recorded, retry"},
}


def twiml_ok() -> Response:
    return Response(EMPTY_TWIML, status_code=200, media_type="text/xml")


def recorded() -> Response:
    return Response(status_code=204, media_type="application/json")


def ignored(org: str, endpoint: str, reason: str, level: int = logging.INFO) -> Response:
    """2xx for an event that does not concern the service (or a finished conversation); reason logged."""
    log_event("webhook.ignored", level, org=org, endpoint=endpoint, reason=reason)
    return Response(status_code=204, media_type="application/json", headers={IGNORED_HEADER: _header_safe(reason)})


def _header_safe(text: str) -> str:
    # Reasons may quote an event type sent by the caller: printable ASCII only (no header injection).
    return "".join(c if " " <= c <= "~" else "?" for c in text[:200])


def form_body(description: str, required: list[str], optional: list[str]) -> dict[str, Any]:
    """`openapi_extra` documenting a Twilio form body (the route reads it itself, after the signature check)."""
    properties = {name: {"type": "string"} for name in [*required, *optional]}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": required,
                        "properties": properties,
                        "additionalProperties": {"type": "string"},
                    }
                }
            },
        },
        "parameters": [
            {
                "name": "X-Twilio-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "HMAC-SHA1 by the org's auth token over the public URL and the form fields",
            }
        ],
    }
