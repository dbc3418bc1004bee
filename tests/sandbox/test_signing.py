"""The signer matches Twilio's algorithm: the official RequestValidator accepts what the sandbox signs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from twilio_sandbox.signing import sign
from twilio_sandbox.webhooks import split_overrides

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_twilio_documented_vector() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sign("12345", url, list(VECTOR_PARAMS.items())) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert sign("12345", url, list(VECTOR_PARAMS.items())) != sign("12346", url, list(VECTOR_PARAMS.items()))


def test_non_default_port_and_query() -> None:
    url = "http://127.0.0.1:8081/webhooks/acme/whatsapp/status/abc?x=1&y=two"
    params = [("MessageSid", "SM" + "1" * 32), ("MessageStatus", "delivered")]
    validator = RequestValidator("tok")
    assert validator.validate(url, dict(params), sign("tok", url, params))
    assert not validator.validate(url.replace(":8081", ":8082"), dict(params), sign("tok", url, params))


def test_sha256_shared_key_mode() -> None:
    url = "https://example.com/hook"
    params = [("A", "1")]
    assert RequestValidator("k").validate(
        url, dict(params), sign("k", url, params, "HMAC_SHA256"), algorithm="HMAC_SHA256"
    )


def test_fragment_overrides_are_parsed_and_stripped() -> None:
    base, ov = split_overrides("https://x.test/hook?a=1#rc=3&rp=5xx,ct&rt=2000&ct=99999", 15.0)
    assert base == "https://x.test/hook?a=1"
    assert (ov.retry_count, ov.retry_policy, ov.read_timeout, ov.connect_timeout) == (3, {"5xx", "ct"}, 2.0, 10.0)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=10),
        st.text(st.characters(codec="utf-8"), max_size=30),
        max_size=8,
    ),
    st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=20),
)
def test_validator_accepts_any_params(params: dict[str, str], token: str) -> None:
    url = "https://svc.example.com:8443/webhooks/org/taskrouter?q=1"
    assert RequestValidator(token).validate(url, params, sign(token, url, list(params.items())))
