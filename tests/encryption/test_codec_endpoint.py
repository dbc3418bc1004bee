"""The Temporal UI codec endpoint: token, CORS limited to the UI origin, encode/decode protocol."""

from __future__ import annotations

import base64
import os

from fastapi import FastAPI
from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.routes.codec import build_codec_router
from payload_encryption.codec import AesGcmPayloadCodec
from payload_encryption.keys import KeyRing

UI = "http://127.0.0.1:8233"
TOKEN = "admin-token-for-tests"


def _client(token: str | None = TOKEN) -> TestClient:
    codec = AesGcmPayloadCodec(KeyRing.parse(f"k1:{base64.b64encode(os.urandom(32)).decode()}"))
    app = FastAPI()
    app.include_router(build_codec_router(codec, token, UI))
    return TestClient(app)


def _body(*texts: str) -> str:
    return json_format.MessageToJson(
        Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=t.encode()) for t in texts])
    )


def test_encode_then_decode_round_trips() -> None:
    client = _client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Origin": UI}
    encoded = client.post("/codec/encode", content=_body('"+15551234567"'), headers=auth)
    assert encoded.status_code == 200
    assert "5551234567" not in encoded.text
    assert encoded.headers["access-control-allow-origin"] == UI
    decoded = client.post("/codec/decode", content=encoded.text, headers=auth)
    assert decoded.status_code == 200
    payloads = json_format.Parse(decoded.text, Payloads()).payloads
    assert [p.data for p in payloads] == [b'"+15551234567"']


def test_missing_or_wrong_token_is_refused() -> None:
    client = _client()
    assert client.post("/codec/decode", content=_body("x")).status_code == 401
    wrong = client.post("/codec/decode", content=_body("x"), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_no_configured_token_refuses_everyone() -> None:
    client = _client(token=None)
    assert client.post("/codec/decode", content=_body("x"), headers={"Authorization": "Bearer "}).status_code == 401


def test_cors_only_for_the_configured_ui_origin() -> None:
    client = _client()
    ok = client.options("/codec/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == UI
    evil = client.options("/codec/decode", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    post = client.post(
        "/codec/encode",
        content=_body("x"),
        headers={"Authorization": f"Bearer {TOKEN}", "Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in post.headers


def test_malformed_and_undecryptable_bodies_get_400() -> None:
    client = _client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/codec/decode", content="{not json", headers=auth).status_code == 400
    foreign = Payloads(payloads=[Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"zz"})])
    response = client.post("/codec/decode", content=json_format.MessageToJson(foreign), headers=auth)
    assert response.status_code == 400 and "no key 'zz'" in response.text


def test_the_ui_key_in_the_path_authorises_the_browser_and_nothing_else() -> None:
    from payload_encryption.ui_access import ui_codec_path

    client = _client()
    path = ui_codec_path(TOKEN)
    assert TOKEN not in path  # the admin token itself never appears in a URL
    encoded = client.post(f"{path}/encode", content=_body('"+15551234567"'), headers={"Origin": UI})
    assert encoded.status_code == 200 and encoded.headers["access-control-allow-origin"] == UI
    decoded = client.post(f"{path}/decode", content=encoded.text, headers={"Origin": UI})
    assert [p.data for p in json_format.Parse(decoded.text, Payloads()).payloads] == [b'"+15551234567"']
    preflight = client.options(f"{path}/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    wrong = client.post("/codec/ui/not-the-key/decode", content=encoded.text, headers={"Origin": UI})
    assert wrong.status_code == 401 and "+1555" not in wrong.text
    other_token = ui_codec_path("another-admin-token")
    assert client.post(f"{other_token}/decode", content=encoded.text).status_code == 401
    assert _client(token=None).post(f"{path}/decode", content=encoded.text).status_code == 401
    assert "/codec/ui" not in client.get("/openapi.json").text
