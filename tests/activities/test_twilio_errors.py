"""Error classification: 429/5xx retry (Retry-After honoured), other 4xx final with the Twilio code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.response import Response

from activities.twilio_activities import TwilioActivities
from activities.twilio_errors import (
    CLIENT_ERROR_TYPE,
    MAX_RETRY_AFTER,
    NETWORK_ERROR_TYPE,
    RETRYABLE_ERROR_TYPE,
    classify,
    parse_retry_after,
    twilio_errors,
)
from contracts.activities import FetchTaskInput
from tests.activities.fakes import WORKSPACE, Call, FakeClients, FakeHttp


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == timedelta(seconds=7)
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == timedelta(seconds=30)
    # A date in the past means "now", not a negative delay.
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == timedelta(0)


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "-3", "1.5"])
def test_retry_after_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("999999") == MAX_RETRY_AFTER


def test_429_is_retryable_with_next_retry_delay() -> None:
    exc = TwilioRestException(429, "https://x", "Too Many Requests", code=20429, method="POST")
    err = classify(exc, {"Retry-After": "3"})
    assert not err.non_retryable
    assert err.type == RETRYABLE_ERROR_TYPE
    assert err.next_retry_delay == timedelta(seconds=3)
    assert err.details[0] == {"status": 429, "code": 20429, "message": "Too Many Requests"}


def test_5xx_retryable_without_header_leaves_delay_to_policy() -> None:
    err = classify(TwilioRestException(503, "https://x", "unavailable"), {})
    assert not err.non_retryable and err.next_retry_delay is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412])
def test_4xx_is_final_with_code(status: int) -> None:
    err = classify(TwilioRestException(status, "https://x", "bad", code=21211), {"Retry-After": "5"})
    assert err.non_retryable
    assert err.type == CLIENT_ERROR_TYPE
    assert err.next_retry_delay is None
    assert err.details == ({"status": status, "code": 21211, "message": "bad"},)


def test_httpx_status_error_reads_twilio_body() -> None:
    request = httpx.Request("POST", "https://mcs.us1.twilio.com/v1/Services/IS/Media")
    response = httpx.Response(
        429, json={"code": 20429, "message": "slow down"}, headers={"Retry-After": "4"}, request=request
    )
    err = classify(httpx.HTTPStatusError("429", request=request, response=response))
    assert err.next_retry_delay == timedelta(seconds=4)
    assert err.details[0]["code"] == 20429
    bad = httpx.Response(400, text="not json", request=request)
    final = classify(httpx.HTTPStatusError("400", request=request, response=bad))
    assert final.non_retryable and final.details[0]["code"] is None


def _failed_page(status: int, body: str, headers: dict[str, str] | None = None) -> TwilioException:
    # What twilio's Page raises when a `.list()` page fails (twilio/base/page.py).
    return TwilioException("Unable to fetch page", Response(status, body, headers or {}))


def test_a_failed_list_page_is_classified_from_its_response() -> None:
    """`.list()` raises a plain TwilioException with the response, not a TwilioRestException: a 429 page must
    still wait Retry-After and a 404 page must still be final (it was an unclassified, always-retried error)."""
    slow = classify(_failed_page(429, '{"code": 20429, "message": "Too Many Requests"}', {"Retry-After": "2"}))
    assert slow.type == RETRYABLE_ERROR_TYPE and slow.next_retry_delay == timedelta(seconds=2)
    gone = classify(_failed_page(404, '{"code": 20404, "message": "not found"}'))
    assert gone.non_retryable and gone.type == CLIENT_ERROR_TYPE and gone.details[0]["code"] == 20404
    assert classify(_failed_page(503, "<html>")).details[0]["message"] == "Unable to fetch page"
    with pytest.raises(ApplicationError) as caught, twilio_errors(None, what="post_to_flex"):
        raise _failed_page(403, '{"code": 20003, "message": "forbidden"}')
    assert caught.value.non_retryable
    with pytest.raises(TwilioException, match="no response"), twilio_errors(None):
        raise TwilioException("no response here")  # nothing to classify it by: left alone


def test_network_errors_are_retryable() -> None:
    assert classify(requests.ConnectionError("refused")).type == NETWORK_ERROR_TYPE
    assert not classify(httpx.ConnectTimeout("t")).non_retryable


def test_classify_refuses_non_twilio_errors() -> None:
    with pytest.raises(TypeError):
        classify(KeyError("x"))


def test_context_manager_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), twilio_errors(None):
        raise KeyError("mine")


def test_retry_after_reaches_activity_through_real_client() -> None:
    """The SDK drops headers from its exception; the routing http client's copy must still give the delay."""
    http = FakeHttp()
    http.routes[("GET", f"/v1/Workspaces/{WORKSPACE}/Tasks/WT{'0' * 32}")] = lambda c: (
        429,
        {"code": 20429, "message": "Too Many Requests", "status": 429},
        {"Retry-After": "2"},
    )
    acts = TwilioActivities(FakeClients(http))
    with pytest.raises(ApplicationError) as info:
        acts.fetch_task(FetchTaskInput(org="acme", workspace_sid=WORKSPACE, task_sid="WT" + "0" * 32))
    assert info.value.next_retry_delay == timedelta(seconds=2)
    assert not info.value.non_retryable
    assert isinstance(http.calls[0], Call)


def test_404_reaches_activity_as_final() -> None:
    acts = TwilioActivities(FakeClients(FakeHttp()))
    with pytest.raises(ApplicationError) as info:
        acts.fetch_task(FetchTaskInput(org="acme", workspace_sid=WORKSPACE, task_sid="WT" + "0" * 32))
    assert info.value.non_retryable
    assert info.value.type == CLIENT_ERROR_TYPE
    assert info.value.details[0]["code"] == 20404
