"""Orgs: one Twilio account + Flex workspace each, loaded from a TOML file with secrets from the environment.

```toml
[orgs.acme]
account_sid = "AC…"
auth_token_env = "ACME_TWILIO_AUTH_TOKEN"      # or auth_token_file = "/run/secrets/acme"
workspace_sid = "WS…"
...
```
Secrets are `SecretStr`: they never appear in `repr`, logs or workflow history (the workflow gets a
`ConversationPolicy`, which has none).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from contracts.ids import normalize_whatsapp_address, validate_org
from contracts.policy import ConversationPolicy


class ConfigError(Exception):
    """Misconfiguration, with the key at fault in the message."""


def _read_secret(env_name: str | None, file_name: str | None, env: Mapping[str, str], what: str) -> SecretStr | None:
    if env_name:
        value = env.get(env_name)
        if not value:
            raise ConfigError(f"{what}: environment variable {env_name} is not set")
        return SecretStr(value)
    if file_name:
        path = Path(file_name)
        if not path.is_file():
            raise ConfigError(f"{what}: secret file {file_name} does not exist")
        return SecretStr(path.read_text().strip())
    return None


class OrgConfig(BaseModel):
    """One org as written in the orgs file (secrets referenced, not inlined)."""

    model_config = {"extra": "forbid"}

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token_env: str | None = None
    auth_token_file: str | None = None
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    api_key_secret_env: str | None = None
    api_key_secret_file: str | None = None
    workspace_sid: str = Field(pattern=r"^WS[0-9a-fA-F]{32}$")
    workflow_sid: str = Field(pattern=r"^WW[0-9a-fA-F]{32}$")
    conversations_service_sid: str = Field(pattern=r"^IS[0-9a-fA-F]{32}$")
    ai_queue_sid: str = Field(pattern=r"^WQ[0-9a-fA-F]{32}$")
    human_queue_sid: str = Field(pattern=r"^WQ[0-9a-fA-F]{32}$")
    task_channel: str = "chat"
    ai_worker_name: str = "AI Support Agent"
    whatsapp_numbers: list[str] = Field(min_length=1)
    templates: dict[str, str] = Field(default_factory=dict)
    public_base_url: str
    trust_proxy: bool = False
    # Set to the sandbox URL (e.g. http://127.0.0.1:8400) to use the local Twilio sandbox; unset = real Twilio.
    twilio_sandbox_url: str | None = None
    queue_sla_seconds: int = Field(default=300, gt=0)
    busy_message: str | None = "All our agents are busy right now. We will reply as soon as someone is free."
    idle_close_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    ai_backend: str = Field(default="rules", pattern=r"^(rules|openai)$")
    ai_session_idle_seconds: int = Field(default=3600, gt=0)
    ai_turn_timeout_seconds: int = Field(default=60, gt=0)
    delivery_check_seconds: int = Field(default=600, gt=0)
    local_activities: bool = False  # opt-in, see ConversationPolicy.local_activities
    # Concurrent AI-held conversations: the AI worker's chat capacity that `connect` sets.
    ai_chat_capacity: int = Field(default=50, gt=0)

    @field_validator("whatsapp_numbers")
    @classmethod
    def _numbers_are_e164(cls, numbers: list[str]) -> list[str]:
        return [normalize_whatsapp_address(n) for n in numbers]

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

    @model_validator(mode="after")
    def _some_credentials(self) -> OrgConfig:
        if not (self.auth_token_env or self.auth_token_file):
            raise ValueError("auth_token_env or auth_token_file is required (the auth token signs webhooks)")
        return self


class Org(BaseModel):
    """A loaded org: its config plus resolved secrets."""

    name: str
    config: OrgConfig
    auth_token: SecretStr
    api_key_secret: SecretStr | None = None

    def policy(self) -> ConversationPolicy:
        c = self.config
        return ConversationPolicy(
            workspace_sid=c.workspace_sid,
            workflow_sid=c.workflow_sid,
            conversations_service_sid=c.conversations_service_sid,
            ai_queue_sid=c.ai_queue_sid,
            human_queue_sid=c.human_queue_sid,
            task_channel=c.task_channel,
            ai_worker_name=c.ai_worker_name,
            public_base_url=c.public_base_url,
            templates=dict(c.templates),
            queue_sla_seconds=c.queue_sla_seconds,
            busy_message=c.busy_message,
            idle_close_seconds=c.idle_close_seconds,
            ai_backend=c.ai_backend,
            ai_session_idle_seconds=c.ai_session_idle_seconds,
            ai_turn_timeout_seconds=c.ai_turn_timeout_seconds,
            delivery_check_seconds=c.delivery_check_seconds,
            local_activities=c.local_activities,
        )


class OrgRegistry:
    """All configured orgs, by name."""

    def __init__(self, orgs: dict[str, Org]) -> None:
        self._orgs = orgs

    def get(self, name: str) -> Org | None:
        return self._orgs.get(name)

    def names(self) -> list[str]:
        return sorted(self._orgs)

    def __len__(self) -> int:
        return len(self._orgs)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], env: Mapping[str, str] | None = None) -> OrgRegistry:
        env = os.environ if env is None else env
        raw_orgs = data.get("orgs")
        if not isinstance(raw_orgs, dict) or not raw_orgs:
            raise ConfigError("orgs: no [orgs.<name>] table found")
        orgs: dict[str, Org] = {}
        for name, raw in raw_orgs.items():
            try:
                validate_org(name)
            except ValueError as exc:
                raise ConfigError(f"orgs.{name}: {exc}") from None
            try:
                cfg = OrgConfig.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ConfigError(f"orgs.{name}.{where}: {first['msg']}") from None
            token = _read_secret(cfg.auth_token_env, cfg.auth_token_file, env, f"orgs.{name}.auth_token")
            key_secret = _read_secret(
                cfg.api_key_secret_env, cfg.api_key_secret_file, env, f"orgs.{name}.api_key_secret"
            )
            if cfg.api_key_sid and key_secret is None:
                raise ConfigError(f"orgs.{name}.api_key_secret_env: required when api_key_sid is set")
            assert token is not None  # guaranteed by OrgConfig._some_credentials
            orgs[name] = Org(name=name, config=cfg, auth_token=token, api_key_secret=key_secret)
        return cls(orgs)

    @classmethod
    def load(cls, path: str | Path, env: Mapping[str, str] | None = None) -> OrgRegistry:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"orgs file {p} does not exist (set WAFH_ORGS_FILE)")
        try:
            data = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"orgs file {p}: {exc}") from None
        return cls.from_mapping(data, env)
