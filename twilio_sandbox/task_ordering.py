"""`GET …/Tasks?Ordering=Priority:desc,DateCreated:asc`: TaskRouter's documented list orderings, parsed strictly
(bad input is a 400) and applied as one sort. The default is ascending DateCreated; ties end by SID so a page
boundary never moves."""

from __future__ import annotations

from datetime import datetime

from twilio_sandbox.errors import TwilioError
from twilio_sandbox.state import Task

ATTRIBUTES = ("DateCreated", "Priority", "VirtualStartTime")
DEFAULT = [("DateCreated", False)]


def parse_ordering(text: str | None) -> list[tuple[str, bool]]:
    """`[(attribute, descending), …]`. DateCreated and VirtualStartTime may not be combined (Twilio's rule)."""
    if text is None or not text.strip():
        return list(DEFAULT)
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        attribute, sep, order = part.strip().partition(":")
        if attribute not in ATTRIBUTES or not sep or order not in ("asc", "desc"):
            allowed = ", ".join(ATTRIBUTES)
            raise TwilioError(400, 20001, f"Invalid Ordering {part!r}: use Attribute:asc|desc, Attribute in {allowed}")
        if any(a == attribute for a, _ in out):
            raise TwilioError(400, 20001, f"Invalid Ordering: {attribute} appears twice")
        out.append((attribute, order == "desc"))
    names = {a for a, _ in out}
    if {"DateCreated", "VirtualStartTime"} <= names:
        raise TwilioError(400, 20001, "Invalid Ordering: DateCreated and VirtualStartTime cannot be combined")
    return out


def _key(task: Task, attribute: str) -> float:
    if attribute == "Priority":
        return float(task.priority)
    moment: datetime = task.date_created
    if attribute == "VirtualStartTime" and task.virtual_start_time is not None:
        moment = task.virtual_start_time
    return moment.timestamp()


def order_tasks(tasks: list[Task], ordering: list[tuple[str, bool]]) -> list[Task]:
    def key(task: Task) -> tuple[object, ...]:
        return (*(-_key(task, a) if desc else _key(task, a) for a, desc in ordering), task.date_created, task.sid)

    return sorted(tasks, key=key)
