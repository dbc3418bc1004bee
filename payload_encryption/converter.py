"""The data converter shared by the worker, the API, the CLI and the tests.

Pydantic payloads; with a key ring, payloads *and* failure messages/stack traces are encrypted (an error message
may quote a phone number).
"""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from payload_encryption.codec import AesGcmPayloadCodec
from payload_encryption.keys import KeyRing


def build_data_converter(key_ring: KeyRing | str | None = None) -> DataConverter:
    if key_ring is None or key_ring == "":
        return pydantic_data_converter
    ring = KeyRing.parse(key_ring) if isinstance(key_ring, str) else key_ring
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=AesGcmPayloadCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
