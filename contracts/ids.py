"""Workflow ids derived from (org, business number, contact address) and nothing else.

Every webhook routes without a lookup: Messaging webhooks carry From/To, TaskRouter events carry
`waHandoff.workflowId`, Conversations webhooks and status callbacks carry the key in their URL. The key is a hash so
that no phone number (PII) appears in workflow ids, URLs or the Temporal UI list.
"""

from __future__ import annotations

import hashlib
import re

WORKFLOW_ID_PREFIX = "wa-conv"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A WhatsApp business-scoped user id: country, optionally `ENT.` (a parent id), up to 128 alphanumerics.
BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
_CHANNEL = "whatsapp:"
_ORG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_KEY = re.compile(r"^[0-9a-f]{32}$")


def strip_channel(address: str) -> str:
    value = address.strip()
    return value[len(_CHANNEL) :] if value.lower().startswith(_CHANNEL) else value


def normalize_whatsapp_address(address: str) -> str:
    """A business number: `whatsapp:+14155550100` or `+14155550100` → `+14155550100`; anything else is refused."""
    number = strip_channel(address)
    if not E164.match(number):
        raise ValueError(f"not a WhatsApp E.164 address: {address!r}")
    return number


def is_bsuid(address: str) -> bool:
    return bool(BSUID.match(strip_channel(address)))


def normalize_contact_address(address: str) -> str:
    """A contact's address without the channel prefix: `+E164`, or a BSUID when the number is hidden."""
    value = strip_channel(address)
    if BSUID.match(value) or E164.match(value):
        return value
    raise ValueError(f"not a WhatsApp contact address (whatsapp:+E164 or whatsapp:<BSUID>): {address!r}")


def validate_org(org: str) -> str:
    if not _ORG.match(org):
        raise ValueError(f"invalid org name {org!r}: lowercase letters, digits, '-' and '_' only")
    return org


def conversation_key(org: str, business_number: str, contact_address: str) -> str:
    """Stable 32-hex key of one WhatsApp conversation."""
    material = "|".join(
        (validate_org(org), normalize_whatsapp_address(business_number), normalize_contact_address(contact_address))
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def validate_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"invalid conversation key {key!r}")
    return key


def workflow_id_for_key(org: str, key: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}:{validate_org(org)}:{validate_key(key)}"


def workflow_id(org: str, business_number: str, contact_address: str) -> str:
    return workflow_id_for_key(org, conversation_key(org, business_number, contact_address))


def parse_workflow_id(value: str) -> tuple[str, str]:
    """`wa-conv:{org}:{key}` → (org, key); raises ValueError for anything else."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != WORKFLOW_ID_PREFIX:
        raise ValueError(f"not a conversation workflow id: {value!r}")
    return validate_org(parts[1]), validate_key(parts[2])
