"""Hypothesis fuzz of every webhook endpoint, signed and unsigned: the answer is always a 4xx with a reason
or a 2xx; never a 5xx; and nothing but a valid signal payload ever reaches Temporal (a recording fake here)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from api.app import create_app
from api.responses import IGNORED_HEADER
from config.settings import Settings
from contracts.ids import workflow_id_for_key
from contracts.signals import ContactMessage, ConversationEvent, DeliveryStatus, TaskRouterEvent
from tests.api.twilio_signing import (
    ACME_ACCOUNT,
    ACME_BASE,
    ACME_SERVICE,
    ACME_WORKSPACE,
    BUSINESS,
    inbound_params,
    make_orgs,
    sign,
)

KEY = "c" * 32
WID = workflow_id_for_key("acme", KEY)
ALLOWED = {200, 204, 400, 403, 404, 413, 415, 422}
SIGNAL_TYPES = (ContactMessage, ConversationEvent, DeliveryStatus, TaskRouterEvent)


class _Handle:
    def __init__(self, owner: FakeTemporal, workflow_id: str) -> None:
        self.owner, self.workflow_id = owner, workflow_id

    async def signal(self, name: str, payload: Any, **_: Any) -> None:
        self.owner.record(self.workflow_id, name, payload)


class FakeTemporal:
    """Records what the API asks of Temporal and checks every payload is a valid, re-validatable model."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, BaseModel]] = []

    def record(self, workflow_id: str, name: str, payload: Any) -> None:
        assert isinstance(payload, SIGNAL_TYPES), type(payload)
        type(payload).model_validate_json(payload.model_dump_json())
        self.calls.append((workflow_id, name, payload))

    async def start_workflow(self, name: str, arg: Any, *, id: str, start_signal: str, **kw: Any) -> None:
        [message] = kw["start_signal_args"]
        assert isinstance(message, ContactMessage) and message.business_number == BUSINESS
        self.record(id, start_signal, message)

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return _Handle(self, workflow_id)


def _valid_params() -> dict[str, dict[str, str]]:
    wid_attrs = json.dumps({"waHandoff": {"workflowId": WID, "org": "acme"}})
    return {
        "/webhooks/acme/whatsapp": inbound_params("+15551230000"),
        f"/webhooks/acme/whatsapp/status/{KEY}": {
            "MessageSid": "SM" + "1" * 32,
            "MessageStatus": "failed",  # only failures are signalled
            "AccountSid": ACME_ACCOUNT,
            "ErrorCode": "",
        },
        f"/webhooks/acme/conversations/{KEY}": {
            "EventType": "onMessageAdded",
            "AccountSid": ACME_ACCOUNT,
            "ChatServiceSid": ACME_SERVICE,
            "ConversationSid": "CH" + "2" * 32,
            "MessageSid": "IM" + "3" * 32,
            "Author": "alice",
            "Body": "hello",
            "Attributes": "{}",
            "Media": json.dumps([{"Sid": "ME" + "4" * 32, "ContentType": "image/png", "Size": 3}]),
            "DateCreated": "2026-11-25T12:00:00.000Z",
        },
        "/webhooks/acme/taskrouter": {
            "Sid": "EV" + "5" * 32,
            "EventType": "reservation.created",
            "AccountSid": ACME_ACCOUNT,
            "WorkspaceSid": ACME_WORKSPACE,
            "TaskSid": "WT" + "6" * 32,
            "TaskAttributes": wid_attrs,
            "ReservationSid": "WR" + "7" * 32,
            "Timestamp": "1764072000",
        },
    }


VALID = _valid_params()  # built once: strategies must not draw from `random`
PATHS = sorted(VALID)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

