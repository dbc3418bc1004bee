"""twilio_rest.client.in_place_retry_delay: which failed Twilio requests are repeated inside the activity."""

from __future__ import annotations

import pytest

from twilio_rest.client import IN_PLACE_BACKOFF, IN_PLACE_RETRIES, MAX_IN_PLACE_WAIT, in_place_retry_delay


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_429_is_repeated_for_any_method_because_twilio_did_not_act_on_it(method: str) -> None:
    assert in_place_retry_delay(method, 429, "1", 0) == 1.0
    assert in_place_retry_delay(method, 429, None, 1) == IN_PLACE_BACKOFF * 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_repeated_only_for_reads(status: int) -> None:
    assert in_place_retry_delay("get", status, None, 0) == IN_PLACE_BACKOFF
    # A POST may have taken effect before the 5xx: the activity's idempotency decides, not a blind repeat.
    assert in_place_retry_delay("POST", status, None, 0) is None


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 404, 409, 412])
def test_answers_and_client_errors_are_never_repeated(status: int) -> None:
    assert in_place_retry_delay("GET", status, None, 0) is None


def test_repeats_are_bounded_then_the_activity_retry_policy_takes_over() -> None:
    assert in_place_retry_delay("GET", 503, None, IN_PLACE_RETRIES - 1) is not None
    assert in_place_retry_delay("GET", 503, None, IN_PLACE_RETRIES) is None


@pytest.mark.parametrize("retry_after", [str(int(MAX_IN_PLACE_WAIT) + 1), "3600", "Wed, 25 Nov 2026 20:00:00 GMT"])
def test_a_long_or_dated_retry_after_is_left_to_next_retry_delay(retry_after: str) -> None:
    assert in_place_retry_delay("GET", 429, retry_after, 0) is None
