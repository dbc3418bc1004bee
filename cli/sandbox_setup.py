"""What `run` (and `sandbox-setup`, for docker compose) wires in the Twilio sandbox: read the seed, write an orgs
file, route senders to the API."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from cli.errors import CliError

SANDBOX_ORG = "demo"


class SandboxRep(BaseModel):
    worker_sid: str
    name: str
    identity: str


class SandboxSeedInfo(BaseModel):
    """`GET /_sandbox/seed` (only the fields we use; the sandbox may send more)."""

    base_url: str | None = None
    account_sid: str
    auth_token: str
    api_key_sid: str | None = None
    api_key_secret: str | None = None
    workspace_sid: str
    workflow_sid: str
    ai_queue_sid: str
    human_queue_sid: str
    task_channel: str = "chat"
    conversations_service_sid: str
    whatsapp_numbers: list[str] = Field(min_length=1)
    templates: dict[str, str] = Field(default_factory=dict)
    reps: list[SandboxRep] = Field(default_factory=list)


def fetch_seed(sandbox_url: str) -> SandboxSeedInfo:
    try:
        response = httpx.get(f"{sandbox_url}/_sandbox/seed", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise CliError(
            f"Cannot read the sandbox seed at {sandbox_url} ({exc}).", "start it: `wa-flex-handoff sandbox`."
        ) from None
    return SandboxSeedInfo.model_validate(response.json())


def register_sender(sandbox_url: str, number: str, webhook_url: str) -> None:
    """Inbound WhatsApp messages to `number` go to `webhook_url` (like a sender's webhook in Twilio)."""
    response = httpx.post(
        f"{sandbox_url}/_sandbox/senders", json={"number": number, "webhook_url": webhook_url}, timeout=10
    )
    if response.status_code >= 400:
        raise CliError(
            f"The sandbox refused the sender webhook for {number}: HTTP {response.status_code} {response.text[:200]}.",
            "check the sandbox log.",
        )


def _toml_str(value: str) -> str:
    # JSON's string escapes (\n, \", \\, \uXXXX) are all valid in a TOML basic string: nothing can break out.
    return json.dumps(value)


# An org setting as TOML: a string, number or flag, a date (holidays), or lists and tables of them (the nested
# settings: `queue_updates`, `business_hours`, `csat`).
OrgSetting = Any


def _toml_setting(value: OrgSetting) -> str:
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, bool | int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_str(str(k))} = {_toml_setting(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_setting(v) for v in value) + "]"
    raise TypeError(f"an org setting cannot be {type(value).__name__}")


def write_sandbox_orgs(
    seed: SandboxSeedInfo,
    data_dir: Path,
    *,
    public_base_url: str,
    sandbox_url: str,
    org_settings: Mapping[str, OrgSetting] | None = None,
    file_name: str = "orgs.sandbox.toml",
) -> Path:
    """Write `{data_dir}/{file_name}` for org "demo"; secrets go to 0600 files, not into the TOML."""
    secrets_dir = data_dir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)

    def secret(name: str, value: str) -> Path:
        path = secrets_dir / name
        path.write_text(value)
        os.chmod(path, 0o600)
        return path

    token_file = secret(f"{SANDBOX_ORG}_auth_token", seed.auth_token)
    lines = [
        "# Written by `wa-flex-handoff run` from the sandbox seed; rewritten at every start.",
        f"[orgs.{SANDBOX_ORG}]",
        f"account_sid = {_toml_str(seed.account_sid)}",
        f"auth_token_file = {_toml_str(str(token_file))}",
    ]
    if seed.api_key_sid and seed.api_key_secret:
        key_file = secret(f"{SANDBOX_ORG}_api_key_secret", seed.api_key_secret)
        lines += [
            f"api_key_sid = {_toml_str(seed.api_key_sid)}",
            f"api_key_secret_file = {_toml_str(str(key_file))}",
        ]
    lines += [
        f"workspace_sid = {_toml_str(seed.workspace_sid)}",
        f"workflow_sid = {_toml_str(seed.workflow_sid)}",
        f"conversations_service_sid = {_toml_str(seed.conversations_service_sid)}",
        f"ai_queue_sid = {_toml_str(seed.ai_queue_sid)}",
        f"human_queue_sid = {_toml_str(seed.human_queue_sid)}",
        f"task_channel = {_toml_str(seed.task_channel)}",
        "whatsapp_numbers = [" + ", ".join(_toml_str(n) for n in seed.whatsapp_numbers) + "]",
        f"public_base_url = {_toml_str(public_base_url)}",
        f"twilio_sandbox_url = {_toml_str(sandbox_url)}",
        *(f"{name} = {_toml_setting(value)}" for name, value in sorted((org_settings or {}).items())),
        "",
        f"[orgs.{SANDBOX_ORG}.templates]",
        *(f"{_toml_str(name)} = {_toml_str(sid)}" for name, sid in sorted(seed.templates.items())),
        "",
    ]
    path = data_dir / file_name
    path.write_text("\n".join(lines))
    return path


def wire_sandbox(
    sandbox_url: str,
    data_dir: Path,
    *,
    public_base_url: str,
    org_settings: Mapping[str, OrgSetting] | None = None,
    file_name: str = "orgs.sandbox.toml",
) -> Path:
    """Write the demo org's orgs file from the sandbox's seed and point its WhatsApp senders at the API's webhook;
    returns the orgs file."""
    seed = fetch_seed(sandbox_url)
    orgs_file = write_sandbox_orgs(
        seed,
        data_dir,
        public_base_url=public_base_url,
        sandbox_url=sandbox_url,
        org_settings=org_settings,
        file_name=file_name,
    )
    for number in seed.whatsapp_numbers:
        register_sender(sandbox_url, number, f"{public_base_url}/webhooks/{SANDBOX_ORG}/whatsapp")
    return orgs_file