weird_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "null", "[]", "{}", "[1,2]", '"str"', "-1", "1e999", "whatsapp:", "\x00", "💥" * 5]),
    st.builds(lambda n, c: c * n, st.sampled_from([10_000, 70_000]), st.sampled_from(["a", "é", "9"])),
    st.sampled_from(["whatsapp:+15551234567", "+14155238886", "AC" + "f" * 32, "SM" + "0" * 32, "WT" + "x" * 32]),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A valid event for a random endpoint, then fields dropped, replaced, added; sometimes 100 media."""
    path = draw(st.sampled_from(PATHS))
    params = dict(VALID[path])
    for name in draw(st.lists(st.sampled_from(sorted(params)), max_size=3, unique=True)):
        del params[name]
    for name in draw(st.lists(st.sampled_from(sorted(VALID[path])), max_size=3, unique=True)):
        params[name] = draw(weird_text)
    params.update(draw(st.dictionaries(st.text(min_size=1, max_size=20), weird_text, max_size=3)))
    if draw(st.booleans()):
        count = draw(st.sampled_from([1, 10, 11, 100]))
        params["NumMedia"] = str(count)
        for n in range(count):
            params[f"MediaUrl{n}"] = f"https://api.twilio.com/media/ME{n}"
            params[f"MediaContentType{n}"] = "image/jpeg"
    if path.endswith("taskrouter") and draw(st.booleans()):
        params["TaskAttributes"] = draw(
            st.sampled_from(["[1,2]", '"waHandoff"', "null", "3", '{"waHandoff": "x"}', '{"waHandoff": [1]}', "{"])
        )
    return path, params


class _Client:
    """Sync facade over httpx's ASGI transport (hypothesis tests are sync); app exceptions propagate."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def post(self, path: str, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
        async def _go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                return await http.post(path, content=content, headers=headers)

        return asyncio.run(_go())

    def post_signed(self, path: str, params: dict[str, str]) -> httpx.Response:
        """Form-encoded and signed with acme's token over the public URL, as Twilio sends it."""
        return self.post(
            path,
            content=urlencode(list(params.items())),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(ACME_BASE + path, params),
            },
        )


def _client() -> tuple[_Client, FakeTemporal]:
    fake = FakeTemporal()
    app = create_app(Settings(_env_file=None), make_orgs(), fake)  # type: ignore[arg-type]
    return _Client(app), fake


def _check(response: Any, fake: FakeTemporal, calls_before: int) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:300])
    new_calls = len(fake.calls) - calls_before
    if response.status_code >= 400:
        assert response.json()["detail"]
        assert new_calls == 0  # refused means nothing was signalled
    elif IGNORED_HEADER in response.headers:
        assert new_calls == 0
    else:
        assert new_calls == 1  # a 2xx that is not "ignored" recorded exactly one signal


@FUZZ
@given(case=mutated())
def test_signed_mutations_never_5xx(case: tuple[str, dict[str, str]]) -> None:
    path, params = case
    client, fake = _client()
    response = client.post_signed(path, params)
    _check(response, fake, 0)


@FUZZ
@given(
    path=st.sampled_from([*PATHS, "/webhooks/nobody/whatsapp", "/webhooks/acme/conversations/zz"]),
    body=st.one_of(
        st.binary(max_size=2000),
        st.sampled_from([b"Body=%FF%FE", b"\xff\xfe\x00", b"a=1&" * 2000, b"%", b"=&=&"]),
        st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=8).map(lambda d: urlencode(d).encode()),
    ),
    signature=st.one_of(st.none(), st.text(alphabet="abcdefABCDEF0123456789+/=", max_size=40)),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=x",
            "text/plain",
            None,
        ]
    ),
)
def test_unsigned_or_garbage_bodies_are_refused(
    path: str, body: bytes, signature: str | None, content_type: str | None
) -> None:
    client, fake = _client()
    headers: dict[str, str] = {}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert response.json()["detail"]
    assert fake.calls == []


@pytest.mark.parametrize("path", PATHS)
def test_each_valid_event_is_signalled_once(path: str) -> None:
    client, fake = _client()
    params = VALID[path]
    response = client.post_signed(path, params)
    assert response.status_code in (200, 204) and IGNORED_HEADER not in response.headers
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("path", "changes"),
    [
        (f"/webhooks/acme/whatsapp/status/{KEY}", {"MessageStatus": "delivered"}),
        (f"/webhooks/acme/whatsapp/status/{KEY}", {"MessageStatus": "read"}),
        ("/webhooks/acme/taskrouter", {"EventType": "task.updated"}),
        ("/webhooks/acme/taskrouter", {"EventType": "task.created"}),
    ],
)
def test_events_the_workflow_does_not_use_are_not_signalled(path: str, changes: dict[str, str]) -> None:
    client, fake = _client()
    params = VALID[path] | changes
    response = client.post_signed(path, params)
    assert response.status_code == 204 and response.headers[IGNORED_HEADER]
    assert fake.calls == []


def test_oversized_body_is_413() -> None:
    client, fake = _client()
    body = b"Body=" + b"a" * (1024 * 1024 + 1)
    response = client.post(
        "/webhooks/acme/whatsapp",
        content=body,
        headers={"X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413 and fake.calls == []
