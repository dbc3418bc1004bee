"""Opening hours in the org's time zone: boundaries, a DST change, holidays, overnight spans, languages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.policy import OpeningHours
from rules.business_hours import always_open, describe_opening, is_open, next_opening

MADRID = OpeningHours(
    timezone="Europe/Madrid",
    weekly={d: ["09:00-14:00", "15:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    holidays=[date(2026, 12, 8), date(2026, 12, 25)],
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_open_exactly_from_the_start_to_just_before_the_end() -> None:
    # 2026-12-02 is a Wednesday; Madrid is UTC+1 in winter.
    assert not is_open(utc(2026, 12, 2, 7, 59, 59), MADRID)
    assert is_open(utc(2026, 12, 2, 8, 0), MADRID)
    assert is_open(utc(2026, 12, 2, 12, 59, 59), MADRID)
    assert not is_open(utc(2026, 12, 2, 13, 0), MADRID)  # the lunch break
    assert is_open(utc(2026, 12, 2, 14, 0), MADRID)
    assert not is_open(utc(2026, 12, 2, 17, 0), MADRID)


def test_next_opening_after_hours_on_a_friday_is_monday_morning() -> None:
    friday_evening = utc(2026, 12, 4, 18, 30)  # 19:30 in Madrid
    assert next_opening(friday_evening, MADRID) == utc(2026, 12, 7, 8, 0)


def test_a_holiday_is_closed_all_day_and_the_next_opening_skips_it() -> None:
    monday_evening = utc(2026, 12, 7, 19, 0)
    assert not is_open(utc(2026, 12, 8, 10, 0), MADRID)  # Tuesday 8 December: a holiday
    assert next_opening(monday_evening, MADRID) == utc(2026, 12, 9, 8, 0)


def test_the_opening_follows_a_dst_change() -> None:
    # Madrid moves to UTC+2 on Sunday 29 March 2026: Monday 09:00 local is 07:00 UTC, not 08:00.
    saturday = utc(2026, 3, 28, 12, 0)
    assert next_opening(saturday, MADRID) == utc(2026, 3, 30, 7, 0)
    assert describe_opening(utc(2026, 3, 30, 7, 0), "Europe/Madrid", "en") == "Monday 30 March at 09:00 (CEST)"


def test_open_now_is_its_own_next_opening_and_no_hours_means_always_open() -> None:
    now = utc(2026, 12, 2, 9, 0)
    assert next_opening(now, MADRID) == now
    anytime = OpeningHours()
    assert always_open(anytime) and is_open(utc(2026, 12, 25, 3, 0), anytime)


def test_an_overnight_shift_across_midnight() -> None:
    nights = OpeningHours(timezone="UTC", weekly={"fri": ["22:00-24:00"], "sat": ["00:00-06:00"]})
    assert is_open(utc(2026, 12, 4, 23, 59), nights) and is_open(utc(2026, 12, 5, 0, 0), nights)
    assert not is_open(utc(2026, 12, 5, 6, 0), nights)
    assert next_opening(utc(2026, 12, 5, 7, 0), nights) == utc(2026, 12, 11, 22, 0)


def test_hours_that_never_open_have_no_next_opening() -> None:
    closed = OpeningHours(timezone="UTC", weekly={"mon": ["09:00-10:00"]}, holidays=[])
    every_monday_a_holiday = closed.model_copy(
        update={"holidays": [date(2026, 12, 7) + timedelta(weeks=w) for w in range(60)]}
    )
    assert next_opening(utc(2026, 12, 5, 0, 0), every_monday_a_holiday) is None


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "lunes 7 de diciembre a las 09:00 (CET)"),
        ("pt-BR", "segunda-feira, 7 de dezembro, às 09:00 (CET)"),
        ("fr", "lundi 7 décembre à 09:00 (CET)"),
        ("de", "Montag, 7. Dezember um 09:00 (CET)"),
        ("ja", "Monday 7 December at 09:00 (CET)"),
        (None, "Monday 7 December at 09:00 (CET)"),
    ],
)
def test_the_opening_in_the_contacts_language(language: str | None, expected: str) -> None:
    assert describe_opening(utc(2026, 12, 7, 8, 0), "Europe/Madrid", language) == expected


def test_bad_spans_and_weekdays_are_refused() -> None:
    with pytest.raises(ValueError, match="not a span"):
        OpeningHours(weekly={"mon": ["18:00-09:00"]})
    with pytest.raises(ValueError, match="not a weekday"):
        OpeningHours(weekly={"monday": ["09:00-18:00"]})
