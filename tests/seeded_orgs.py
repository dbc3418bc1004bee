"""An org registry for the sandbox's seed, for tests that run the service's parts in-process."""

from __future__ import annotations

from typing import Any

from config.orgs import OrgRegistry

TOKEN_ENV = "SANDBOX_TOKEN"


def seeded_orgs(seed: dict[str, Any], *, org: str, public_base_url: str, sandbox_url: str | None) -> OrgRegistry:
    """One org on the seed's account, workspace and senders; its REST calls go to `sandbox_url` (None: real
    Twilio's hosts, for parts that never call Twilio)."""
    config: dict[str, Any] = {
        "account_sid": seed["account_sid"],
        "auth_token_env": TOKEN_ENV,
        "workspace_sid": seed["workspace_sid"],
        "workflow_sid": seed["workflow_sid"],
        "conversations_service_sid": seed["conversations_service_sid"],
        "ai_queue_sid": seed["ai_queue_sid"],
        "human_queue_sid": seed["human_queue_sid"],
        "whatsapp_numbers": seed["whatsapp_numbers"],
        "templates": seed["templates"],
        "public_base_url": public_base_url,
    }
    if sandbox_url is not None:
        config["twilio_sandbox_url"] = sandbox_url
    return OrgRegistry.from_mapping({"orgs": {org: config}}, env={TOKEN_ENV: seed["auth_token"]})
