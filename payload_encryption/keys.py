"""The key ring: `id:base64key[,id:base64key…]`, first = the key new payloads are encrypted with.

Older keys stay in the ring so history written before a rotation still decrypts.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class KeyRingError(ValueError):
    """The key ring setting is malformed (the message never contains key material)."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]

    def __repr__(self) -> str:  # never show key bytes
        return f"KeyRing(current_id={self.current_id!r}, ids={sorted(self.keys)!r})"

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        current: str | None = None
        for index, item in enumerate(part.strip() for part in spec.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise KeyRingError(f"key #{index + 1}: expected 'id:base64key' with id of [A-Za-z0-9_.-]")
            try:
                material = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyRingError(f"key {key_id!r}: not valid base64") from None
            if len(material) not in (16, 24, 32):
                raise KeyRingError(f"key {key_id!r}: AES keys are 16, 24 or 32 bytes, got {len(material)}")
            if key_id in keys:
                raise KeyRingError(f"key {key_id!r} appears twice")
            keys[key_id] = material
            current = current or key_id
        if current is None:
            raise KeyRingError("no key given")
        return cls(current_id=current, keys=keys)


def generate_key_ring(key_id: str = "k1") -> str:
    """A new one-key ring (AES-256) in the `id:base64key` form that `KeyRing.parse` and WAFH_CODEC_KEYS take."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"
