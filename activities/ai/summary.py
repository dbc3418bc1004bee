"""The one-paragraph handoff summary, built only from facts in the input (no invented details)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "ar": "Arabic",
}
QUOTE_MAX = 160


class SummaryFacts(BaseModel):
    who: str | None = None  # contact's name, when known
    language: str
    contact_messages: int = Field(ge=0)
    asked_topics: list[str] = Field(default_factory=list)  # distinct, first-asked first
    answered_topics: list[str] = Field(default_factory=list)
    unmatched_messages: int = Field(0, ge=0)  # contact messages the assistant had no answer for
    latest_message: str = ""
    order_id: str | None = None
    sentiment: str = "neutral"
    escalation_reason: str | None = None


def join_words(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"“{flat}”"


def build_summary(facts: SummaryFacts) -> str:
    who = facts.who.strip() if facts.who and facts.who.strip() else "The contact"
    lang_name = LANGUAGE_NAMES.get(facts.language, facts.language)
    plural = "" if facts.contact_messages == 1 else "s"
    parts = [f"{who} sent {facts.contact_messages} WhatsApp message{plural}, in {lang_name} ({facts.language})."]
    if facts.asked_topics:
        parts.append(f"They asked about {join_words(facts.asked_topics)}.")
    if facts.answered_topics:
        parts.append(f"The assistant answered about {join_words(facts.answered_topics)}.")
    if facts.unmatched_messages:
        n = facts.unmatched_messages
        parts.append(f"The assistant could not answer {n} message{'' if n == 1 else 's'}.")
    if facts.order_id:
        parts.append(f"Order on file: {facts.order_id}.")
    if facts.latest_message.strip():
        parts.append(f"Latest message: {quote(facts.latest_message)}.")
    parts.append(f"Sentiment: {facts.sentiment}.")
    if facts.escalation_reason:
        parts.append(f"Handed off because: {facts.escalation_reason}.")
    return " ".join(parts)
