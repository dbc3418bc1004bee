"""Reading a webhook body into Twilio's parameters, bounded, strictly decoded, with typed field accessors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import ImmutableMultiDict

from api.errors import ApiError, bad_field

# Twilio webhook bodies are a few KB (a Conversations message body is at most 32 KiB); 1 MiB is generous.
MAX_BODY_BYTES = 1024 * 1024
MAX_FIELDS = 1000
# No single Twilio field comes near this (TaskAttributes are capped at 16 KiB... by Twilio, 64 KiB here).
MAX_FIELD_CHARS = 64 * 1024


@dataclass(frozen=True)
class WebhookBody:
    """`signed_params` is what the signature covers: the raw text for a JSON body (bodySHA256 scheme)."""

    fields: ImmutableMultiDict[str, str]
    signed_params: ImmutableMultiDict[str, str] | str


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise ApiError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(raw: bytes, content_type: str | None) -> WebhookBody:
    """Form-encoded (Twilio's default) or JSON (signed via `bodySHA256`); anything else is refused."""
    media_type = (content_type or "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not valid UTF-8") from None
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
        except UnicodeDecodeError:
            raise ApiError(400, "a form field is not valid UTF-8 once percent-decoded") from None
        except ValueError:
            raise ApiError(400, f"more than {MAX_FIELDS} form fields") from None
        fields = ImmutableMultiDict(pairs)
        _check_sizes(pairs)
        return WebhookBody(fields=fields, signed_params=fields)
    if media_type == "application/json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise ApiError(400, "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "JSON request body must be an object")
        pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
        _check_sizes(pairs)
        return WebhookBody(fields=ImmutableMultiDict(pairs), signed_params=text)
    raise ApiError(415, f"unsupported content type {media_type[:80]!r}: Twilio webhooks are form-encoded")


def _check_sizes(pairs: Iterable[tuple[str, str]]) -> None:
    for name, value in pairs:
        if len(value) > MAX_FIELD_CHARS:
            raise bad_field(name[:64], f"longer than {MAX_FIELD_CHARS} characters")


class Fields:
    """Typed access to webhook fields; every problem is a 422 naming the field (never quoting its value)."""

    def __init__(self, fields: ImmutableMultiDict[str, str]) -> None:
        self._fields = fields

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def as_mapping(self) -> Mapping[str, str]:
        """The fields for a parser that reads several at once (its ValueError names the field at fault)."""
        return self._fields

    def optional(self, name: str) -> str | None:
        value = self._fields.get(name)
        return value if value not in (None, "") else None

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise bad_field(name, "required")
        return value

    def sid(self, name: str, prefixes: tuple[str, ...], required: bool = True) -> str | None:
        """A Twilio SID: two-letter prefix + 32 hex digits."""
        value = self.required(name) if required else self.optional(name)
        if value is None:
            return None
        if not (len(value) == 34 and value[:2] in prefixes and _is_hex(value[2:])):
            raise bad_field(name, f"not a Twilio SID ({'/'.join(p + '…' for p in prefixes)})")
        return value

    def integer(self, name: str, minimum: int = 0, maximum: int = 2**31) -> int | None:
        value = self.optional(name)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise bad_field(name, "not an integer") from None
        if not minimum <= number <= maximum:
            raise bad_field(name, f"must be between {minimum} and {maximum}")
        return number

    def json_value(self, name: str) -> Any:
        value = self.optional(name)
        if value is None:
            return None
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise bad_field(name, "not valid JSON") from None


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
