"""Custom search attributes (docs/DESIGN.md §6.3). No PII may ever be put in them."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CONVERSATION_STATE = SearchAttributeKey.for_keyword("ConversationState")
HANDOFF_REQUESTED_AT = SearchAttributeKey.for_datetime("HandoffRequestedAt")
HANDOFF_STUCK = SearchAttributeKey.for_bool("HandoffStuck")
WINDOW_EXPIRES_AT = SearchAttributeKey.for_datetime("WindowExpiresAt")
FLEX_TASK_SID = SearchAttributeKey.for_keyword("FlexTaskSid")
ORG_ID = SearchAttributeKey.for_keyword("OrgId")
# The worker (WK…) holding the conversation: the AI worker, then the rep (a transfer moves it).
FLEX_WORKER_SID = SearchAttributeKey.for_keyword("FlexWorkerSid")
# A digest of the contact's business-scoped user id (contracts.contacts.contact_ref), never the id itself: finds
# the conversation of a contact who hides their number.
CONTACT_REF = SearchAttributeKey.for_keyword("ContactRef")
# The last rating the contact gave and when (the admin API's CSAT list and export).
CSAT_SCORE = SearchAttributeKey.for_int("CsatScore")
CSAT_AT = SearchAttributeKey.for_datetime("CsatAt")

ALL_KEYS = (
    CONVERSATION_STATE,
    HANDOFF_REQUESTED_AT,
    HANDOFF_STUCK,
    WINDOW_EXPIRES_AT,
    FLEX_TASK_SID,
    ORG_ID,
    FLEX_WORKER_SID,
    CONTACT_REF,
    CSAT_SCORE,
    CSAT_AT,
)

# Name → the type name the `temporal` CLI takes in `--search-attribute Name=Type`.
CLI_TYPES: dict[str, str] = {
    "ConversationState": "Keyword",
    "HandoffRequestedAt": "Datetime",
    "HandoffStuck": "Bool",
    "WindowExpiresAt": "Datetime",
    "FlexTaskSid": "Keyword",
    "OrgId": "Keyword",
    "FlexWorkerSid": "Keyword",
    "ContactRef": "Keyword",
    "CsatScore": "Int",
    "CsatAt": "Datetime",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for name, type_name in CLI_TYPES.items():
        flags += ["--search-attribute", f"{name}={type_name}"]
    return flags
