"""`create_app()`: the sandbox FastAPI app — Twilio product prefixes, `/_sandbox` controls, faults, record."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from offline_docs import serve_swagger_ui
from twilio_sandbox import (
    control,
    control_contacts,
    control_reps,
    flex_logic,
    flex_transfers,
    rest_content,
    rest_conversations,
    rest_flex,
    rest_mcs,
    rest_messaging,
    rest_taskrouter,
    rest_taskrouter_stats,
    rest_typing,
    typing_indicator,
)
from twilio_sandbox.core import Sandbox
from twilio_sandbox.errors import error_response, install_handlers
from twilio_sandbox.formats import PRODUCT_HOSTS
from twilio_sandbox.persistence import SqliteStore
from twilio_sandbox.seed import SandboxSeed

PRODUCT_PREFIXES = tuple(f"/{p}/" for p in PRODUCT_HOSTS)
TICK_SECONDS = 0.25

# Twilio's REST API as the sandbox serves it, in routing order: the statistics routes go before the other
# TaskRouter routes (their literal segments must win over `{Sid}`).
REST_MODULES = (
    rest_messaging,
    rest_conversations,
    rest_mcs,
    rest_flex,
    rest_taskrouter_stats,
    rest_taskrouter,
    rest_content,
    rest_typing,
)


def create_app(
    seed: SandboxSeed | None = None, *, base_url: str = "http://127.0.0.1:8400", db: str | None = None
) -> FastAPI:
    """The sandbox app; with `db`, state is kept in that SQLite file across restarts."""
    sandbox = Sandbox(seed or SandboxSeed(), base_url=base_url)
    # Flex's orchestration reacts to TaskRouter: wired here so neither package module imports the other.
    sandbox.engine.accepted_listeners.append(partial(flex_logic.on_reservation_accepted, sandbox))
    sandbox.engine.accepted_listeners.append(partial(flex_transfers.on_reservation_accepted, sandbox))
    sandbox.tick_listeners.append(partial(typing_indicator.expire, sandbox))
    store = SqliteStore(db) if db else None
    if store is not None and store.load(sandbox):
        sandbox.recorder.add("state.restored", db=db)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sandbox.dispatcher.start()
        ticker = asyncio.create_task(_tick_forever(sandbox))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await sandbox.dispatcher.stop()
            if store is not None:
                store.save(sandbox)
                store.close()

    app = FastAPI(
        title="Twilio sandbox (wa-flex-handoff)",
        lifespan=lifespan,
        openapi_url="/_sandbox/openapi.json",
        docs_url=None,  # served below from local assets, not a CDN
        redoc_url=None,
    )
    serve_swagger_ui(app, docs_url="/_sandbox/docs", assets_url="/_sandbox/docs-assets")
    app.state.sandbox = sandbox
    install_handlers(app)

    @app.middleware("http")
    async def faults_and_record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if not path.startswith(PRODUCT_PREFIXES):
            response = await call_next(request)
            if store is not None and request.method != "GET":
                store.save(sandbox)
            return response
        faults = sandbox.faults
        entry = sandbox.recorder.add("rest", method=request.method, path=path, query=str(request.url.query))
        if faults.applies(path):
            delay = faults.latency_seconds()
            if delay:
                entry["injected_latency_ms"] = int(delay * 1000)
                await asyncio.sleep(delay)
            if faults.roll(faults.config.rest_429_rate):
                entry["status"], entry["injected"] = 429, "429"
                return error_response(
                    429, 20429, "Too Many Requests", {"Retry-After": str(faults.config.retry_after_seconds)}
                )
            if faults.roll(faults.config.rest_5xx_rate):
                entry["status"], entry["injected"] = 503, "5xx"
                return error_response(503, 20503, "Service Unavailable (injected fault)")
        response = await call_next(request)
        entry["status"] = response.status_code
        if store is not None and request.method != "GET":
            store.save(sandbox)
        if (
            request.method != "GET"
            and response.status_code < 400
            and faults.applies(path)
            and faults.roll(faults.config.rest_5xx_after_effect_rate)
        ):
            entry["injected"] = "5xx-after-effect"
            return error_response(502, 20500, "Bad Gateway (injected fault after the request took effect)")
        form = getattr(request.state, "form", None)
        if form is not None:
            entry["params"] = form
        return response

    for module in (*REST_MODULES, control, control_contacts, control_reps):
        app.include_router(module.router)

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"sandbox": "twilio", "seed": "/_sandbox/seed", "docs": "/_sandbox/docs"}

    return app


async def _tick_forever(sandbox: Sandbox) -> None:
    """Reservation timeouts and task TTLs follow the sandbox clock."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        try:
            sandbox.tick()
        except Exception as exc:  # keep ticking; the record shows what went wrong
            sandbox.recorder.add("tick.error", error=repr(exc))
