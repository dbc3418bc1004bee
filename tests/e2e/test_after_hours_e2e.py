"""End to end (dev server, sandbox, worker, API), judged from the sandbox's record: a handoff outside business
hours tells the contact, in their language, when a person will answer — across a daylight-saving change and a
run of holidays — and still routes the task to the humans.

The workflow's clock is real on the dev server, so the org's hours are chosen around today's real date: Madrid
time, open only on Mondays 09:00–18:00, and every Monday from today until after Madrid's next spring-forward is a
holiday. The next opening is then the first Monday after that change, in summer time (CEST), with the change (and
from December to March, today's winter time, CET) in between — computed here from the rule itself, and formatted
here, not by the service's own code."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Stack, stack_with
from tests.e2e.steps import says, sent_to
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

MADRID = ZoneInfo("Europe/Madrid")


def spring_forward_after(today: date) -> date:
    """The next day Madrid's clocks move to summer time (UTC+1 → UTC+2)."""
    day = today
    while True:
        before = datetime.combine(day, time(0, 0), MADRID).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0, 0), MADRID).utcoffset()
        if before == timedelta(hours=1) and after == timedelta(hours=2):
            return day
        day += timedelta(days=1)


TODAY = datetime.now(MADRID).date()
DST = spring_forward_after(TODAY)
THIS_MONDAY = TODAY - timedelta(days=TODAY.weekday())
# Every Monday from this week's (today, if it is one) to the last before the change: holidays.
MONDAYS_OFF = [THIS_MONDAY + timedelta(weeks=w) for w in range((DST - THIS_MONDAY).days // 7 + 1)]
OPENING = datetime.combine(MONDAYS_OFF[-1] + timedelta(weeks=1), time(9, 0), MADRID)
HOURS = {
    "timezone": "Europe/Madrid",
    "weekly": {"mon": ["09:00-18:00"]},
    "holidays": MONDAYS_OFF,
    "when_closed": "route",
}
EN_MONTHS = "January February March April May June July August September October November December".split()
ES_MONTHS = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()


closed = stack_with({"business_hours": HOURS}, name="closed")


async def test_the_chosen_hours_put_the_opening_after_the_dst_change_and_the_holidays() -> None:
    assert OPENING.weekday() == 0 and DST < OPENING.date() <= DST + timedelta(days=7)
    assert OPENING.utcoffset() == timedelta(hours=2) and OPENING.tzname() == "CEST"
    assert all(d.weekday() == 0 and d < DST for d in MONDAYS_OFF) and MONDAYS_OFF[0] <= TODAY
    assert MONDAYS_OFF[-1] == OPENING.date() - timedelta(weeks=1)  # the Monday before it was a holiday


async def after_hours_message(conv: Conversation, asking: str, answer_starts: str) -> str:
    await says(conv, asking)
    state = (await conv.wait_state("queued"))["state"]
    task = await conv.task(state["human_task_sid"])
    assert task["queue"] == conv.stack.seed.human_queue_sid  # routed at once: reps see it when they come online

    async def told() -> list[str]:
        return [str(e["body"]) for e in await sent_to(conv) if str(e.get("body") or "").startswith(answer_starts)]

    [text] = await eventually("the after-hours message", told)
    delivered = [m["body"] for m in await conv.delivered()]
    assert delivered.count(text) == 1
    return text


async def test_the_contact_learns_the_opening_in_summer_time_after_the_holidays(closed: Stack) -> None:
    conv = Conversation(closed)
    text = await after_hours_message(
        conv, "Hi, I want to talk to a human agent, please.", "Our team is away right now."
    )
    opening = f"Monday {OPENING.day} {EN_MONTHS[OPENING.month - 1]} at 09:00 (CEST)"
    # The window closes long before then: the contact also hears that the business will write to them.
    assert text == (
        f"Our team is away right now. A person will answer from {opening}. "
        "If you do not write again before then, we will follow up here with a message."
    )
    detail = (await conv.state())["state"]
    assert detail["handoff_held_until"] is None and detail["queue_updates_sent"] == 0


async def test_in_the_contacts_language(closed: Stack) -> None:
    conv = Conversation(closed)
    text = await after_hours_message(
        conv, "Hola, quiero hablar con una persona, por favor.", "Nuestro equipo no está disponible ahora."
    )
    assert f"a partir del lunes {OPENING.day} de {ES_MONTHS[OPENING.month - 1]} a las 09:00 (CEST)." in text
    assert text.endswith("te contactaremos por aquí con un mensaje.")
