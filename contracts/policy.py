"""Per-org behaviour the conversation workflow needs, free of secrets (it is stored in workflow history).

`config.orgs.OrgConfig` extends this model with credentials and connection settings, so every setting and its
default is written once, here; the workflow gets `OrgConfig.policy()`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

DEFAULT_BUSY_MESSAGE = "All our agents are busy right now. We will reply as soon as someone is free."


class ConversationPolicy(BaseModel):
    """Non-secret org settings handed to the workflow at start, carried through continue-as-new and refreshed
    from the orgs file at each continue-as-new (or at once, by the `apply_policy` update)."""

    # SIDs the workflow names in activity inputs (not secrets).
    workspace_sid: str
    workflow_sid: str
    conversations_service_sid: str
    ai_queue_sid: str
    human_queue_sid: str
    task_channel: str = "chat"
    ai_worker_name: str = "AI Support Agent"
    # Base of the conversation-scoped webhook and per-message StatusCallback URLs.
    public_base_url: str
    # Template name → Content SID (HX…), for `/template <name> …` typed by a rep and the admin API.
    templates: dict[str, str] = Field(default_factory=dict)
    # A handoff not accepted by a rep within this long raises the stuck flag (and sends `busy_message`).
    queue_sla_seconds: int = Field(default=300, gt=0)
    busy_message: str | None = DEFAULT_BUSY_MESSAGE
    # The workflow completes after this quiet period with no session and the window closed.
    idle_close_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    ai_backend: str = Field(default="rules", pattern=r"^(rules|openai)$")
    # An AI-held session ends (the AI's task is released, freeing its chat capacity) after this quiet period,
    # and at the latest when the 24-hour window closes; the next contact message opens a new session.
    ai_session_idle_seconds: int = Field(default=3600, gt=0)
    # One AI attempt's limit; after `ai_attempts` the conversation goes to a rep ("AI unavailable").
    ai_turn_timeout_seconds: int = Field(default=60, gt=0)
    # A sent message without a final status callback after this long is read back from Twilio (Messages fetch).
    delivery_check_seconds: int = Field(default=600, gt=0)
    # Diagnostics: continue-as-new after this many events in one run instead of when Temporal suggests it (tests
    # and fault runs put many run boundaries under load with it). Unset in production.
    continue_as_new_after_events: int | None = Field(default=None, ge=1)

    @field_validator("templates")
    @classmethod
    def _templates_are_content_sids(cls, templates: dict[str, str]) -> dict[str, str]:
        for name, sid in templates.items():
            if not (sid.startswith("HX") and len(sid) == 34):
                raise ValueError(f"template {name!r}: {sid!r} is not a Content SID (HX…)")
        return templates

    @field_validator("public_base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")
