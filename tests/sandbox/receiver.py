"""A local webhook receiver for tests: records every request and checks X-Twilio-Signature with the official
`twilio.request_validator.RequestValidator`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from twilio_sandbox.testing import serve_app


@dataclass
class Received:
    path: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    signature_valid: bool


@dataclass
class Receiver:
    base_url: str = ""
    auth_token: str = ""
    received: list[Received] = field(default_factory=list)
    status_for: Callable[[str], int] = lambda path: 204
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, pred: Callable[[Received], bool], timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for r in self.received:
                    if pred(r):
                        return r
            time.sleep(0.02)
        raise AssertionError(f"no matching webhook within {timeout}s; got {[r.params for r in self.received]}")

    def events(self, path: str = "/taskrouter") -> list[str]:
        return [r.params.get("EventType", "") for r in self.of(path)]


@contextmanager
def running_receiver(auth_token: str) -> Iterator[Receiver]:
    receiver = Receiver(auth_token=auth_token)

    async def handle(request: Request) -> Response:
        body = (await request.body()).decode()
        params = dict(parse_qsl(body, keep_blank_values=True)) if request.method == "POST" else {}
        full_url = str(request.url)
        valid = RequestValidator(receiver.auth_token).validate(
            full_url, params, request.headers.get("x-twilio-signature", "")
        )
        with receiver.lock:
            receiver.received.append(Received(request.url.path, full_url, params, dict(request.headers), valid))
        return Response(status_code=receiver.status_for(request.url.path))

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
    with serve_app(app) as base_url:
        receiver.base_url = base_url
        yield receiver
