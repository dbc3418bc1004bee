"""The AI's input and output within a turn (`answer_contact`), and the transcript lines it reads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from contracts.compact import Compact

Speaker = Literal["contact", "ai", "rep", "system"]
Sentiment = Literal["positive", "neutral", "negative"]


class TranscriptLine(BaseModel):
    speaker: Speaker
    text: str
    at: datetime


class HumanPart(Compact):
    """What the people wrote since a moment (the handoff): for the AI when a conversation comes back to it, and
    for a rep taking over a transfer (`rules.handback` builds it from the transcript)."""

    since: datetime
    contact_messages: int = 0
    rep_messages: int = 0
    latest_contact_message: str | None = None
    rep_said: list[str] = Field(default_factory=list)  # the reps' last few messages, oldest first


class AiTurnInput(Compact):
    backend: str = "rules"  # "rules" | "openai"
    org: str
    # The newest lines of the conversation (the org's `ai_context_chars`); the last `new_message_count` contact
    # lines are the ones to answer (a burst that arrived while the previous turn ran is answered once, together).
    transcript: list[TranscriptLine]
    new_message_count: int = 1
    # Task attributes set by others, flattened with the `flex_` prefix (see rules.flex_context).
    flex_context: dict[str, str] = Field(default_factory=dict)
    # Consecutive earlier AI turns that could not answer (the rules backend escalates after N of them).
    unanswered_turns: int = 0
    # Added with defaults (backward compatible): the rules backend escalates when this turn cannot answer
    # either and the contact has then gone `max_unanswered_turns` turns without an answer; `contact_name`
    # (WhatsApp profile name) only names the contact in the summary.
    max_unanswered_turns: int = 3
    contact_name: str | None = None
    # The reps' part of the previous session, when a rep held it: the AI builds on it rather than asking again.
    handback: HumanPart | None = None


class AiTurnResult(Compact):
    reply: str | None = None  # text for the contact; None when escalating without a reply
    escalate: bool = False
    reason: str | None = None  # short phrase, required when escalate
    summary: str = ""  # one paragraph
    sentiment: Sentiment = "neutral"
    language: str = "en"  # BCP-47
    answered: bool = True  # False when the backend could not answer the question (counts toward escalation)
