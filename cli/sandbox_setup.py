"""What `run` (and `sandbox-setup`, for docker compose) wires in the Twilio sandbox: read the seed, write an orgs
file, route senders to the API."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import tomli_w
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


# The seed's rating contents: quick-reply buttons for inside the window, an approved template for after it.
RATING_BUTTONS = "rating_buttons"
RATING_TEMPLATE = "rating_request"

# An org setting as TOML: a string, number or flag, a date (holidays), or lists and tables of them (the nested
# settings: `queue_updates`, `business_hours`, `csat`).
OrgSetting = int | bool | str | float | date | list[Any] | Mapping[str, Any]


def sandbox_org_settings(seed: SandboxSeedInfo) -> dict[str, OrgSetting]:
    """What the sandbox org does beyond the defaults, so that a person trying it sees it: the typing indicator
    before every AI reply (the rules backend answers faster than the default second), and the rating question,
    when the seed has its contents."""
    settings: dict[str, OrgSetting] = {"typing_indicator_after_seconds": 0}
    buttons, template = seed.templates.get(RATING_BUTTONS), seed.templates.get(RATING_TEMPLATE)
    if buttons and template:
        settings["csat"] = {"enabled": True, "quick_reply_content_sid": buttons, "template_content_sid": template}
    return settings


def write_sandbox_orgs(
    seed: SandboxSeedInfo,
    data_dir: Path,
    *,
    public_base_url: str,
    sandbox_url: str,
    org_settings: Mapping[str, OrgSetting] | None = None,
    file_name: str = "orgs.sandbox.toml",
) -> Path:
    """Write `{data_dir}/{file_name}` for org "demo"; secrets go to 0600 files, not into the TOML. `org_settings`
    win over the sandbox org's own (a table, such as `csat`, is replaced whole)."""
    secrets_dir = data_dir / "secrets"
    secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)

    def secret(name: str, value: str) -> Path:
        path = secrets_dir / name
        path.write_text(value)
        os.chmod(path, 0o600)
        return path

    org: dict[str, Any] = {
        "account_sid": seed.account_sid,
        "auth_token_file": str(secret(f"{SANDBOX_ORG}_auth_token", seed.auth_token)),
    }
    if seed.api_key_sid and seed.api_key_secret:
        org["api_key_sid"] = seed.api_key_sid
        org["api_key_secret_file"] = str(secret(f"{SANDBOX_ORG}_api_key_secret", seed.api_key_secret))
    org |= {
        "workspace_sid": seed.workspace_sid,
        "workflow_sid": seed.workflow_sid,
        "conversations_service_sid": seed.conversations_service_sid,
        "ai_queue_sid": seed.ai_queue_sid,
        "human_queue_sid": seed.human_queue_sid,
        "task_channel": seed.task_channel,
        "whatsapp_numbers": list(seed.whatsapp_numbers),
        "public_base_url": public_base_url,
        "twilio_sandbox_url": sandbox_url,
        **sandbox_org_settings(seed),
        **(org_settings or {}),
        # The rating contents are the workflow's to send, not the reps'.
        "templates": {
            n: sid for n, sid in sorted(seed.templates.items()) if n not in (RATING_BUTTONS, RATING_TEMPLATE)
        },
    }
    header = "# Written by `wa-flex-handoff run` from the sandbox seed; rewritten at every start.\n"
    path = data_dir / file_name
    path.write_text(header + tomli_w.dumps({"orgs": {SANDBOX_ORG: org}}))
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
