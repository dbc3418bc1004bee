"""The AES-GCM codec: round trip, rotation, tampering, key ring parsing."""

from __future__ import annotations

import base64
import os

import pytest
from temporalio.api.common.v1 import Payload

from payload_encryption.codec import ENCODING, KEY_ID_METADATA, AesGcmPayloadCodec, PayloadDecryptionError
from payload_encryption.converter import build_data_converter
from payload_encryption.keys import KeyRing, KeyRingError


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_round_trip_hides_the_plaintext() -> None:
    codec = AesGcmPayloadCodec(KeyRing.parse(f"k1:{_key()}"))
    [encrypted] = await codec.encode([_payload('{"contact":"+15551234567"}')])
    assert encrypted.metadata["encoding"] == ENCODING
    assert encrypted.metadata[KEY_ID_METADATA] == b"k1"
    assert b"5551234567" not in encrypted.SerializeToString()
    [decrypted] = await codec.decode([encrypted])
    assert decrypted == _payload('{"contact":"+15551234567"}')


async def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    old, new = _key(), _key()
    before = AesGcmPayloadCodec(KeyRing.parse(f"old:{old}"))
    [written_before] = await before.encode([_payload("hello")])
    after = AesGcmPayloadCodec(KeyRing.parse(f"new:{new},old:{old}"))
    assert (await after.decode([written_before]))[0].data == b"hello"
    [written_after] = await after.encode([_payload("hello")])
    assert written_after.metadata[KEY_ID_METADATA] == b"new"


async def test_unknown_key_id_is_a_clear_error() -> None:
    [encrypted] = await AesGcmPayloadCodec(KeyRing.parse(f"gone:{_key()}")).encode([_payload("x")])
    with pytest.raises(PayloadDecryptionError, match="no key 'gone'"):
        await AesGcmPayloadCodec(KeyRing.parse(f"k1:{_key()}")).decode([encrypted])


async def test_tampered_payload_is_refused() -> None:
    codec = AesGcmPayloadCodec(KeyRing.parse(f"k1:{_key()}"))
    [encrypted] = await codec.encode([_payload("x")])
    flipped = bytearray(encrypted.data)
    flipped[-1] ^= 1
    tampered = Payload(metadata=dict(encrypted.metadata), data=bytes(flipped))
    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([tampered])


async def test_unencrypted_payloads_pass_through_decode() -> None:
    codec = AesGcmPayloadCodec(KeyRing.parse(f"k1:{_key()}"))
    assert await codec.decode([_payload("legacy")]) == [_payload("legacy")]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "no key"),
        ("k1", "expected 'id:base64key'"),
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "16, 24 or 32 bytes"),
        ("k1:{k},k1:{k}", "appears twice"),
    ],
)
def test_bad_key_rings_are_refused_without_echoing_key_material(spec: str, message: str) -> None:
    key = _key()
    with pytest.raises(KeyRingError, match=message) as info:
        KeyRing.parse(spec.replace("{k}", key))
    assert key not in str(info.value)


def test_key_ring_repr_shows_no_key_bytes() -> None:
    key = _key()
    assert key not in repr(KeyRing.parse(f"k1:{key}"))


def test_converter_without_keys_is_plain_pydantic() -> None:
    assert build_data_converter(None).payload_codec is None
    assert build_data_converter(f"k1:{_key()}").payload_codec is not None
