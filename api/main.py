"""For uvicorn: `uvicorn api.main:build_app --factory` (settings from WAFH_*, orgs from WAFH_ORGS_FILE)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.logs import configure_logging
from config.orgs import OrgsFile
from config.settings import get_settings


def build_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    orgs = OrgsFile(settings.orgs_file)
    orgs.current()  # a broken orgs file stops the API at start, not at its first request
    return create_app(settings, orgs)
