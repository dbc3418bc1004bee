"""Per-org behaviour the workflow needs, free of secrets (it is stored in workflow history)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

# Workflow task timeout of a conversation whose org runs local activities (start option; continue-as-new
# inherits it). Such a task runs its steps inside (a handoff turn: up to ~15 Twilio calls); the SDK heartbeats
# a long task at 80 % of the timeout, but the fault run showed retried tasks that were not heartbeated time
# out again and again when their steps outlasted it. Ordinary activities keep the server's default (10 s):
# a task on a worker that died is taken over sooner.
LOCAL_ACTIVITIES_TASK_TIMEOUT = timedelta(seconds=60)


class ConversationPolicy(BaseModel):
    """Non-secret org settings handed to the workflow at start and carried through continue-as-new."""

    # SIDs the workflow must name in activity inputs (not secrets).
    workspace_sid: str
    workflow_sid: str
    conversations_service_sid: str
    ai_queue_sid: str
    human_queue_sid: str
    task_channel: str = "chat"
    ai_worker_name: str = "AI Support Agent"
    # Base for the conversation-scoped webhook and per-message StatusCallback URLs.
    public_base_url: str
    # Template name → Content SID (HX…), for `/template <name> …` typed by a rep.
    templates: dict[str, str] = Field(default_factory=dict)
    queue_sla_seconds: int = 300
    busy_message: str | None = "All our agents are busy right now. We will reply as soon as someone is free."
    idle_close_seconds: int = 7 * 24 * 3600
    ai_backend: str = "rules"
    # An AI-held session ends (the AI's task is released, freeing its chat capacity) after this quiet period,
    # and at the latest when the 24-hour window closes; the next contact message opens a new session.
    ai_session_idle_seconds: int = Field(default=3600, ge=1)
    # One AI turn attempt (activity start-to-close); after the retries run out the conversation goes to a rep.
    ai_turn_timeout_seconds: int = Field(default=60, ge=1)
    # A sent message without a final status callback after this long is read back from Twilio (Messages fetch).
    delivery_check_seconds: int = Field(default=600, ge=1)
    # Opt-in: Twilio steps and the AI turn as local activities. All those of one workflow task are one billed
    # action with no server round trip each (a steady AI turn: 3 actions instead of 6, bench figure 5). Off by
    # default: under the fault suite (2 s per Twilio call, 5xx, worker kills) long tasks of local steps timed
    # out and were redone whole, and conversations stalled; ordinary activities lose at most one step to a
    # dying worker. For orgs whose Twilio answers fast and workers rarely die.
    local_activities: bool = False


def workflow_task_timeout(policy: ConversationPolicy) -> timedelta | None:
    """The start option for a conversation of this policy (None: the server's default)."""
    return LOCAL_ACTIVITIES_TASK_TIMEOUT if policy.local_activities else None
