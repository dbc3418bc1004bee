"""The worker's activity list: every name from activities/models.py, once."""

from __future__ import annotations

import importlib.util

from temporalio.activity import _Definition

from activities.registry import build_activities
from config.settings import Settings
from contracts import activities as models
from tests.activities.fakes import org_registry

TWILIO_NAMES = {
    models.OPEN_FLEX_CONVERSATION,
    models.HAND_OFF,
    models.CREATE_INTERACTION,
    models.ACCEPT_AI_RESERVATION,
    models.POST_TO_FLEX,
    models.SEND_WHATSAPP,
    models.COPY_CONTACT_MEDIA_TO_FLEX,
    models.MERGE_HANDOFF_ATTRIBUTES,
    models.HAND_TO_HUMANS,
    models.FETCH_TASK,
    models.RELEASE_AI_TASK,
    models.FETCH_MESSAGE_STATUSES,
    models.ENSURE_AI_WORKER_AVAILABLE,
}


def test_every_activity_registered_once() -> None:
    acts = build_activities(org_registry(), Settings())
    names = []
    for fn in acts:
        defn = _Definition.from_callable(fn)
        assert defn is not None
        names.append(defn.name)
    assert len(names) == len(set(names))
    assert TWILIO_NAMES <= set(names)
    has_ai = importlib.util.find_spec("activities.ai.activity") is not None
    assert (len(names) == len(TWILIO_NAMES) + 2) == has_ai  # ai_turn and answer_contact
