"""Queue position texts and the update schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.policy import QueueUpdates
from rules.queue_position import describe_wait, expected_wait, left_the_queue, next_update_at, update_text

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_the_wait_is_position_times_recent_acceptance_over_available_reps() -> None:
    assert expected_wait(3, 120.0, 2) == timedelta(seconds=180)
    assert expected_wait(3, 120.0, 0) == timedelta(seconds=360)  # nobody available: as if one were
    assert expected_wait(3, None, 2) is None and expected_wait(3, 0.0, 2) is None
    assert expected_wait(0, 120.0, 2) is None


def test_the_wait_in_words() -> None:
    assert describe_wait(timedelta(seconds=1), "en") == "1 minute"
    assert describe_wait(timedelta(seconds=61), "en") == "2 minutes"
    assert describe_wait(timedelta(minutes=119), "es") == "119 minutos"
    assert describe_wait(timedelta(minutes=120), "de-AT") == "2 Stunden"
    assert describe_wait(timedelta(minutes=95), "xx") == "95 minutes"


def test_texts_per_language_with_and_without_an_estimate() -> None:
    settings = QueueUpdates()
    assert update_text(2, timedelta(minutes=4), "es", settings) == (
        "Eres el número 2 en la cola. Espera estimada: unos 4 minutos."
    )
    assert update_text(1, None, "pt-BR", settings).startswith("Você é o número 1 na fila.")
    assert update_text(5, timedelta(minutes=9), "zz", settings).startswith("You are number 5 in line")


def test_at_once_then_every_interval_then_no_more() -> None:
    settings = QueueUpdates(every_seconds=300, max_updates=3)
    assert next_update_at(queued_since=T0, sent=0, last_sent_at=None, settings=settings) == T0
    later = T0 + timedelta(minutes=1)
    assert next_update_at(queued_since=T0, sent=1, last_sent_at=later, settings=settings) == later + timedelta(
        minutes=5
    )
    assert next_update_at(queued_since=T0, sent=3, last_sent_at=later, settings=settings) is None
    assert next_update_at(queued_since=T0, sent=0, last_sent_at=None, settings=QueueUpdates(enabled=False)) is None


def test_a_task_offered_to_a_rep_or_over_has_left_the_queue() -> None:
    for event_type in ("reservation.created", "reservation.accepted", "task.canceled", "task.completed"):
        assert left_the_queue(["task.updated", event_type]), event_type
    assert not left_the_queue(["task.updated", "reservation.rejected", "reservation.timeout"])
    assert not left_the_queue([])
