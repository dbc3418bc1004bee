"""Texts per language: the one way a contact-facing text is chosen for a conversation's language."""

from __future__ import annotations

from collections.abc import Mapping

FALLBACK_LANGUAGE = "en"


def for_language(texts: Mapping[str, str], language: str | None) -> str:
    """The text for `language` (BCP-47): the exact tag, then its base (`pt-BR` → `pt`), then English, then any."""
    if not texts:
        raise ValueError("no texts configured")
    tag = (language or "").strip()
    for candidate in (tag, tag.split("-")[0].lower(), FALLBACK_LANGUAGE):
        if candidate and candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()))
