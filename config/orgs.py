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

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.ids import normalize_whatsapp_address, validate_org
from contracts.policy import ConversationPolicy

log = logging.getLogger(__name__)


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


# Twilio SID prefixes of the policy's SID settings (checked here: tests build policies with short stand-ins).
_SID_PREFIXES = {
    "workspace_sid": "WS",
    "workflow_sid": "WW",
    "conversations_service_sid": "IS",
    "ai_queue_sid": "WQ",
    "human_queue_sid": "WQ",
}
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


class OrgConfig(ConversationPolicy):
    """One org as written in the orgs file: the conversation policy plus credentials (referenced, not inlined)
    and connection settings."""

    model_config = ConfigDict(extra="forbid")

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token_env: str | None = None
    auth_token_file: str | None = None
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    api_key_secret_env: str | None = None
    api_key_secret_file: str | None = None
    whatsapp_numbers: list[str] = Field(min_length=1)
    trust_proxy: bool = False
    # Set to the sandbox URL (e.g. http://127.0.0.1:8400) to use the local Twilio sandbox; unset = real Twilio.
    twilio_sandbox_url: str | None = None
    # Concurrent AI-held conversations: the AI worker's chat capacity that `connect` sets.
    ai_chat_capacity: int = Field(default=50, gt=0)

    @field_validator("whatsapp_numbers")
    @classmethod
    def _numbers_are_e164(cls, numbers: list[str]) -> list[str]:
        return [normalize_whatsapp_address(n) for n in numbers]

    @field_validator(*_SID_PREFIXES)
    @classmethod
    def _sid_of_its_kind(cls, value: str, info: ValidationInfo) -> str:
        prefix = _SID_PREFIXES[str(info.field_name)]
        if not (_SID.match(value) and value.startswith(prefix)):
            raise ValueError(f"not a {prefix}… SID")
        return value

    @model_validator(mode="after")
    def _some_credentials(self) -> OrgConfig:
        if not (self.auth_token_env or self.auth_token_file):
            raise ValueError("auth_token_env or auth_token_file is required (the auth token signs webhooks)")
        return self

    def policy(self) -> ConversationPolicy:
        """The workflow's part of this org's settings (no credentials)."""
        return ConversationPolicy.model_validate(self.model_dump(include=set(ConversationPolicy.model_fields)))


class Org(BaseModel):
    """A loaded org: its config plus resolved secrets."""

    name: str
    config: OrgConfig
    auth_token: SecretStr
    api_key_secret: SecretStr | None = None

    def policy(self) -> ConversationPolicy:
        return self.config.policy()


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

    def current(self) -> OrgRegistry:
        """A fixed set of orgs is its own current version (see `OrgsFile` for one that follows the file)."""
        return self

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


class OrgsSource(Protocol):
    """Where the worker reads an org's settings: a fixed registry, or the orgs file as it is now."""

    def current(self) -> OrgRegistry: ...


class OrgsFile:
    """The orgs file as it is now: re-read when it changes, so edited settings reach open conversations without
    a restart. A file that no longer loads keeps the last good orgs (and says so once per change)."""

    def __init__(self, path: str | Path, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self._env = env
        self._stamp: tuple[int, int] | None = None
        self._orgs: OrgRegistry | None = None
        self.last_error: str | None = None

    def current(self) -> OrgRegistry:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if self._orgs is None or (stamp is not None and stamp != self._stamp):
            try:
                self._orgs = OrgRegistry.load(self.path, self._env)
                self.last_error = None
            except ConfigError as exc:
                if self._orgs is None:
                    raise
                if self.last_error != str(exc):
                    log.warning("the orgs file no longer loads (keeping the last good one): %s", exc)
                self.last_error = str(exc)
            self._stamp = stamp
        return self._orgs
