"""`create_app`: webhooks, admin API, health, and the codec endpoint when payload encryption is configured."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import temporal
from api.contact_routing import ContactRouting
from api.errors import install_error_handlers
from api.logs import log_event
from api.metrics import ApiMetrics
from api.metrics_middleware import WebhookMetricsMiddleware
from api.routes import (
    conversation_events,
    conversations,
    csat,
    health,
    metrics,
    taskrouter,
    whatsapp,
    whatsapp_status,
)
from api.routes import (
    orgs as org_routes,
)
from api.routes.codec import build_codec_router
from config.orgs import OrgsSource
from config.settings import Settings
from offline_docs import serve_swagger_ui
from payload_encryption.codec import AesGcmPayloadCodec
from payload_encryption.keys import KeyRing

ClientFactory = Callable[[Settings], Awaitable[Client]]


def create_app(
    settings: Settings,
    orgs: OrgsSource,
    client: Client | ClientFactory | None = None,
) -> FastAPI:
    """`orgs`: a fixed registry (tests) or the orgs file, read again when it changes (edited settings reach new
    conversations at once and open ones through `POST /orgs/{org}/settings/apply`).

    `client`: a connected Temporal client (tests), a factory called at startup, or None (envconfig).

    The client must use the shared data converter (payload_encryption.build_data_converter).
    """
    # A Client instance is not callable: anything callable is a factory.
    factory: ClientFactory = client if callable(client) else temporal.connect

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.temporal is None:
            app.state.temporal = await factory(settings)
        log_event("api.started", orgs=orgs.current().names(), codec=settings.codec_keys is not None)
        yield

    app = FastAPI(
        title="wa-flex-handoff",
        summary="WhatsApp ↔ Twilio Flex handoff: Twilio webhooks and the admin API",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets, not a CDN
        redoc_url=None,
    )
    serve_swagger_ui(app, docs_url="/docs", assets_url="/docs-assets")
    app.state.settings = settings
    app.state.orgs = orgs
    app.state.contact_routing = ContactRouting()
    # An injected client is usable at once (also without the lifespan, e.g. httpx ASGITransport in tests).
    app.state.temporal = None if client is None or callable(client) else client
    install_error_handlers(app)
    app.state.metrics = ApiMetrics(orgs.current)
    app.add_middleware(WebhookMetricsMiddleware, metrics=app.state.metrics)
    for module in (
        whatsapp,
        whatsapp_status,
        conversation_events,
        taskrouter,
        conversations,
        csat,
        org_routes,
        health,
        metrics,
    ):
        app.include_router(module.router)
    if settings.codec_keys is not None:
        codec = AesGcmPayloadCodec(KeyRing.parse(settings.codec_keys.get_secret_value()))
        admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
        app.include_router(build_codec_router(codec, admin_token, settings.temporal_ui_origin))
    return app
