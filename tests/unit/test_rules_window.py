from datetime import UTC, datetime, timedelta, timezone

from rules import window

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_deadline_is_24h_after_the_message():
    assert window.deadline_for_message(T0, T0 + timedelta(seconds=5)) == T0 + timedelta(hours=24)


def test_future_timestamp_is_clamped_to_now():
    # Sender clock 10 minutes ahead: we must not believe the window is open longer than WhatsApp does.
    now = T0
    assert window.deadline_for_message(T0 + timedelta(minutes=10), now) == now + timedelta(hours=24)


def test_late_delivery_counts_from_the_message_time():
    late = T0 + timedelta(hours=3)
    assert window.deadline_for_message(T0, late) == T0 + timedelta(hours=24)


def test_naive_and_other_zone_timestamps_are_utc():
    naive = datetime(2026, 3, 1, 12, 0)
    plus2 = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert window.deadline_for_message(naive, T0) == T0 + timedelta(hours=24)
    assert window.deadline_for_message(plus2, T0) == T0 + timedelta(hours=24)


def test_extend_never_moves_earlier():
    current = T0 + timedelta(hours=30)
    # An out-of-order older message arrives: the deadline stays.
    assert window.extend(current, T0, T0 + timedelta(hours=6)) == current
    assert window.extend(None, T0, T0) == T0 + timedelta(hours=24)
    assert window.extend(T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1)) == T0 + timedelta(hours=25)


def test_exactly_24h_is_closed():
    deadline = T0 + timedelta(hours=24)
    assert window.is_open(deadline, deadline - timedelta(microseconds=1))
    assert not window.is_open(deadline, deadline)
    assert not window.is_open(None, T0)


def test_remaining():
    deadline = T0 + timedelta(hours=24)
    assert window.remaining(deadline, T0) == timedelta(hours=24)
    assert window.remaining(deadline, deadline + timedelta(hours=1)) == timedelta(0)
    assert window.remaining(None, T0) == timedelta(0)


def test_published_expiry_exact_in_rep_states_else_the_next_full_hour() -> None:
    deadline = datetime(2026, 11, 25, 12, 0, 1, tzinfo=UTC)
    assert window.published_expiry(deadline, exact=True) == deadline
    assert window.published_expiry(deadline, exact=False) == datetime(2026, 11, 25, 13, tzinfo=UTC)
    on_the_hour = datetime(2026, 11, 25, 13, tzinfo=UTC)
    assert window.published_expiry(on_the_hour, exact=False) == on_the_hour
    # Messages within the same hour of deadlines publish the same value: no upsert per AI turn.
    later = deadline + timedelta(minutes=59, seconds=58)
    assert window.published_expiry(later, exact=False) == window.published_expiry(deadline, exact=False)
    assert window.published_expiry(None, exact=False) is None
