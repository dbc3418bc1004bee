"""What the sandbox starts with: account, credentials, Flex workspace, reps, WhatsApp senders, templates.

Every seeded SID is derived from `salt`, so the same seed always yields the same account, workspace, queues,
reps and templates (and `/_sandbox/reset` returns to them); SIDs created later never repeat (`sids.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from twilio_sandbox.sids import derive_sid


class RepSeed(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$")
    identity: str
    full_name: str
    chat_capacity: int = Field(default=50, ge=1, le=1000)
    available: bool = True
    extra_attributes: dict[str, object] = Field(default_factory=dict)


class QuickReplySeed(BaseModel):
    model_config = {"extra": "forbid"}

    title: str = Field(min_length=1, max_length=20)
    id: str = Field(min_length=1, max_length=200)


class TemplateSeed(BaseModel):
    """A content template; with `quick_replies` it is a `twilio/quick-reply` content (with a `twilio/text`
    fallback of the same body)."""

    model_config = {"extra": "forbid"}

    name: str
    body: str
    language: str = "en"
    approved: bool = True
    category: str = "UTILITY"
    variables: dict[str, str] = Field(default_factory=dict)
    quick_replies: list[QuickReplySeed] = Field(default_factory=list, max_length=10)


def _default_reps() -> list[RepSeed]:
    return [
        RepSeed(name="alice", identity="alice", full_name="Alice Agent"),
        RepSeed(name="bob", identity="bob", full_name="Bob Agent"),
    ]


def _default_templates() -> list[TemplateSeed]:
    return [
        TemplateSeed(
            name="order_update",
            body="Hi {{1}}, your order {{2}} has shipped.",
            variables={"1": "Ana", "2": "42"},
        ),
        TemplateSeed(
            name="welcome_back",
            body="Welcome back, {{1}}! Reply to this message to continue the conversation.",
            variables={"1": "there"},
        ),
        # The rating question inside the window: three buttons, the most a session message may show.
        TemplateSeed(
            name="rating_buttons",
            body="How was your conversation with our team?",
            approved=False,
            quick_replies=[
                QuickReplySeed(title="Great", id="csat_5"),
                QuickReplySeed(title="OK", id="csat_3"),
                QuickReplySeed(title="Poor", id="csat_1"),
            ],
        ),
        # After the window: an approved template may show up to ten buttons, so the whole scale.
        TemplateSeed(
            name="rating_request",
            body="How would you rate your conversation with our team? 1 is poor, 5 is great.",
            quick_replies=[QuickReplySeed(title=f"{n}", id=f"csat_{n}") for n in range(1, 6)],
        ),
    ]


class SandboxSeed(BaseModel):
    model_config = {"extra": "forbid"}

    salt: str = "wa-flex-handoff-sandbox"
    auth_token: str = "5a9d1f0c3b7e4d2a8c6f1e9b0d3a7c5e"
    api_key_secret: str = "sandboxApiKeySecret0123456789abcd"
    workspace_name: str = "Flex Task Assignment"
    workflow_name: str = "Assign to AI or Anyone"
    task_reservation_timeout: int = Field(default=120, ge=1, le=86400)
    whatsapp_numbers: list[str] = Field(default_factory=lambda: ["+14155238886"])
    reps: list[RepSeed] = Field(default_factory=_default_reps)
    templates: list[TemplateSeed] = Field(default_factory=_default_templates)
    # Twilio's default capacity of a new worker's chat channel (the service's `connect` raises it for the AI).
    new_worker_chat_capacity: int = Field(default=1, ge=1)
    # Whether conversation-scoped webhooks fire for REST-created messages without X-Twilio-Webhook-Enabled
    # (unverified in Twilio's docs; off matches the service-level rule).
    scoped_webhooks_fire_on_rest: bool = False
    # Timeout for each webhook delivery (Twilio: 15 s Messaging/TaskRouter, 5 s Conversations).
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)

    @field_validator("whatsapp_numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        for n in numbers:
            if not n.startswith("+") or not n[1:].isdigit():
                raise ValueError(f"WhatsApp sender {n!r} is not +E164")
        return numbers

    def sid(self, prefix: str, name: str) -> str:
        return derive_sid(prefix, self.salt, f"fixed:{name}")

    @property
    def account_sid(self) -> str:
        return self.sid("AC", "account")

    @property
    def api_key_sid(self) -> str:
        return self.sid("SK", "api-key")

    @classmethod
    def load(cls, path: str | Path) -> SandboxSeed:
        """A JSON (or TOML) seed file; missing keys take the defaults."""
        p = Path(path)
        text = p.read_text()
        if p.suffix == ".toml":
            import tomllib

            return cls.model_validate(tomllib.loads(text))
        return cls.model_validate(json.loads(text))
