"""Opening hours in the org's time zone (DST and holidays included): is a rep expected now, and when next.

Computed in UTC instants; the local calendar only decides which spans exist on which day. A span ending at
"24:00" runs to midnight; spans of adjacent days join (an overnight shift is "22:00-24:00" plus "00:00-06:00").
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.policy import WEEKDAYS, OpeningHours

# Opening hours repeat weekly: an opening, if there is one, lies within this many days (holidays may close
# weeks in a row, e.g. a seasonal closure).
_HORIZON_DAYS = 370


def _spans_on(day: date, hours: OpeningHours, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    if day in hours.holidays:
        return []
    spans: list[tuple[datetime, datetime]] = []
    for span in hours.weekly.get(WEEKDAYS[day.weekday()], []):
        start_text, end_text = span.split("-")
        start = datetime.combine(day, time.fromisoformat(start_text), tzinfo=zone)
        if end_text == "24:00":
            end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
        else:
            end = datetime.combine(day, time.fromisoformat(end_text), tzinfo=zone)
        spans.append((start, end))
    return spans


def always_open(hours: OpeningHours) -> bool:
    return not hours.weekly


def is_open(at: datetime, hours: OpeningHours) -> bool:
    if always_open(hours):
        return True
    zone = ZoneInfo(hours.timezone)
    local = at.astimezone(zone)
    for day in (local.date() - timedelta(days=1), local.date()):
        if any(start <= at < end for start, end in _spans_on(day, hours, zone)):
            return True
    return False


def next_opening(at: datetime, hours: OpeningHours) -> datetime | None:
    """The first instant at or after `at` when a rep is expected (`at` itself when open); None when the hours
    never open within the horizon (every day closed)."""
    if is_open(at, hours):
        return at
    zone = ZoneInfo(hours.timezone)
    first_day = at.astimezone(zone).date()
    for offset in range(_HORIZON_DAYS):
        for start, _ in sorted(_spans_on(first_day + timedelta(days=offset), hours, zone)):
            if start > at:
                return start
    return None


_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "pt": (
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}
_PATTERNS = {
    "en": "{weekday} {day} {month} at {clock}",
    "es": "{weekday} {day} de {month} a las {clock}",
    "pt": "{weekday}, {day} de {month}, às {clock}",
    "fr": "{weekday} {day} {month} à {clock}",
    "de": "{weekday}, {day}. {month} um {clock}",
}


def describe_opening(opening: datetime, timezone: str, language: str | None) -> str:
    """`opening` in the org's local time, in the contact's language: "Monday 7 December at 09:00 (CET)"."""
    base = (language or "en").split("-")[0].lower()
    lang = base if base in _PATTERNS else "en"
    local = opening.astimezone(ZoneInfo(timezone))
    text = _PATTERNS[lang].format(
        weekday=_WEEKDAYS[lang][local.weekday()],
        day=local.day,
        month=_MONTHS[lang][local.month - 1],
        clock=local.strftime("%H:%M"),
    )
    return f"{text} ({local.tzname()})"
