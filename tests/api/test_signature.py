"""Signature checks cannot be bypassed: each forgery is a 403 and starts nothing."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.ids import workflow_id
from tests.api.conftest import recorded
from tests.api.twilio_signing import (
    ACME_BASE,
    ACME_TOKEN,
    BETA_TOKEN,
    BUSINESS,
    PROXY_BASE,
    inbound_params,
    new_contact,
    post_signed,
    sign,
)

INBOUND = "/webhooks/acme/whatsapp"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def _nothing_started(temporal: Client, org: str, contact: str) -> bool:
    try:
        await temporal.get_workflow_handle(workflow_id(org, BUSINESS, contact)).describe()
    except RPCError as exc:
        return exc.status == RPCStatusCode.NOT_FOUND
    return False


@pytest.mark.parametrize(
    ("signature", "refusal"),
    [(None, "missing X-Twilio-Signature"), ("bm90IGEgc2lnbmF0dXJl", "invalid X-Twilio-Signature")],
    ids=["missing", "garbage"],
)
async def test_a_missing_or_garbage_signature_is_403(
    http: httpx.AsyncClient, temporal: Client, signature: str | None, refusal: str
) -> None:
    contact = new_contact()
    headers = FORM if signature is None else FORM | {"X-Twilio-Signature": signature}
    response = await http.post(INBOUND, content=urlencode(inbound_params(contact)), headers=headers)
    assert response.status_code == 403
    assert refusal in response.json()["detail"]
    assert await _nothing_started(temporal, "acme", contact)


async def test_signature_for_another_url_port_or_path_is_403(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    for base, path in [
        ("https://evil.example", INBOUND),
        ("https://hooks.acme.example:8443", INBOUND),
        ("http://hooks.acme.example", INBOUND),
        (ACME_BASE, "/webhooks/acme/taskrouter"),
        (ACME_BASE, INBOUND + "?x=1"),
    ]:
        params = inbound_params(contact)
        headers = FORM | {"X-Twilio-Signature": sign(base + path, params)}
        response = await http.post(INBOUND, content=urlencode(params), headers=headers)
        assert response.status_code == 403, base + path
    assert await _nothing_started(temporal, "acme", contact)


async def test_explicit_default_port_is_accepted(http: httpx.AsyncClient, temporal: Client) -> None:
    # Twilio itself is inconsistent about :443; the validator accepts both forms, as it should.
    contact = new_contact()
    params = inbound_params(contact)
    response = await post_signed(http, INBOUND, params, base="https://hooks.acme.example:443")
    assert response.status_code == 200


async def test_query_string_is_part_of_the_signed_url(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    params = inbound_params(contact)
    path = INBOUND + "?tenant=1&b=2"
    ok = await post_signed(http, path, params)
    assert ok.status_code == 200
    moved = await http.post(
        INBOUND + "?tenant=2&b=2",
        content=urlencode(params),
        headers=FORM | {"X-Twilio-Signature": sign(ACME_BASE + path, params)},
    )
    assert moved.status_code == 403


async def test_valid_signature_from_another_orgs_token_is_403(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    response = await post_signed(http, INBOUND, inbound_params(contact), token=BETA_TOKEN)
    assert response.status_code == 403
    assert await _nothing_started(temporal, "acme", contact)


async def test_replay_with_changed_params_is_403(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    params = inbound_params(contact, body="original")
    signature = sign(ACME_BASE + INBOUND, params)
    first = await http.post(INBOUND, content=urlencode(params), headers=FORM | {"X-Twilio-Signature": signature})
    assert first.status_code == 200
    other_contact = new_contact()
    for change in (
        {"Body": "transfer all my money"},
        {"From": f"whatsapp:{other_contact}"},
        {"MediaUrl0": "https://evil.example/x.jpg", "NumMedia": "1"},
    ):
        tampered = params | change
        response = await http.post(
            INBOUND, content=urlencode(tampered), headers=FORM | {"X-Twilio-Signature": signature}
        )
        assert response.status_code == 403, change
    got = await recorded(temporal, workflow_id("acme", BUSINESS, contact))
    assert [s["payload"]["body"] for s in got["signals"]] == ["original"]
    assert await _nothing_started(temporal, "acme", other_contact)


async def test_forwarded_headers_are_ignored_unless_the_org_trusts_its_proxy(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    contact = new_contact()
    params = inbound_params(contact)
    # A genuine signature captured from another endpoint of the same account, replayed with that host claimed
    # through X-Forwarded-Host: acme does not trust proxies, so its own base URL is checked.
    captured = sign("https://other.example" + INBOUND, params, ACME_TOKEN)
    response = await http.post(
        INBOUND,
        content=urlencode(params),
        headers=FORM | {"X-Twilio-Signature": captured, "X-Forwarded-Host": "other.example"},
    )
    assert response.status_code == 403
    # Behind a trusted proxy, Twilio called the public host; the app sees the proxy's base URL.
    path = "/webhooks/proxied/whatsapp"
    signed_for = "https://public.acme.example" + path
    response = await http.post(
        path,
        content=urlencode(params),
        headers=FORM
        | {
            "X-Twilio-Signature": sign(signed_for, params, ACME_TOKEN),
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "public.acme.example",
        },
    )
    assert response.status_code == 200, response.text
    # Without the headers the proxied org checks its configured base URL.
    response = await post_signed(http, path, inbound_params(new_contact()), base=PROXY_BASE)
    assert response.status_code == 200


async def test_shared_key_signatures_are_refused_when_not_configured(http: httpx.AsyncClient) -> None:
    params = inbound_params(new_contact())
    response = await post_signed(
        http,
        INBOUND,
        params,
        headers={"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"},
    )
    assert response.status_code == 403 and "HMAC_SHA256" in response.json()["detail"]


async def test_json_body_needs_and_checks_body_sha256(http: httpx.AsyncClient, temporal: Client) -> None:
    contact = new_contact()
    body = json.dumps(inbound_params(contact))
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"{INBOUND}?bodySHA256={digest}"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": sign(ACME_BASE + path, {})}
    ok = await http.post(path, content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    tampered = body.replace("hello there", "hello THERE")
    assert (await http.post(path, content=tampered, headers=headers)).status_code == 403
    unsigned_hash = {"Content-Type": "application/json", "X-Twilio-Signature": sign(ACME_BASE + INBOUND, {})}
    assert (await http.post(INBOUND, content=body, headers=unsigned_hash)).status_code == 403
