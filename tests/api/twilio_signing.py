"""Test helpers: orgs, Twilio-style signing, form bodies."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from config.orgs import OrgRegistry

ACME_TOKEN = "acme-auth-token-0123456789abcdef"
BETA_TOKEN = "beta-auth-token-fedcba9876543210"
ADMIN_TOKEN = "admin-token-for-api-tests"
ACME_ACCOUNT = "AC" + "a1" * 16
BETA_ACCOUNT = "AC" + "b2" * 16
ACME_WORKSPACE = "WS" + "a3" * 16
ACME_SERVICE = "IS" + "a4" * 16
BUSINESS = "+14155238886"
BETA_BUSINESS = "+14155230000"
ACME_BASE = "https://hooks.acme.example"
PROXY_BASE = "https://internal.proxy.example"


def org_entry(account: str, token_env: str, number: str, base: str, suffix: str, **extra: object) -> dict[str, object]:
    """An org's settings as in the orgs file, its SIDs made from `suffix`."""
    return {
        "account_sid": account,
        "auth_token_env": token_env,
        "workspace_sid": "WS" + suffix * 16,
        "workflow_sid": "WW" + suffix * 16,
        "conversations_service_sid": "IS" + suffix * 16,
        "ai_queue_sid": "WQ" + suffix * 16,
        "human_queue_sid": "WQ" + suffix[::-1] * 16,
        "whatsapp_numbers": [number],
        "templates": {"order_update": "HX" + "0f" * 16},
        "public_base_url": base,
        **extra,
    }


def make_orgs() -> OrgRegistry:
    acme = org_entry(ACME_ACCOUNT, "ACME_TOKEN", BUSINESS, ACME_BASE, "a3")
    acme["conversations_service_sid"] = ACME_SERVICE
    data = {
        "orgs": {
            "acme": acme,
            "beta": org_entry(BETA_ACCOUNT, "BETA_TOKEN", BETA_BUSINESS, "https://hooks.beta.example", "b5"),
            # Behind a proxy that rewrites the host: X-Forwarded-* is trusted for this org only.
            "proxied": org_entry(ACME_ACCOUNT, "ACME_TOKEN", BUSINESS, PROXY_BASE, "c6", trust_proxy=True),
            # Only used by the admin list tests, so that their counts are not disturbed by other tests.
            "listing": org_entry(ACME_ACCOUNT, "ACME_TOKEN", BUSINESS, ACME_BASE, "d7"),
        }
    }
    return OrgRegistry.from_mapping(data, env={"ACME_TOKEN": ACME_TOKEN, "BETA_TOKEN": BETA_TOKEN})


def sign(url: str, params: Mapping[str, str] | Sequence[tuple[str, str]], token: str = ACME_TOKEN) -> str:
    validator = RequestValidator(token)
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        multi.setdefault(k, []).append(v)

    class _Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    return validator.compute_signature(url, _Multi(multi))


async def post_signed(
    http: httpx.AsyncClient,
    path: str,
    params: Mapping[str, str],
    token: str = ACME_TOKEN,
    base: str = ACME_BASE,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST the form as Twilio would: body form-encoded, signed over `base + path` with `token`."""
    return await http.post(
        path,
        content=urlencode(list(params.items())),
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "X-Twilio-Signature": sign(base + path, params, token),
            **(headers or {}),
        },
    )


def new_contact() -> str:
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def sid(prefix: str) -> str:
    return prefix + "".join(random.choice("0123456789abcdef") for _ in range(32))


def inbound_params(contact: str, body: str = "hello there", **extra: str) -> dict[str, str]:
    params = {
        "MessageSid": sid("SM"),
        "SmsMessageSid": "",
        "AccountSid": ACME_ACCOUNT,
        "From": f"whatsapp:{contact}",
        "To": f"whatsapp:{BUSINESS}",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": contact.lstrip("+"),
        "ApiVersion": "2010-04-01",
    }
    params["SmsMessageSid"] = params["MessageSid"]
    params.update(extra)
    return params
