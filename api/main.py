"""For uvicorn: `uvicorn api.main:build_app --factory` (settings from WAFH_*, orgs from WAFH_ORGS_FILE)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.logs import configure_logging
from config.orgs import OrgRegistry
from config.settings import get_settings


def build_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, OrgRegistry.load(settings.orgs_file))
