"""What the reps settled while they held the conversation, as the rules backend can use it on the AI's next
turn: topics a rep already answered (with the rep's own words) and an order number the contact gave a rep who
asked for it. Read only from the transcript since the handoff (`AiTurnInput.handback.since`) and the reps' last
lines (`HumanPart.rep_said`); nothing is invented.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from activities.ai.intents import RulesData
from activities.ai.text import fold
from contracts.ai import HumanPart, TranscriptLine


class Settled(BaseModel):
    # FAQ id → the rep's line that answered it (the latest one).
    answered: dict[str, str] = Field(default_factory=dict)
    order_id: str | None = None


def settled_by_reps(rules: RulesData, handback: HumanPart, transcript: Sequence[TranscriptLine]) -> Settled:
    since = [line for line in transcript if line.at >= handback.since and line.speaker in ("rep", "contact")]
    rep_lines = [line.text for line in since if line.speaker == "rep"] or list(handback.rep_said)
    out = Settled()
    for text in rep_lines:
        folded = fold(text)
        for entry in rules.faq:
            if entry.answered_by_rep(folded):
                out.answered[entry.id] = text
    out.order_id = _order_number_given(rules, since) or _order_number_in(rules, out.answered.get("order_status"))
    return out


def _order_number_given(rules: RulesData, lines: Sequence[TranscriptLine]) -> str | None:
    """The contact's answer to a rep who asked for the order number: the first order number in a contact
    line after the question (the latest question wins)."""
    found: str | None = None
    asked = False
    for line in lines:
        if line.speaker == "rep":
            if rules.handback.asks_order_number(fold(line.text)):
                asked = True
            continue
        if asked:
            number = _order_number_in(rules, line.text)
            if number is not None:
                found, asked = number, False
    return found


def _order_number_in(rules: RulesData, text: str | None) -> str | None:
    if not text:
        return None
    hit = rules.handback.order_number.search(text)
    return hit.group(0).lstrip("#") if hit else None
