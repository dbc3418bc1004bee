"""Build official `twilio` clients for an org, pointed at real Twilio or at the local sandbox.

Nothing else in the service knows it talks to a sandbox: the only difference is the http client below, which
rewrites `https://{product}.twilio.com/...` to the sandbox base URL (see `hosts.py`).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from twilio_rest.hosts import resolve_url

# Repeats of one request inside the activity before its failure goes to the activity's retry policy. Each call
# of an activity that makes several fails independently (429 under concurrency limits, a 5xx now and then):
# without these, one bad answer redoes every call of the activity, and at a few percent per call the whole
# activity fails far more often than any of its calls (fault run: an open_flex_conversation needed 8 attempts).
IN_PLACE_RETRIES = 2
IN_PLACE_BACKOFF = 0.25  # seconds, doubled per repeat
MAX_IN_PLACE_WAIT = 2.0  # a longer Retry-After is left to the activity's next_retry_delay: no thread parked


def in_place_retry_delay(method: str, status: int, retry_after: str | None, repeat: int) -> float | None:
    """Seconds to wait before sending this request again in place, or None to give up to the activity.

    - 429: Twilio refused the request without acting on it, so any method may be repeated.
    - 5xx: only reads. A POST that got a 5xx may have taken effect; the activity's idempotency handles it.
    """
    if repeat >= IN_PLACE_RETRIES:
        return None
    if status != 429 and not (status >= 500 and method.upper() in ("GET", "HEAD")):
        return None
    if retry_after is not None and retry_after.strip():
        value = retry_after.strip()
        if not value.isdigit() or int(value) > MAX_IN_PLACE_WAIT:
            return None  # an HTTP-date or a long wait: the activity's retry honours it
        return float(int(value))
    return IN_PLACE_BACKOFF * 2**repeat


class InPlaceRetryTransport(httpx.HTTPTransport):
    """The same in-place repeats for the calls made with httpx (media download and upload, MCS lookups)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        repeat = 0
        while True:
            response = super().handle_request(request)
            delay = in_place_retry_delay(
                request.method, response.status_code, response.headers.get("retry-after"), repeat
            )
            if delay is None:
                return response
            response.close()
            time.sleep(delay)
            repeat += 1


class RoutingHttpClient(TwilioHttpClient):
    """`TwilioHttpClient` that sends to the sandbox when `sandbox_base_url` is set and keeps the last headers.

    `last_response_headers` exists because `TwilioRestException` does not carry response headers, and a 429's
    `Retry-After` must reach the activity's retry decision.
    """

    def __init__(self, sandbox_base_url: str | None = None, timeout: float = 15.0) -> None:
        super().__init__(timeout=timeout, max_retries=None)
        self.sandbox_base_url = sandbox_base_url
        self.last_response_headers: dict[str, str] = {}

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        repeat = 0
        while True:
            response: Response = super().request(
                method,
                resolve_url(url, self.sandbox_base_url),
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout,
                allow_redirects=allow_redirects,
            )
            self.last_response_headers = {k.lower(): v for k, v in dict(response.headers or {}).items()}
            delay = in_place_retry_delay(
                method, response.status_code, self.last_response_headers.get("retry-after"), repeat
            )
            if delay is None:
                return response
            time.sleep(delay)
            repeat += 1


def build_client(
    account_sid: str,
    auth_token: str | None = None,
    *,
    api_key_sid: str | None = None,
    api_key_secret: str | None = None,
    sandbox_base_url: str | None = None,
    timeout: float = 15.0,
) -> Client:
    """An official client authenticated with an API key when one is given, else with the auth token."""
    http_client = RoutingHttpClient(sandbox_base_url=sandbox_base_url, timeout=timeout)
    kwargs: dict[str, Any] = {"http_client": http_client, "account_sid": account_sid}
    if api_key_sid and api_key_secret:
        return Client(api_key_sid, api_key_secret, **kwargs)
    if not auth_token:
        raise ValueError(f"no credentials for account {account_sid}: set an auth token or an API key")
    return Client(account_sid, auth_token, **kwargs)
