"""Service settings from the environment (prefix `WAFH_`), pydantic-settings style."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # Conversations kept in the worker's workflow cache: ~290 KiB each measured (bench figure 6) on a ~350 MiB
    # baseline, so 1,000 keeps a worker near 650 MiB; an evicted conversation replays on its next event (~0.55 ms
    # per history event).
    max_cached_workflows: int = 1000
    # Workflow tasks in progress at once (the SDK's default, 100). With ordinary activities a task is short CPU
    # work, and more slots on a small machine gain nothing. Orgs on local activities may raise it: their task
    # stays in progress while its steps wait on Twilio.
    workflow_task_slots: int = 100
    # Payload encryption (AES-GCM): "id:base64key,id2:base64key2", first = current key. Unset = no encryption.
    codec_keys: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = None
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
