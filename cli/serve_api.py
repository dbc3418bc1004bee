"""`wa-flex-handoff api`: the FastAPI app under uvicorn (the command checks the orgs file before this binds the
port)."""

from __future__ import annotations

import uvicorn

from config.settings import Settings


def serve_api(host: str, port: int) -> None:
    settings = Settings()
    # uvicorn drains in-flight requests on SIGTERM/SIGINT; Twilio retries anything that got no answer.
    uvicorn.run(
        "api.main:build_app",
        factory=True,
        host=host,
        port=port,
        proxy_headers=False,  # X-Forwarded-* are honoured per org (trust_proxy) by the signature check itself
        log_level=settings.log_level.lower(),
        access_log=False,
    )
