"""Twilio's wire formats: dates, absolute resource URLs on Twilio's own hosts, list envelopes."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

PRODUCT_HOSTS: dict[str, str] = {
    "api": "api.twilio.com",
    "conversations": "conversations.twilio.com",
    "taskrouter": "taskrouter.twilio.com",
    "flex-api": "flex-api.twilio.com",
    "content": "content.twilio.com",
    "messaging": "messaging.twilio.com",
    "mcs": "mcs.us1.twilio.com",
}
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


def iso(dt: datetime | None) -> str | None:
    """v1 APIs: `2015-12-16T22:18:37Z`."""
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(dt: datetime) -> str:
    """Conversations webhooks: millisecond precision."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def rfc2822(dt: datetime | None) -> str | None:
    """Api 2010: `Wed, 16 Dec 2015 22:18:37 +0000`."""
    return None if dt is None else format_datetime(dt.replace(microsecond=0)).replace("-0000", "+0000")


def url(product: str, path: str) -> str:
    return f"https://{PRODUCT_HOSTS[product]}{path}"


def _page_args(request: Request) -> tuple[int, int]:
    from twilio_sandbox.errors import TwilioError

    try:
        size = int(request.query_params.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(request.query_params.get("Page", 0))
    except ValueError as exc:
        raise TwilioError(400, 20001, "PageSize and Page must be integers") from exc
    if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
        raise TwilioError(400, 20001, f"PageSize must be 1..{MAX_PAGE_SIZE} and Page >= 0")
    return size, page


def _query_with(request: Request, **changes: Any) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items.extend((k, str(v)) for k, v in changes.items())
    return urlencode(items)


def page_v1(request: Request, product: str, path: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """`{key: [...], "meta": {...}}` with absolute Twilio URLs (the SDK follows next_page_url verbatim)."""
    size, page = _page_args(request)
    chunk = items[page * size : (page + 1) * size]
    base = url(product, path)

    def link(p: int) -> str:
        return f"{base}?{_query_with(request, PageSize=size, Page=p)}"

    has_next = (page + 1) * size < len(items)
    return {
        key: chunk,
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": link(0),
            "previous_page_url": link(page - 1) if page > 0 else None,
            "url": link(page),
            "next_page_url": f"{link(page + 1)}&PageToken=PT{page + 1}" if has_next else None,
            "key": key,
        },
    }


def page_2010(request: Request, path: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Api 2010 list envelope with relative `*_uri` fields."""
    size, page = _page_args(request)
    start = page * size
    chunk = items[start : start + size]

    def link(p: int) -> str:
        return f"{path}?{_query_with(request, PageSize=size, Page=p)}"

    return {
        key: chunk,
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": link(0),
        "next_page_uri": link(page + 1) if start + size < len(items) else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": link(page - 1) if page > 0 else None,
        "start": start,
        "uri": link(page),
    }
