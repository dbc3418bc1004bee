"""Every activity the worker registers: the Twilio-facing ones plus the AI turn."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from activities.clients import TwilioClients
from activities.hand_off import HandOffActivity
from activities.turn import AnswerContactActivity
from activities.twilio_activities import TwilioActivities
from config.orgs import OrgRegistry
from config.settings import Settings

log = logging.getLogger(__name__)


def build_activities(
    orgs: OrgRegistry, settings: Settings, executor: Executor | None = None
) -> list[Callable[..., Any]]:
    """`executor`: the worker's activity threads, on which the lean turn runs its Twilio calls."""
    twilio = TwilioActivities(TwilioClients(orgs))
    activities: list[Callable[..., Any]] = [*twilio.all(), HandOffActivity(twilio, executor).hand_off]
    try:
        # Lazy: the AI module pulls in language/sentiment libraries and may be absent in a partial build.
        ai_module = importlib.import_module("activities.ai.activity")
    except ModuleNotFoundError as exc:
        if exc.name not in ("activities.ai.activity", "activities.ai"):
            raise
        log.error("activities.ai.activity is missing: the ai_turn activity is NOT registered")
        return activities
    ai = ai_module.AiActivities(settings)
    activities += [ai.ai_turn, AnswerContactActivity(twilio, ai.ai_turn, executor).answer_contact]
    return activities
