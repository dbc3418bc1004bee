"""What a webhook answers: Twilio wants TwiML (or nothing) from Messaging webhooks, 204 from TaskRouter."""

from __future__ import annotations

import logging

from fastapi import Response

from api.logs import log_event

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
IGNORED_HEADER = "X-Wafh-Ignored"


def twiml_ok() -> Response:
    return Response(EMPTY_TWIML, status_code=200, media_type="text/xml")


def recorded() -> Response:
    return Response(status_code=204, media_type="application/json")


def ignored(org: str, endpoint: str, reason: str, level: int = logging.INFO) -> Response:
    """2xx for an event that does not concern the service (or a finished conversation); reason logged."""
    log_event("webhook.ignored", level, org=org, endpoint=endpoint, reason=reason)
    return Response(
        status_code=204, media_type="application/json", headers={IGNORED_HEADER: _header_safe(reason)}
    )


def _header_safe(text: str) -> str:
    # Reasons may quote an event type sent by the caller: printable ASCII only (no header injection).
    return "".join(c if " " <= c <= "~" else "?" for c in text[:200])
