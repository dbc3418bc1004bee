"""Pure parts of the API: field parsing, timestamps, number masking, the public URL behind a proxy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from api.errors import ApiError
from api.forms import Fields, parse_body
from api.parse import Ignored, parse_conversation_event, parse_taskrouter_event
from api.signature import public_url
from contracts.contacts import mask_address
from rules.taskrouter_filter import SIGNALLED_EVENT_TYPES
from tests.api.twilio_signing import ACME_ACCOUNT, ACME_WORKSPACE, make_orgs

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ORGS = make_orgs()


def _fields(**values: str) -> Fields:
    return Fields(ImmutableMultiDict(values))


def test_mask_address_keeps_only_the_last_two_characters() -> None:
    assert mask_address("+14155238886") == "+*********86"
    assert mask_address("whatsapp:+14155238886") == "+*********86"
    assert mask_address("whatsapp:US.13491208655302741918") == "US.******************18"
    assert mask_address(None) is None
    assert "4155" not in (mask_address("+14155238886") or "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1764072000", datetime(2025, 11, 25, 12, 0, tzinfo=UTC)),
        ("1764072000000", datetime(2025, 11, 25, 12, 0, tzinfo=UTC)),
        ("2026-11-25T12:00:58.111Z", datetime(2026, 11, 25, 12, 0, 58, 111000, tzinfo=UTC)),
        ("2026-11-25T12:00:00", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
    ],
)
def test_taskrouter_timestamps_epoch_or_iso(value: str, expected: datetime) -> None:
    routed = parse_taskrouter_event(_task(Timestamp=value), ORGS.get("acme"), NOW)  # type: ignore[arg-type]
    assert not isinstance(routed, Ignored)
    assert routed.event.occurred_at == expected


def test_bad_timestamp_is_named() -> None:
    with pytest.raises(ApiError) as err:
        parse_taskrouter_event(_task(Timestamp="yesterday"), ORGS.get("acme"), NOW)  # type: ignore[arg-type]
    assert (err.value.status, err.value.field) == (422, "Timestamp")


def _task(**extra: str) -> Fields:
    base = {
        "Sid": "EV" + "1" * 32,
        "EventType": "task.completed",
        "AccountSid": ACME_ACCOUNT,
        "WorkspaceSid": ACME_WORKSPACE,
        "TaskSid": "WT" + "2" * 32,
        "TaskAttributes": '{"waHandoff": {"workflowId": "wa-conv:acme:' + "a" * 32 + '"}}',
    }
    return _fields(**(base | extra))


@pytest.mark.parametrize("event_type", sorted(SIGNALLED_EVENT_TYPES))
def test_taskrouter_event_types_the_workflow_acts_on_are_routed(event_type: str) -> None:
    routed = parse_taskrouter_event(_task(EventType=event_type), ORGS.get("acme"), NOW)  # type: ignore[arg-type]
    assert not isinstance(routed, Ignored) and routed.event.event_type == event_type


@pytest.mark.parametrize("event_type", ["task.created", "task.updated", "task-queue.entered", "workflow.entered"])
def test_other_taskrouter_event_types_of_our_task_are_ignored(event_type: str) -> None:
    routed = parse_taskrouter_event(_task(EventType=event_type), ORGS.get("acme"), NOW)  # type: ignore[arg-type]
    assert routed == Ignored(f"{event_type} is not used by the workflow")


def test_unused_taskrouter_event_of_ours_that_is_broken_is_still_refused() -> None:
    org = ORGS.get("acme")
    with pytest.raises(ApiError) as err:
        parse_taskrouter_event(_task(EventType="task.updated", Timestamp="yesterday"), org, NOW)  # type: ignore[arg-type]
    assert (err.value.status, err.value.field) == (422, "Timestamp")
    with pytest.raises(ApiError) as err:
        parse_taskrouter_event(_task(EventType="task.updated", TaskSid="XX1"), org, NOW)  # type: ignore[arg-type]
    assert (err.value.status, err.value.field) == (422, "TaskSid")
    with pytest.raises(ApiError) as err:
        parse_taskrouter_event(
            _task(EventType="task.updated", TaskAttributes='{"waHandoff": {"workflowId": "nope"}}'),
            org,  # type: ignore[arg-type]
            NOW,
        )
    assert (err.value.status, err.value.field) == (400, "TaskAttributes")


def test_conversation_state_events_get_their_own_dedup_id() -> None:
    fields = _fields(
        EventType="onConversationStateUpdated",
        AccountSid=ACME_ACCOUNT,
        ConversationSid="CH" + "3" * 32,
        StateFrom="active",
        StateTo="closed",
        StateUpdated="2026-11-25T12:00:00Z",
    )
    event = parse_conversation_event(fields, ORGS.get("acme"), NOW)  # type: ignore[arg-type]
    assert not isinstance(event, Ignored)
    assert event.dedup_id.startswith("onConversationStateUpdated:CH") and "closed" in event.dedup_id


def test_unused_conversation_events_are_ignored() -> None:
    fields = _fields(EventType="onTypingStarted", AccountSid=ACME_ACCOUNT, ConversationSid="CH" + "3" * 32)
    assert isinstance(parse_conversation_event(fields, ORGS.get("acme"), NOW), Ignored)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"\xff\xfe", None, 400),
        (b"Body=%FF", "application/x-www-form-urlencoded", 400),
        (b"[1]", "application/json", 400),
        (b"x", "text/plain", 415),
        (b"a=1&" * 1001, None, 400),
    ],
)
def test_bodies_that_are_not_twilio_forms(body: bytes, content_type: str | None, status: int) -> None:
    with pytest.raises(ApiError) as err:
        parse_body(body, content_type)
    assert err.value.status == status and err.value.detail


def test_repeated_fields_are_all_kept_for_the_signature() -> None:
    parsed = parse_body(b"a=2&a=1&b=", None)
    assert isinstance(parsed.signed_params, ImmutableMultiDict)
    assert parsed.signed_params.getlist("a") == ["2", "1"] and parsed.fields["b"] == ""


def _request(path: str, query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": raw,
        }
    )


def test_public_url_uses_the_configured_base_and_the_raw_query() -> None:
    acme = ORGS.get("acme")
    assert acme is not None
    request = _request("/webhooks/acme/whatsapp", "b=2&a=%20", {"X-Forwarded-Host": "evil.example"})
    assert public_url(request, acme) == "https://hooks.acme.example/webhooks/acme/whatsapp?b=2&a=%20"


def test_public_url_behind_a_trusted_proxy() -> None:
    proxied = ORGS.get("proxied")
    assert proxied is not None
    forwarded = {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "public.example:8443"}
    assert public_url(_request("/x", "", forwarded), proxied) == "http://public.example:8443/x"
    junk = {"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "bad host/with path"}
    assert public_url(_request("/x", "", junk), proxied) == "https://internal.proxy.example/x"
