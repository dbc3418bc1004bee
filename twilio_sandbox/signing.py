"""X-Twilio-Signature exactly as Twilio computes it (and as `twilio.request_validator.RequestValidator`
checks it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def signature_base(url: str, params: Iterable[tuple[str, str]]) -> str:
    """URL followed by each name+value, names sorted, each name's distinct values sorted (duplicates
    collapse)."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    parts = [url]
    for name in sorted(grouped):
        for value in sorted(grouped[name]):
            parts.append(name + value)
    return "".join(parts)


def sign(token: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = "HMAC_SHA1") -> str:
    digest = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}[algorithm.upper()]
    mac = hmac.new(token.encode("utf-8"), signature_base(url, params).encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")
