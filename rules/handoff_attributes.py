"""Task attributes the service writes: at creation (identity of the contact and our routing object)
and the six
handoff attributes (docs/DESIGN.md §6.1), plus the merge that never drops an attribute someone else set."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules.window import as_utc

# The six task attributes of a handoff, in the order a person reads them.
HANDOFF_ATTRIBUTES = (
    "handedOff",
    "handoffReason",
    "handoffSummary",
    "handoffSentiment",
    "handoffLanguage",
    "handoffTimestamp",
)
HANDOFF_KEYS = frozenset(HANDOFF_ATTRIBUTES)
SERVICE_NAMESPACE = "waHandoff"
SERVICE_KEYS = frozenset(
    {"name", "customerName", "customerAddress", "customers", "from", "channelType", SERVICE_NAMESPACE}
)
SENTIMENTS = ("positive", "neutral", "negative")
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_REASON_CHARS = 200
MAX_SUMMARY_CHARS = 2000


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, second precision (what Twilio and Flex UIs display)."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_language(language: str | None) -> str:
    """A BCP-47 tag (`pt_BR` → `pt-BR`); anything unusable becomes `und` (undetermined), never a crash."""
    tag = (language or "").strip().replace("_", "-")
    if not _BCP47.match(tag):
        return "und"
    head, *rest = tag.split("-")
    return "-".join([head.lower(), *[p.upper() if len(p) == 2 else p for p in rest]])


def build_handoff_attributes(
    *, reason: str | None, summary: str | None, sentiment: str | None, language: str | None, at: datetime
) -> dict[str, Any]:
    """Exactly the six attributes, values cleaned (the AI's output is not trusted to be well-formed)."""
    clean_reason = " ".join((reason or "").split())[:MAX_REASON_CHARS] or "handoff requested"
    clean_sentiment = sentiment if sentiment in SENTIMENTS else "neutral"
    return {
        "handedOff": True,
        "handoffReason": clean_reason,
        "handoffSummary": (summary or "").strip()[:MAX_SUMMARY_CHARS],
        "handoffSentiment": clean_sentiment,
        "handoffLanguage": normalize_language(language),
        "handoffTimestamp": iso_utc(at),
    }


def merge_attributes(existing: Mapping[str, Any] | None, handoff: Mapping[str, Any]) -> dict[str, Any]:
    """`existing` with the six handoff attributes set; every other key (anyone's) is kept."""
    unknown = set(handoff) - HANDOFF_KEYS
    if unknown:
        raise ValueError(f"not handoff attributes: {sorted(unknown)}")
    merged = dict(existing) if isinstance(existing, Mapping) else {}
    merged.update(handoff)
    return merged


def build_task_attributes(
    *,
    profile_name: str | None,
    contact_address: str,
    phone: str | None = None,
    username: str | None = None,
    workflow_id: str,
    org: str,
    session_id: str,
) -> dict[str, Any]:
    """Attributes of a session's task at creation: the contact's name where Flex shows a name (`name`,
    `customerName`, and `customers.name`, which Flex Insights reads), their address where Flex expects one
    (`from`, `customerAddress`, `customers.phone` when the number is known). The name is the profile name *now*:
    a task keeps it even if the contact changes their WhatsApp name later (the next task takes the new one)."""
    name = (profile_name or "").strip() or (username or "").strip() or contact_address
    address = f"whatsapp:{contact_address}"
    customers: dict[str, str] = {"name": name}
    if phone:
        customers["phone"] = phone
    return {
        "name": name,
        "customerName": name,
        "customerAddress": address,
        "customers": customers,
        "from": address,
        "channelType": "whatsapp",
        SERVICE_NAMESPACE: {"workflowId": workflow_id, "org": org, "sessionId": session_id},
    }


def session_id_of(attributes: Mapping[str, Any] | None) -> str | None:
    """`waHandoff.sessionId` of task attributes, if well-formed."""
    if not isinstance(attributes, Mapping):
        return None
    ns = attributes.get(SERVICE_NAMESPACE)
    if isinstance(ns, Mapping) and isinstance(ns.get("sessionId"), str):
        return str(ns["sessionId"])
    return None
