"""The fault judge's part for what the service tells the contact on its own: the queue updates while they wait for
a rep, and the rating asked when the rep is done (CSAT). Judged from the sandbox's record: what the service sent
the contact (`messaging.created`, with its time), what WhatsApp refused (`contact.failed`), when the rep accepted
(the human task `assigned`), and the Flex thread.

- Queue updates: at most `max_updates`, at least `every_seconds` apart (two closer together are one update sent
  twice), none after a rep accepted, none refused for the closed window (63016: sent outside it).
- CSAT: where the driver ended the rep's task, exactly one question (the rating content), none outside the
  window; where the contact tapped a rating, exactly one note of that score in the rated session's Flex thread and
  exactly one thank-you.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.policy import QueueUpdates

WINDOW_CLOSED = 63016
# A position read just before the rep accepted is sent after it: the read and the send each wait on Twilio (up to
# 2 s of injected latency per call, three calls). Later than this after the acceptance is an update too many.
ACCEPTANCE_RACE = timedelta(seconds=10)
# Timers fire a little early or late against the sandbox's clock readings.
SPACING_TOLERANCE = timedelta(seconds=1)
RATING_NOTE = re.compile(r"rated this conversation (\d)/5")


class Send(BaseModel):
    """One message the service created for the contact (`messaging.created`)."""

    sid: str
    body: str | None = None
    content_sid: str | None = None
    at: datetime  # wall clock of the sandbox's record
    error_code: int | None = None  # when WhatsApp refused it (`contact.failed`)


class FeatureEvidence(BaseModel):
    sends: list[Send] = Field(default_factory=list)
    rep_accepted_at: datetime | None = None  # the human task first `assigned`
    flex: list[dict[str, Any]] = Field(default_factory=list)
    # When the run jumped the sandbox's clock a day (wall time): the service's clock, the real one, still has the
    # window open after it, so a queue update refused then is the jump's doing, not the service's.
    clock_jumped_at: datetime | None = None


class Finding(BaseModel):
    category: Literal["lost", "duplicated", "wrong"]
    detail: str


def update_pattern(settings: QueueUpdates) -> re.Pattern[str]:
    """Any language's queue-update text, with or without a wait estimate."""
    alternatives = []
    for text in (*settings.texts.values(), *settings.no_estimate_texts.values()):
        escaped = re.escape(text).replace(r"\{position\}", r"\d+").replace(r"\{wait\}", r".+")
        alternatives.append(f"(?:{escaped})")
    return re.compile("^(?:" + "|".join(alternatives) + ")$")


def check_queue_updates(ev: FeatureEvidence, settings: QueueUpdates) -> list[Finding]:
    pattern = update_pattern(settings)
    updates = sorted((s for s in ev.sends if s.body and pattern.match(s.body)), key=lambda s: s.at)
    out: list[Finding] = []
    if len(updates) > settings.max_updates:
        out.append(
            Finding(category="duplicated", detail=f"{len(updates)} queue updates (at most {settings.max_updates})")
        )
    every = timedelta(seconds=settings.every_seconds)
    for before, after in pairwise(updates):
        if after.at - before.at < every - SPACING_TOLERANCE:
            gap = (after.at - before.at).total_seconds()
            out.append(Finding(category="duplicated", detail=f"queue update sent twice ({gap:.1f} s apart)"))
    if ev.rep_accepted_at is not None:
        late = [u for u in updates if u.at > ev.rep_accepted_at + ACCEPTANCE_RACE]
        if late:
            after_s = (late[0].at - ev.rep_accepted_at).total_seconds()
            out.append(
                Finding(
                    category="wrong", detail=f"{len(late)} queue update(s) after the rep accepted ({after_s:.0f} s)"
                )
            )
    jumped = ev.clock_jumped_at
    out += _outside_window([u for u in updates if jumped is None or u.at < jumped], "queue update")
    return out


def check_csat(
    ev: FeatureEvidence,
    *,
    question_sids: Iterable[str],
    thanks: str,
    asked: bool,
    rating: int | None,
) -> list[Finding]:
    """`asked`: the rep's task was ended by the driver (a question is due); `rating`: the score the contact
    tapped (None: they did not answer)."""
    wanted = set(question_sids)
    questions = [s for s in ev.sends if s.content_sid in wanted]
    out: list[Finding] = []
    if asked and len(questions) != 1:
        out.append(
            Finding(category="lost" if not questions else "duplicated", detail=f"{len(questions)} rating questions")
        )
    elif not asked and questions:
        out.append(Finding(category="wrong", detail="a rating question without a rep's session ending"))
    out += _outside_window(questions, "rating question")
    thanked = [s for s in ev.sends if s.body == thanks]
    out += _outside_window(thanked, "rating thank-you")
    notes = [int(m.group(1)) for m in (RATING_NOTE.search(str(f.get("body") or "")) for f in ev.flex) if m]
    if rating is None:
        if notes or thanked:
            out.append(Finding(category="wrong", detail="a rating recorded that the contact never gave"))
        return out
    if len(notes) != 1:
        out.append(Finding(category="lost" if not notes else "duplicated", detail=f"{len(notes)} rating notes in Flex"))
    elif notes != [rating]:
        out.append(Finding(category="wrong", detail=f"the rating note says {notes[0]}/5, the contact tapped {rating}"))
    delivered = [s for s in thanked if s.error_code is None]
    if len(delivered) != 1:
        out.append(
            Finding(category="lost" if not delivered else "duplicated", detail=f"{len(delivered)} rating thank-yous")
        )
    return out


def _outside_window(sends: list[Send], what: str) -> list[Finding]:
    refused = [s for s in sends if s.error_code == WINDOW_CLOSED]
    if not refused:
        return []
    return [Finding(category="wrong", detail=f"{len(refused)} {what}(s) sent outside the window (63016)")]


def sends_by_contact(entries: Iterable[dict[str, Any]]) -> dict[str, list[Send]]:
    """From the record: every message the service created, by the contact it went to, with WhatsApp's refusal."""
    failed: dict[str, int | None] = {}
    created: list[dict[str, Any]] = []
    for e in entries:
        if e["kind"] == "messaging.created":
            created.append(e)
        elif e["kind"] == "contact.failed":
            failed[e["message_sid"]] = e.get("error_code")
    out: dict[str, list[Send]] = {}
    for e in created:
        out.setdefault(str(e.get("to")), []).append(
            Send(
                sid=e["message_sid"],
                body=e.get("body"),
                content_sid=e.get("content_sid"),
                at=_wall(e),
                error_code=failed.get(e["message_sid"]),
            )
        )
    return out


def first_assigned(entries: Iterable[dict[str, Any]]) -> dict[str, datetime]:
    """Task SID → when the sandbox first recorded it `assigned` (a rep accepted it)."""
    out: dict[str, datetime] = {}
    for e in entries:
        if e["kind"] == "task.status" and e.get("status") == "assigned" and e["task_sid"] not in out:
            out[e["task_sid"]] = _wall(e)
    return out


def _wall(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(e["wall"]).replace("Z", "+00:00"))
