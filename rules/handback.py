"""What happened while people held the conversation, in a few lines: for the rep who takes a transfer (after the
handoff note) and for the AI when the conversation comes back to it. Built only from the transcript (no invented
facts): who wrote how much, the contact's latest question, and the reps' own words, quoted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contracts.ai import HumanPart, TranscriptLine
from rules.handoff_attributes import iso_utc

QUOTE_MAX = 200
REP_LINES_KEPT = 5


def describe(part: HumanPart) -> str:
    if not (part.contact_messages or part.rep_messages):
        return f"Nothing was written since {iso_utc(part.since)}."
    parts = [
        f"Since {iso_utc(part.since)} the contact wrote {part.contact_messages} message"
        f"{'' if part.contact_messages == 1 else 's'} and the reps {part.rep_messages}."
    ]
    if part.latest_contact_message:
        parts.append(f"The contact's latest message: {quote(part.latest_contact_message)}.")
    if part.rep_said:
        parts.append("The reps said: " + " / ".join(quote(line) for line in part.rep_said) + ".")
    return " ".join(parts)


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"“{flat}”"


def human_part(transcript: Sequence[TranscriptLine], since: datetime) -> HumanPart:
    lines = [line for line in transcript if line.at >= since]
    contact = [line.text for line in lines if line.speaker == "contact"]
    reps = [line.text for line in lines if line.speaker == "rep" and line.text.strip()]
    return HumanPart(
        since=since,
        contact_messages=len(contact),
        rep_messages=len(reps),
        latest_contact_message=contact[-1] if contact else None,
        rep_said=reps[-REP_LINES_KEPT:],
    )
