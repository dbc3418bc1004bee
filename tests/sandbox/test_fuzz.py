"""Bad input never crashes the sandbox: every answer is a well-formed Twilio error (or a success), never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_names = st.sampled_from(
    [
        "Attributes",
        "Body",
        "Author",
        "MediaSid",
        "To",
        "From",
        "ContentSid",
        "ContentVariables",
        "Channel",
        "Routing",
        "Type",
        "MediaProperties",
        "Status",
        "ReservationStatus",
        "AssignmentStatus",
        "Reason",
        "FriendlyName",
        "Identity",
        "Capacity",
        "Priority",
        "Configuration.Url",
        "Target",
        "StatusCallback",
        "MediaUrl",
        "WorkflowSid",
        "x",
    ]
)
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "{}",
            "[]",
            "null",
            '{"a":',
            "true",
            "-1",
            "closed",
            "accepted",
            "rejected",
            "completed",
            "HX" + "0" * 32,
            "whatsapp:+15551234567",
            "http://127.0.0.1:1/x",
        ]
    ),
)
_forms = st.lists(st.tuples(_names, _values), max_size=6)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=8,
)

FORM = "application/x-www-form-urlencoded"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


def _paths(seed: dict[str, Any]) -> list[str]:
    ws, ac, svc = seed["workspace_sid"], seed["account_sid"], seed["conversations_service_sid"]
    return [
        f"/taskrouter/v1/Workspaces/{ws}/Tasks",
        f"/taskrouter/v1/Workspaces/{ws}/Workers",
        f"/taskrouter/v1/Workspaces/{ws}",
        f"/taskrouter/v1/Workspaces/{ws}/Tasks/WT{'0' * 32}",
        f"/api/2010-04-01/Accounts/{ac}/Messages.json",
        "/flex-api/v1/Interactions",
        f"/conversations/v1/Services/{svc}/Conversations",
        "/conversations/v1/Conversations/CHx/Messages",
        f"/taskrouter/v1/Workspaces/{ws}/Workflows/{seed['workflow_sid']}",
    ]


def _well_formed(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    body = resp.json()
    if resp.status_code >= 400:
        assert set(body) == {"code", "message", "more_info", "status"} and body["status"] == resp.status_code


def test_rest_surface_fuzz(ctl: httpx.Client, seed: dict[str, Any]) -> None:
    auth = (seed["account_sid"], seed["auth_token"])
    paths = _paths(seed)

    @SETTINGS
    @given(st.sampled_from(paths), _forms)
    def check(path: str, form: list[tuple[str, str]]) -> None:
        body = urlencode(form)
        _well_formed(ctl.post(path, content=body, auth=auth, headers={"Content-Type": FORM}))

    check()


def test_control_api_fuzz(ctl: httpx.Client) -> None:
    paths = [
        "/_sandbox/contacts/+15550001234/messages",
        "/_sandbox/senders",
        "/_sandbox/clock/advance",
        "/_sandbox/faults",
        "/_sandbox/reps/alice/messages",
        "/_sandbox/reps/alice/activity",
        "/_sandbox/reps/nobody/reservations/WRx/accept",
        "/_sandbox/contacts/garbage/messages",
    ]

    @SETTINGS
    @given(st.sampled_from(paths), _json)
    def check(path: str, payload: Any) -> None:
        resp = ctl.post(path, json=payload)
        _well_formed(resp)
        if path.endswith("faults") and resp.status_code == 200:
            ctl.delete("/_sandbox/faults")

    check()
    ctl.delete("/_sandbox/faults")
