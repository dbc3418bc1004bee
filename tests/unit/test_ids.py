import pytest

from contracts.ids import (
    conversation_key,
    normalize_whatsapp_address,
    parse_workflow_id,
    workflow_id,
    workflow_id_for_key,
)


def test_same_conversation_same_id_whatever_the_prefix() -> None:
    a = workflow_id("acme", "whatsapp:+14155238886", "whatsapp:+15551234567")
    b = workflow_id("acme", "+14155238886", "+15551234567")
    assert a == b
    assert a.startswith("wa-conv:acme:")


def test_ids_differ_per_org_business_and_contact() -> None:
    base = conversation_key("acme", "+14155238886", "+15551234567")
    assert conversation_key("other", "+14155238886", "+15551234567") != base
    assert conversation_key("acme", "+14155238887", "+15551234567") != base
    assert conversation_key("acme", "+14155238886", "+15551234568") != base


def test_no_phone_number_in_the_id() -> None:
    wid = workflow_id("acme", "+14155238886", "+15551234567")
    assert "5551234567" not in wid and "4155238886" not in wid


def test_round_trip_of_a_workflow_id() -> None:
    key = conversation_key("acme", "+14155238886", "+15551234567")
    assert parse_workflow_id(workflow_id_for_key("acme", key)) == ("acme", key)


@pytest.mark.parametrize("bad", ["", "whatsapp:", "+0123", "14155238886", "whatsapp:+1 415 523", "+1415523888612345"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_whatsapp_address(bad)


@pytest.mark.parametrize(
    "bad", ["", "wa-conv:acme", "wa-conv:ACME:" + "0" * 32, "x:acme:" + "0" * 32, "wa-conv:acme:zz"]
)
def test_bad_workflow_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_workflow_id(bad)
