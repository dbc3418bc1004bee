"""Service settings from the environment (prefix `WAFH_`), pydantic-settings style."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_TOKENS = frozenset({"change-me", "changeme", "replace-me", "placeholder", "...", "xxx", "todo"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAFH_", env_file=".env", extra="ignore")

    orgs_file: str = "orgs.toml"
    task_queue: str = "wa-flex-handoff"
    # Temporal connection itself comes from temporalio.envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, …).
    admin_token: SecretStr | None = None
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_ui_origin: str = "http://127.0.0.1:8233"
    metrics_port: int | None = None
    activity_threads: int = 16
    # Conversations kept in the worker's workflow cache (memory per conversation: bench/README.md); an evicted
    # one replays its history on its next event.
    max_cached_workflows: int = 1000
    # Workflow tasks in progress at once. Python runs them on one interpreter (GIL), so on a small machine more
    # slots only make each one slower: after a worker restart every open conversation replays at once, and with
    # the SDK's 100 slots on 2 cores those replays outlast the 10 s workflow task timeout and are all redone.
    workflow_task_slots: int = 8
    # Worker Versioning (docs/DESIGN.md §4): with both set, the worker joins this Worker Deployment as this build;
    # conversations move to a new build when it is set current (`temporal worker deployment set-current-version`).
    deployment_name: str | None = None
    build_id: str | None = None
    # Payload encryption (AES-GCM): "id:base64key,id2:base64key2", first = current key. Unset = no encryption.
    codec_keys: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = None
    log_level: str = "INFO"

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_no_placeholder(cls, token: SecretStr | None) -> SecretStr | None:
        # A copied example file must not leave the admin API and the codec guarded by a published word.
        if token is not None and token.get_secret_value().strip().lower().replace("_", "-") in PLACEHOLDER_TOKENS:
            raise ValueError("is a placeholder, generate a token (see .env.example)")
        return token


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
