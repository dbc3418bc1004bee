"""Counts and times every Twilio webhook by route and outcome (pure ASGI: no extra task or thread per request)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REFUSED_HEADER
from api.metrics import ApiMetrics, webhook_route
from api.responses import IGNORED_HEADER

_IGNORED = IGNORED_HEADER.lower().encode()
_REFUSED = REFUSED_HEADER.lower().encode()
_TOKEN = b"i-twilio-idempotency-token"


class WebhookMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = webhook_route(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "ignored": False, "refused": None}

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == _IGNORED:
                        answer["ignored"] = True
                    elif name.lower() == _REFUSED:
                        answer["refused"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            token = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == _TOKEN), None)
            org, route = found
            self.metrics.webhook_answered(
                org,
                route,
                answer["status"],
                answer["ignored"],
                answer["refused"],
                token,
                time.perf_counter() - started,
            )
