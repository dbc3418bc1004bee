"""`X-Twilio-Signature` verification with the org's auth token over the public URL Twilio called.

The URL is `org.public_base_url` + the path and query as received; `X-Forwarded-Proto`/`X-Forwarded-Host`
replace the base's scheme and host only when the org trusts its proxy (else any client could pick the URL).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import (
    HMAC_SHA1,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from api.errors import ApiError
from config.orgs import Org

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def public_url(request: Request, org: Org) -> str:
    base = org.config.public_base_url
    if org.config.trust_proxy:
        scheme, netloc, base_path, _, _ = urlsplit(base)
        proto = _first(request.headers.get("x-forwarded-proto"))
        host = _first(request.headers.get("x-forwarded-host"))
        if proto in ("http", "https"):
            scheme = proto
        if host and _HOST.match(host):
            netloc = host
        base = urlunsplit((scheme, netloc, base_path, "", ""))
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return base + path + (f"?{query}" if query else "")


def _first(value: str | None) -> str | None:
    # A chain of proxies appends: the first value is what the client (Twilio) used.
    return value.split(",")[0].strip() if value else None


def verify_signature(request: Request, org: Org, params: ImmutableMultiDict[str, str] | str) -> None:
    """Raise 403 unless the request carries a valid signature by `org`'s auth token."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise ApiError(403, f"missing {SIGNATURE_HEADER} header")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    if algorithm.upper() != HMAC_SHA1:
        # Shared-key (HMAC_SHA256) signing needs a shared-key secret, which orgs do not configure.
        raise ApiError(403, f"signature algorithm {algorithm[:40]!r} is not configured for org {org.name!r}")
    url = public_url(request, org)
    if isinstance(params, str) and "bodySHA256=" not in url:
        raise ApiError(403, "a JSON webhook must be signed with the bodySHA256 query parameter")
    validator = RequestValidator(org.auth_token.get_secret_value())
    if not validator.validate(url, params, signature):
        raise ApiError(
            403,
            f"invalid {SIGNATURE_HEADER} for {url[:300]} (check the org's public_base_url and auth token)",
        )
