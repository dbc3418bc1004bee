"""Per-org official `twilio` clients for activities; credentials resolved here, worker-side, never in history.

One client per (org, thread): activities are sync `def`s run in a thread pool, and the routing http client
keeps the last response headers (for `Retry-After`), which must belong to the thread's own last call.
A `requests` session is also not meant to be shared between threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from temporalio.exceptions import ApplicationError
from twilio.rest import Client

from config.orgs import Org, OrgRegistry
from twilio_rest.client import RoutingHttpClient, build_client
from twilio_rest.hosts import resolve_url


@dataclass(frozen=True)
class OrgClient:
    """What an activity needs to talk to one org's Twilio account."""

    org: Org
    client: Client
    http: RoutingHttpClient
    # HTTP Basic credentials for the calls the SDK cannot make (MCS media, inbound media downloads).
    basic_auth: tuple[str, str] = field(repr=False)

    @property
    def sandbox_base_url(self) -> str | None:
        return self.org.config.twilio_sandbox_url

    def url(self, twilio_url: str) -> str:
        """The URL to call for a Twilio URL: the sandbox's when the org is sandboxed."""
        return resolve_url(twilio_url, self.sandbox_base_url)

    def last_headers(self) -> dict[str, str]:
        return dict(self.http.last_response_headers)


class TwilioClients:
    """Cache of `OrgClient`s by org name, one per thread."""

    def __init__(self, orgs: OrgRegistry, *, timeout: float = 15.0) -> None:
        self._orgs = orgs
        self._timeout = timeout
        self._local = threading.local()

    def org(self, name: str) -> Org:
        org = self._orgs.get(name)
        if org is None:
            # An org this worker does not know is a deployment error: retrying won't fix it.
            raise ApplicationError(f"unknown org {name!r}", type="UnknownOrg", non_retryable=True)
        return org

    def get(self, name: str) -> OrgClient:
        cache: dict[str, OrgClient] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = {}
            self._local.cache = cache
        found = cache.get(name)
        if found is None:
            found = self._build(self.org(name))
            cache[name] = found
        return found

    def _build(self, org: Org) -> OrgClient:
        c = org.config
        key_secret = org.api_key_secret.get_secret_value() if org.api_key_secret else None
        token = org.auth_token.get_secret_value()
        client = build_client(
            c.account_sid,
            token,
            api_key_sid=c.api_key_sid,
            api_key_secret=key_secret,
            sandbox_base_url=c.twilio_sandbox_url,
            timeout=self._timeout,
        )
        http = client.http_client
        assert isinstance(http, RoutingHttpClient)
        basic = (c.api_key_sid, key_secret) if c.api_key_sid and key_secret else (c.account_sid, token)
        return OrgClient(org=org, client=client, http=http, basic_auth=basic)
