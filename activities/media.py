"""Media bytes between Twilio products: download inbound WhatsApp media, upload to Conversations media (MCS).

Neither call exists in the `twilio` client, so they use httpx with the org's Basic credentials and the same
host map as the SDK (`twilio_rest.hosts.resolve_url`). Bytes stay inside the activity; only SIDs and sizes go
back to the workflow. Limits are checked before any upload: type before download, size while streaming
(a download is cut off as soon as it passes the limit, so a huge file costs at most limit + one chunk).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.clients import OrgClient
from activities.twilio_errors import CLIENT_ERROR_TYPE, classify
from rules.media import (
    FLEX_ATTACHMENT_LIMIT,
    MediaDecision,
    flex_decision,
    whatsapp_decision,
)
from twilio_rest.client import InPlaceRetryTransport
from twilio_rest.hosts import MCS_BASE_URL

log = logging.getLogger(__name__)


def contact_media_verdict(content_type: str, size: int | None) -> MediaDecision:
    """May this contact media be copied into Flex? The workflow's own pure rule, so both sides agree."""
    return flex_decision(content_type, size)


def rep_media_verdict(content_type: str, size: int | None) -> MediaDecision:
    """May this rep attachment go to WhatsApp? Checked again here on the real size before the send."""
    return whatsapp_decision(content_type, size)


class Downloaded(BaseModel):
    data: bytes
    content_type: str


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"more than {size} bytes")
        self.size = size


def _allowed_host(oc: OrgClient, url: str) -> bool:
    """Credentials only go to Twilio (or the configured sandbox), never to a host a forged URL names."""
    host = urlsplit(url).netloc.lower()
    if host.endswith(".twilio.com") or host == "twilio.com":
        return True
    sandbox = oc.sandbox_base_url
    return bool(sandbox) and host == urlsplit(cast(str, sandbox)).netloc.lower()


def download_media(oc: OrgClient, media_url: str, max_bytes: int, *, timeout: float = 30.0) -> Downloaded:
    """GET the media with the org's credentials, following Twilio's CDN redirect; TooLarge past max_bytes."""
    url = oc.url(media_url)
    if not _allowed_host(oc, url):
        raise ApplicationError(
            f"refusing to send credentials to media host {urlsplit(url).netloc!r}",
            type=CLIENT_ERROR_TYPE,
            non_retryable=True,
        )
    try:
        # httpx drops Authorization on a redirect to another origin (Twilio's CDN URL is pre-signed).
        with (
            httpx.Client(
                auth=oc.basic_auth, follow_redirects=True, timeout=timeout, transport=InPlaceRetryTransport()
            ) as http,
            http.stream("GET", url) as resp,
        ):
            if resp.status_code >= 400:
                resp.read()
                resp.raise_for_status()
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(int(declared))
            chunks: list[bytes] = []
            total = 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise TooLarge(total)
                chunks.append(chunk)
            content_type = resp.headers.get("content-type", "")
    except (httpx.HTTPStatusError, httpx.TransportError) as exc:
        raise classify(exc, what="media download") from exc
    return Downloaded(data=b"".join(chunks), content_type=content_type)


def upload_to_mcs(
    oc: OrgClient,
    service_sid: str,
    data: bytes,
    content_type: str,
    filename: str | None = None,
    *,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """POST raw bytes to `mcs.us1.twilio.com/v1/Services/{IS}/Media`; returns the media object (sid ME…)."""
    url = oc.url(f"{MCS_BASE_URL}/v1/Services/{service_sid}/Media")
    headers = {"Content-Type": content_type}
    if filename:
        # Twilio's raw upload takes no filename field; the header is what browsers send and MCS records.
        headers["Content-Disposition"] = f'attachment; filename="{filename.replace(chr(34), "")}"'
    return _mcs_media_object(oc, "media upload", timeout, lambda http: http.post(url, content=data, headers=headers))


def is_mcs_url(url: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(MCS_BASE_URL).netloc


def fetch_mcs_media(oc: OrgClient, media_url: str, *, timeout: float = 15.0) -> dict[str, Any]:
    """The MCS media object (size, type, links) behind an MCS media URL."""
    return _mcs_media_object(oc, "media fetch", timeout, lambda http: http.get(oc.url(media_url)))


def _mcs_media_object(
    oc: OrgClient, what: str, timeout: float, send: Callable[[httpx.Client], httpx.Response]
) -> dict[str, Any]:
    """Sends one MCS request; the answer must be a media object (sid ME…)."""
    try:
        with httpx.Client(auth=oc.basic_auth, timeout=timeout, transport=InPlaceRetryTransport()) as http:
            resp = send(http)
            resp.raise_for_status()
    except (httpx.HTTPStatusError, httpx.TransportError) as exc:
        raise classify(exc, what=what) from exc
    body = resp.json()
    if not isinstance(body, dict) or not str(body.get("sid", "")).startswith("ME"):
        raise ApplicationError(f"{what}: unexpected answer {str(body)[:200]}", type="TwilioBadResponse")
    return body


__all__ = [
    "FLEX_ATTACHMENT_LIMIT",
    "Downloaded",
    "TooLarge",
    "contact_media_verdict",
    "download_media",
    "fetch_mcs_media",
    "is_mcs_url",
    "rep_media_verdict",
    "upload_to_mcs",
]
