"""A contact's answer to the rating question: a tapped button (`csat_1` … `csat_5`) or a rating typed alone
("4", "4/5", "⭐⭐⭐⭐"). Anything else is not a rating (it goes to the AI as a normal message)."""

from __future__ import annotations

import re

SCALE = 5
BUTTON_PREFIX = "csat_"
_BUTTON = re.compile(rf"^{BUTTON_PREFIX}([1-{SCALE}])$")
_TYPED = re.compile(rf"^([1-{SCALE}])(\s*/\s*{SCALE})?[.!]?$")
_STARS = re.compile(r"^(⭐|★){1,5}$")


def rating_of(body: str | None, button_payload: str | None) -> int | None:
    if button_payload:
        tapped = _BUTTON.match(button_payload.strip())
        return int(tapped.group(1)) if tapped else None
    text = (body or "").strip()
    typed = _TYPED.match(text)
    if typed:
        return int(typed.group(1))
    if _STARS.match(text):
        return sum(1 for ch in text if ch in "⭐★")
    return None
