"""Every activity the worker registers: the Twilio-facing ones plus the AI turn."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from activities.clients import TwilioClients
from activities.twilio_activities import TwilioActivities
from config.orgs import OrgRegistry
from config.settings import Settings

log = logging.getLogger(__name__)


def build_activities(orgs: OrgRegistry, settings: Settings) -> list[Callable[..., Any]]:
    activities: list[Callable[..., Any]] = TwilioActivities(TwilioClients(orgs)).all()
    try:
        # Lazy: the AI module pulls in language/sentiment libraries and may be absent in a partial build.
        ai_module = importlib.import_module("activities.ai.activity")
    except ModuleNotFoundError as exc:
        if exc.name not in ("activities.ai.activity", "activities.ai"):
            raise
        log.error("activities.ai.activity is missing: the ai_turn activity is NOT registered")
        return activities
    activities.append(ai_module.AiActivities(settings).ai_turn)
    return activities
