"""Which Flex conversation messages are our own posts echoed back by Conversations (never relayed)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from contracts.activities import IDEMPOTENCY_ATTR


def is_own_echo(author: str | None, attributes: Mapping[str, Any], own_authors: Collection[str]) -> bool:
    """A message the service posted (as the contact, the AI or the system), or one with no author: not a rep's.

    Our posts are made with webhooks disabled, so an echo means a misconfigured webhook or a system message;
    either way relaying it would send the contact their own words or an internal note."""
    name = (author or "").strip()
    return not name or name in own_authors or IDEMPOTENCY_ATTR in attributes
