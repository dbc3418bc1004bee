"""Custom search attributes (docs/DESIGN.md §6.3). No PII may ever be put in them."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CONVERSATION_STATE = SearchAttributeKey.for_keyword("ConversationState")
HANDOFF_REQUESTED_AT = SearchAttributeKey.for_datetime("HandoffRequestedAt")
HANDOFF_STUCK = SearchAttributeKey.for_bool("HandoffStuck")
WINDOW_EXPIRES_AT = SearchAttributeKey.for_datetime("WindowExpiresAt")
FLEX_TASK_SID = SearchAttributeKey.for_keyword("FlexTaskSid")
ORG_ID = SearchAttributeKey.for_keyword("OrgId")

ALL_KEYS = (CONVERSATION_STATE, HANDOFF_REQUESTED_AT, HANDOFF_STUCK, WINDOW_EXPIRES_AT, FLEX_TASK_SID, ORG_ID)

# Name → the type name the `temporal` CLI takes in `--search-attribute Name=Type`.
CLI_TYPES: dict[str, str] = {
    "ConversationState": "Keyword",
    "HandoffRequestedAt": "Datetime",
    "HandoffStuck": "Bool",
    "WindowExpiresAt": "Datetime",
    "FlexTaskSid": "Keyword",
    "OrgId": "Keyword",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for name, type_name in CLI_TYPES.items():
        flags += ["--search-attribute", f"{name}={type_name}"]
    return flags
