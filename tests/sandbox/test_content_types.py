"""The content rules as pure functions: which type WhatsApp gets, rendering with variables, WhatsApp's format
review, the in-session button limit."""

from __future__ import annotations

from typing import Any

import pytest

from twilio_sandbox import content_types as ct
from twilio_sandbox import whatsapp_rules as rules

QR: dict[str, Any] = {
    "body": "Hi {{1}}, how was it?",
    "actions": [{"title": "Good {{1}}", "id": "good"}, {"title": "Bad"}],
}


def test_whatsapp_gets_the_richest_type_and_rendering_fills_variables() -> None:
    types: dict[str, dict[str, Any]] = {ct.TEXT: {"body": "plain"}, ct.QUICK_REPLY: QR}
    assert ct.whatsapp_type(types) == ct.QUICK_REPLY
    shown = ct.render(types, {"1": "Ana"}, {"1": "sample"})
    assert shown.body == "Hi Ana, how was it?"
    # A button without an id answers with its title as the payload.
    assert shown.actions == ({"title": "Good Ana", "id": "good"}, {"title": "Bad", "id": "Bad"})
    assert ct.render(types, {}, {"1": "sample"}).body == "Hi sample, how was it?"
    assert ct.render({ct.TEXT: {"body": "x {{2}}"}}, {}, {}).body == "x {{2}}"


@pytest.mark.parametrize(
    ("body", "defaults", "problem"),
    [
        ("Hi {{1}}, rate us", {"1": "Ana"}, None),
        ("{{1}}, rate us", {"1": "Ana"}, "starts or ends"),
        ("Rate us, {{1}}", {"1": "Ana"}, "starts or ends"),
        ("Hi {{1}} {{2}} rate us", {"1": "a", "2": "b"}, "adjacent"),
        ("Hi {{1}}, rate us", {}, "no sample value"),
    ],
)
def test_whatsapps_format_review(body: str, defaults: dict[str, str], problem: str | None) -> None:
    found = ct.approval_problem({ct.TEXT: {"body": body}}, defaults)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_list_pickers_are_never_approved_and_validation_drops_nulls() -> None:
    picker = {"body": "Topic?", "button": "Topics", "items": [{"id": "a", "item": "A", "description": None}]}
    types = ct.validate_types({ct.LIST_PICKER: picker, "twilio/card": None})
    assert types == {ct.LIST_PICKER: {"body": "Topic?", "button": "Topics", "items": [{"id": "a", "item": "A"}]}}
    assert "cannot be approved" in (ct.approval_problem(types, {}) or "")


@pytest.mark.parametrize(("choices", "approved", "ok"), [(3, False, True), (4, False, False), (10, True, True)])
def test_in_session_quick_replies_show_three_buttons(choices: int, approved: bool, ok: bool) -> None:
    verdict = rules.check_interactive(ct.QUICK_REPLY, choices, approved)
    assert verdict.ok is ok and (ok or verdict.error_code == rules.ERR_CONTENT)
