"""Per-org client cache: credentials resolved worker-side, one client per thread, unknown org is final."""

from __future__ import annotations

import threading

import pytest
from temporalio.exceptions import ApplicationError

from activities.clients import TwilioClients
from tests.activities.fakes import ACCOUNT, org_registry


def test_unknown_org_is_non_retryable() -> None:
    with pytest.raises(ApplicationError) as info:
        TwilioClients(org_registry()).get("nope")
    assert info.value.non_retryable and info.value.type == "UnknownOrg"


def test_same_thread_reuses_other_thread_gets_its_own() -> None:
    clients = TwilioClients(org_registry("http://127.0.0.1:9"))
    first = clients.get("acme")
    assert clients.get("acme") is first
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(clients.get("acme")))
    t.start()
    t.join()
    assert other[0] is not first
    assert first.url("https://conversations.twilio.com/v1/Services") == "http://127.0.0.1:9/conversations/v1/Services"


def test_auth_token_or_api_key_and_no_secret_in_repr() -> None:
    plain = TwilioClients(org_registry()).get("acme")
    assert plain.basic_auth == (ACCOUNT, "token-secret-123")
    assert plain.client.username == ACCOUNT
    keyed = TwilioClients(org_registry(api_key=True)).get("acme")
    assert keyed.basic_auth == ("SK" + "1" * 32, "key-secret-456")
    assert keyed.client.account_sid == ACCOUNT
    for text in (repr(plain), repr(keyed)):
        assert "token-secret-123" not in text and "key-secret-456" not in text
    # Real Twilio when no sandbox is configured.
    assert plain.url("https://api.twilio.com/x") == "https://api.twilio.com/x"
