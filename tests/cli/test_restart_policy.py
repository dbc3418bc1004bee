"""The supervisor's rule: restart with doubling backoff, give up after MAX_CRASHES within the window."""

from __future__ import annotations

import pytest

from cli.restart_policy import CrashHistory, backoff


@pytest.mark.parametrize(
    ("attempt", "delay"), [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (50, 30.0)]
)
def test_backoff_doubles_up_to_the_cap(attempt: int, delay: float) -> None:
    assert backoff(1.0, attempt, 30.0) == delay


def test_crashes_in_a_short_time_give_up_on_the_fifth() -> None:
    history = CrashHistory(max_crashes=5, window=120.0)
    decisions = [history.record(now) for now in (0.0, 1.0, 3.0, 7.0, 15.0)]
    assert [d.restart for d in decisions] == [True, True, True, True, False]
    assert [d.delay for d in decisions[:4]] == [1.0, 2.0, 4.0, 8.0]
    assert decisions[-1].crashes_in_window == 5


def test_crashes_spread_out_restart_forever() -> None:
    history = CrashHistory(max_crashes=5, window=120.0)
    decisions = [history.record(now) for now in range(0, 5000, 121)]
    assert all(d.restart and d.crashes_in_window == 1 and d.delay == 1.0 for d in decisions)


def test_the_window_forgets_old_crashes() -> None:
    history = CrashHistory(max_crashes=3, window=10.0)
    assert history.record(0.0).restart and history.record(1.0).restart
    later = history.record(20.0)  # the first two are out of the window
    assert later.restart and later.crashes_in_window == 1
