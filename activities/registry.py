"""Every activity the worker registers, once each (a test checks them against `contracts.activities`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from activities.ai.activity import AiActivities
from activities.clients import TwilioClients
from activities.hand_off import HandOffActivity
from activities.policy import PolicyActivities
from activities.turn import AnswerContactActivity
from activities.twilio_activities import TwilioActivities
from config.orgs import OrgsSource
from config.settings import Settings


def build_activities(
    orgs: OrgsSource, settings: Settings, executor: Executor | None = None, *, ai: AiActivities | None = None
) -> list[Callable[..., Any]]:
    """`executor`: the worker's activity threads, on which the multi-step activities run their Twilio calls."""
    twilio = TwilioActivities(TwilioClients(orgs.current()))
    ai = ai or AiActivities(settings)
    return [
        *twilio.all(),
        HandOffActivity(twilio, executor).hand_off,
        AnswerContactActivity(twilio, ai.turn, executor).answer_contact,
        PolicyActivities(orgs).load_policy,
    ]
