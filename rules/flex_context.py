"""`flex_*` AI context: task attributes set by others, flattened (docs/DESIGN.md §6.1).

`order_id` → `flex_order_id`; nested objects join keys with `_` (`customer.tier` → `flex_customer_tier`);
lists, numbers, booleans and null become JSON text; an empty object becomes `"{}"` so its presence is not
lost. The service's own attributes and the six handoff attributes are not echoed back. When two paths flatten
to the same key (`{"a_b": 1, "a": {"b": 2}}`) the first one in the task's attribute order wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rules.handoff_attributes import HANDOFF_KEYS, SERVICE_KEYS

PREFIX = "flex_"
# Guards against pathological attributes (a rep tool writing a huge blob): the AI context stays small.
MAX_DEPTH = 8
MAX_KEYS = 200
MAX_VALUE_CHARS = 2000
# What Flex's Interactions API writes on every task it creates: routing bookkeeping (ids, the channel's
# direction), nothing about the contact. Left out, as the service's own keys are: the context rides on every AI
# turn's input into the workflow history.
FLEX_OWN_KEYS = frozenset(
    {"initiatedBy", "direction", "conversationSid", "flexInteractionSid", "flexInteractionChannelSid"}
)
FLEX_OWN_INSIGHTS_KEYS = frozenset({"initiated_by", "conversation_id", "media"})  # under `conversations`


def _leaf(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text[:MAX_VALUE_CHARS]


def _walk(prefix: str, value: Any, out: dict[str, str], depth: int) -> None:
    if len(out) >= MAX_KEYS:
        return
    if isinstance(value, Mapping) and value and depth < MAX_DEPTH:
        for k, v in value.items():
            _walk(f"{prefix}_{k}", v, out, depth + 1)
        return
    out.setdefault(prefix, _leaf(value))


def flatten_flex_context(attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """Task attributes → `{"flex_…": str}`; anything that is not an object gives an empty context."""
    out: dict[str, str] = {}
    if not isinstance(attributes, Mapping):
        return out
    skip = SERVICE_KEYS | HANDOFF_KEYS | FLEX_OWN_KEYS
    for key, value in attributes.items():
        if not isinstance(key, str) or key in skip:
            continue
        if key == "conversations" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k not in FLEX_OWN_INSIGHTS_KEYS}
            if not value:
                continue
        _walk(f"{PREFIX}{key}", value, out, 1)
    return out
