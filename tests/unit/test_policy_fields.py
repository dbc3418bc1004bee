"""The defaulted policy fields added for quiet AI sessions, AI timeouts and delivery read-backs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.policy import ConversationPolicy

BASE = dict(
    workspace_sid="WS1",
    workflow_sid="WW1",
    conversations_service_sid="IS1",
    ai_queue_sid="WQa",
    human_queue_sid="WQh",
    public_base_url="https://svc.example.com",
)


def test_defaults() -> None:
    p = ConversationPolicy(**BASE)
    assert (p.ai_session_idle_seconds, p.ai_turn_timeout_seconds, p.delivery_check_seconds) == (3600, 60, 600)


@pytest.mark.parametrize("field", ["ai_session_idle_seconds", "ai_turn_timeout_seconds", "delivery_check_seconds"])
def test_zero_or_negative_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ConversationPolicy(**BASE, **{field: 0})


def test_an_old_policy_without_the_fields_still_loads() -> None:
    """Running conversations carry their policy through continue-as-new: missing fields take the defaults."""
    p = ConversationPolicy.model_validate({**BASE, "queue_sla_seconds": 120})
    assert p.ai_session_idle_seconds == 3600 and p.queue_sla_seconds == 120
