from datetime import UTC, datetime, timedelta, timezone

import pytest

from rules import handoff_attributes as h

AT = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)


def test_exactly_six_attributes_with_clean_values():
    attrs = h.build_handoff_attributes(
        reason="  customer wants\nto cancel  ",
        summary=" Long story. ",
        sentiment="negative",
        language="pt_br",
        at=AT,
    )
    assert set(attrs) == h.HANDOFF_KEYS
    assert attrs == {
        "handedOff": True,
        "handoffReason": "customer wants to cancel",
        "handoffSummary": "Long story.",
        "handoffSentiment": "negative",
        "handoffLanguage": "pt-BR",
        "handoffTimestamp": "2026-03-01T12:00:05Z",
    }


def test_bad_ai_output_is_normalized():
    attrs = h.build_handoff_attributes(reason=None, summary=None, sentiment="furious", language="???", at=AT)
    assert attrs["handoffReason"] == "handoff requested"
    assert attrs["handoffSentiment"] == "neutral"
    assert attrs["handoffLanguage"] == "und"
    assert attrs["handoffSummary"] == ""
    long = h.build_handoff_attributes(reason="x" * 999, summary="y" * 9999, sentiment=None, language="ar", at=AT)
    assert len(long["handoffReason"]) == h.MAX_REASON_CHARS
    assert len(long["handoffSummary"]) == h.MAX_SUMMARY_CHARS


def test_timestamp_is_utc_z():
    local = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert h.iso_utc(local) == "2026-03-01T12:00:00Z"


def test_merge_keeps_everyone_elses_attributes():
    existing = {
        "order_id": "A-42",
        "customer": {"tier": "gold"},
        "waHandoff": {"workflowId": "w"},
        "handedOff": False,
    }
    six = h.build_handoff_attributes(reason="r", summary="s", sentiment="neutral", language="en", at=AT)
    merged = h.merge_attributes(existing, six)
    assert merged["order_id"] == "A-42" and merged["customer"] == {"tier": "gold"}
    assert merged["waHandoff"] == {"workflowId": "w"}
    assert merged["handedOff"] is True
    assert existing["handedOff"] is False  # input not mutated
    assert h.merge_attributes(None, six) == six


def test_merge_refuses_other_keys():
    with pytest.raises(ValueError, match="not handoff attributes"):
        h.merge_attributes({}, {"order_id": "x"})


def task_attributes(**given):
    """`build_task_attributes` with a placeholder workflow, org and session where a test does not name them."""
    return h.build_task_attributes(**{"workflow_id": "w", "org": "acme", "session_id": "s", **given})


def test_task_attributes_at_creation():
    attrs = task_attributes(
        profile_name="  Zoë Ñúñez ", contact_address="+351900000001", workflow_id="wa-conv:acme:k", session_id="k-SM1"
    )
    assert attrs == {
        "name": "Zoë Ñúñez",
        "customerName": "Zoë Ñúñez",
        "customerAddress": "whatsapp:+351900000001",
        "customers": {"name": "Zoë Ñúñez"},
        "from": "whatsapp:+351900000001",
        "channelType": "whatsapp",
        "waHandoff": {"workflowId": "wa-conv:acme:k", "org": "acme", "sessionId": "k-SM1"},
    }
    no_name = task_attributes(profile_name=None, contact_address="+351900000001")
    assert no_name["name"] == "+351900000001"
    assert h.session_id_of(attrs) == "k-SM1"
    # A contact who hides their number: their username names them, the BSUID is their address.
    hidden = task_attributes(profile_name=" ", username="zoe.n", contact_address="PT.48213697720553018")
    assert (hidden["name"], hidden["customers"], hidden["from"]) == (
        "zoe.n",
        {"name": "zoe.n"},
        "whatsapp:PT.48213697720553018",
    )
    with_phone = task_attributes(profile_name="Zoë", phone="+351900000001", contact_address="+351900000001")
    assert with_phone["customers"] == {"name": "Zoë", "phone": "+351900000001"}
    assert h.session_id_of({"waHandoff": "nope"}) is None
    assert h.session_id_of(None) is None
