"""Turn Twilio failures into Temporal activity errors the retry policy can act on.

- 429 and 5xx (and network failures) are retryable; `Retry-After` becomes `next_retry_delay`, so the activity
  waits what Twilio asked for instead of the policy's backoff.
- Other 4xx are final: `ApplicationError(type="TwilioClientError", non_retryable=True)` with
  `details=[{"status", "code", "message"}]`, so the workflow records the Twilio code and posts a notice
  instead of retrying forever.

`TwilioRestException` carries no headers; the routing http client keeps the last response's headers, which is
why callers pass them in. A failed page of a `.list()` / `.stream()` comes as a plain
`TwilioException("Unable to fetch page", response)`: it is classified from that response the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import requests
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response as TwilioResponse

log = logging.getLogger(__name__)

CLIENT_ERROR_TYPE = "TwilioClientError"
RETRYABLE_ERROR_TYPE = "TwilioRetryableError"
NETWORK_ERROR_TYPE = "TwilioNetworkError"
# Cap on a server-requested delay: a broken or hostile Retry-After must not park an activity for days.
MAX_RETRY_AFTER = timedelta(minutes=10)


class TwilioErrorDetail(BaseModel):
    """The one detail entry of a `TwilioClientError` (also used for retryable errors)."""

    status: int
    code: int | None = None
    message: str = ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """`Retry-After` as delay-seconds or HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    delay: timedelta | None
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            log.warning("unreadable Retry-After header %r ignored", value)
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = max(timedelta(0), when - (now or datetime.now(UTC)))
    return min(delay, MAX_RETRY_AFTER)


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def error_for_status(
    status: int, code: int | None, message: str, headers: Mapping[str, str] | None = None, *, what: str = ""
) -> ApplicationError:
    """The ApplicationError for an HTTP failure from Twilio (or from a media host)."""
    detail = TwilioErrorDetail(status=status, code=code, message=message).model_dump()
    prefix = f"{what}: " if what else ""
    text = f"{prefix}Twilio returned HTTP {status}" + (f" (code {code})" if code else "") + f": {message}"
    if is_retryable_status(status):
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        delay = parse_retry_after(lowered.get("retry-after"))
        return ApplicationError(text, detail, type=RETRYABLE_ERROR_TYPE, next_retry_delay=delay)
    return ApplicationError(text, detail, type=CLIENT_ERROR_TYPE, non_retryable=True)


def classify(exc: BaseException, headers: Mapping[str, str] | None = None, *, what: str = "") -> ApplicationError:
    """Map any exception raised while calling Twilio to the ApplicationError to raise from the activity."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, TwilioRestException):
        return error_for_status(int(exc.status), exc.code, str(exc.msg), headers, what=what)
    if isinstance(exc, TwilioServiceException):
        return error_for_status(int(exc.status), exc.code, exc.detail or exc.title, headers, what=what)
    page = _failed_page(exc)
    if page is not None:
        body = _json_object(page.text)
        return error_for_status(
            int(page.status_code),
            _int_or_none(body.get("code")),
            str(body.get("message") or "Unable to fetch page"),
            headers or page.headers,
            what=what,
        )
    if isinstance(exc, httpx.HTTPStatusError):
        body = _twilio_body(exc.response)
        return error_for_status(
            exc.response.status_code,
            _int_or_none(body.get("code")),
            str(body.get("message") or exc.response.reason_phrase),
            dict(exc.response.headers),
            what=what,
        )
    if isinstance(exc, (requests.RequestException, httpx.TransportError, ConnectionError, TimeoutError)):
        # No answer at all: the request may or may not have happened; the activities are idempotent, so retry.
        return ApplicationError(f"{what}: {type(exc).__name__}: {exc}", type=NETWORK_ERROR_TYPE)
    raise TypeError(f"not a Twilio error: {type(exc).__name__}") from exc


@contextmanager
def twilio_errors(headers_of: Any = None, *, what: str = "") -> Iterator[None]:
    """Re-raise Twilio/HTTP failures inside the block as classified ApplicationErrors.

    `headers_of` is an `OrgClient` (its last response headers give `Retry-After`) or None.
    """
    try:
        yield
    except (
        TwilioRestException,
        TwilioServiceException,
        httpx.HTTPStatusError,
        httpx.TransportError,
        requests.RequestException,
    ) as exc:
        headers = headers_of.last_headers() if headers_of is not None else None
        raise classify(exc, headers, what=what) from exc
    except TwilioException as exc:
        if _failed_page(exc) is None:
            raise  # not an HTTP answer: nothing to classify it by
        headers = headers_of.last_headers() if headers_of is not None else None
        raise classify(exc, headers, what=what) from exc


def _failed_page(exc: BaseException) -> TwilioResponse | None:
    """The HTTP answer behind a failed `.list()` page (twilio's `TwilioException("Unable to fetch page", r)`)."""
    if type(exc) is TwilioException and len(exc.args) == 2 and isinstance(exc.args[1], TwilioResponse):
        return exc.args[1]
    return None


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        body = json.loads(text or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _twilio_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, httpx.ResponseNotRead):
        return {}
    return body if isinstance(body, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
