"""The one host map between Twilio's product hosts and a sandbox base URL.

`https://{sub}.twilio.com/{path}` is served by the sandbox at `{base}/{sub}/{path}`. Used by the SDK http client
and by the plain HTTP calls the SDK cannot make (MCS media, inbound media downloads), so both agree.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Twilio product hosts the service talks to, by the sandbox path prefix that serves them.
PRODUCT_PREFIXES: dict[str, str] = {
    "api.twilio.com": "api",
    "conversations.twilio.com": "conversations",
    "taskrouter.twilio.com": "taskrouter",
    "flex-api.twilio.com": "flex-api",
    "content.twilio.com": "content",
    "messaging.twilio.com": "messaging",
    "mcs.us1.twilio.com": "mcs",
}
PREFIX_HOSTS: dict[str, str] = {prefix: host for host, prefix in PRODUCT_PREFIXES.items()}

MCS_BASE_URL = "https://mcs.us1.twilio.com"


def to_sandbox_url(url: str, sandbox_base_url: str) -> str:
    """Rewrite a Twilio URL to the sandbox; URLs of other hosts are returned unchanged."""
    parts = urlsplit(url)
    prefix = PRODUCT_PREFIXES.get(parts.netloc.lower())
    if prefix is None:
        return url
    base = urlsplit(sandbox_base_url.rstrip("/"))
    return urlunsplit((base.scheme, base.netloc, f"{base.path}/{prefix}{parts.path}", parts.query, ""))


def resolve_url(url: str, sandbox_base_url: str | None) -> str:
    """The URL to actually call: the sandbox's when one is configured, else Twilio's own."""
    return to_sandbox_url(url, sandbox_base_url) if sandbox_base_url else url
