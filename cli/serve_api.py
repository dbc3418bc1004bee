"""`wa-flex-handoff api`: the FastAPI app under uvicorn, the orgs file checked before binding the port."""

from __future__ import annotations

import uvicorn

from cli.errors import CliError
from config.orgs import ConfigError, OrgRegistry
from config.settings import Settings


def serve_api(host: str, port: int) -> None:
    settings = Settings()
    try:
        OrgRegistry.load(settings.orgs_file)
    except ConfigError as exc:
        raise CliError(f"The orgs file is invalid: {exc}.", "correct it (see orgs.example.toml).") from None
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
