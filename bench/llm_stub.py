"""A stand-in for an LLM behind an OpenAI-compatible endpoint, for figure 7's slot-bound case: it answers every
chat completion after a fixed delay with a valid structured reply, so the service's real `openai` backend runs
and each AI turn waits as it would on a model, without using CPU."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from cli.net import free_port

REPLY = {
    "reply": "Thanks for your message, we are looking into it.",
    "escalate": False,
    "reason": None,
    "summary": "The customer wrote; the assistant acknowledged.",
    "sentiment": "neutral",
    "language": "en",
}


class LlmStub:
    """`async with LlmStub(delay_s) as stub:` → `stub.base_url` for WAFH_OPENAI_BASE_URL; `stub.calls` counts."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.port = free_port("127.0.0.1")
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.calls = 0
        self._runner: web.AppRunner | None = None

    async def _completion(self, request: web.Request) -> web.Response:
        await request.read()
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        body: dict[str, Any] = {
            "id": f"chatcmpl-{self.calls}",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": json.dumps(REPLY)}}
            ],
        }
        return web.json_response(body)

    async def __aenter__(self) -> LlmStub:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completion)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
