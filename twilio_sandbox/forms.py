"""Form bodies as Twilio receives them, with the sandbox's strict checks a generic OpenAPI validator misses:
unknown parameter names, missing required ones, malformed JSON inside string parameters."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from twilio_sandbox.errors import TwilioError

SPEC_PARAMS_FILE = Path(__file__).with_name("spec_params.json")


@cache
def spec_params() -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    data: dict[str, dict[str, dict[str, dict[str, Any]]]] = json.loads(SPEC_PARAMS_FILE.read_text())
    return data


def operation_params(request: Request) -> dict[str, Any] | None:
    """The spec's parameter names for the operation this request was routed to (None: not a spec
    operation)."""
    route = request.scope.get("route")
    path: str | None = getattr(route, "path", None)
    if not path:
        return None
    product, _, rest = path.lstrip("/").partition("/")
    return spec_params().get(product, {}).get("/" + rest, {}).get(request.method.lower())


class Form:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.items)

    def get(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.items:
            if k == name:
                return v
        return default

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.items if k == name]

    def bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self.get(name)
        if value is None:
            return default
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise TwilioError(400, 20001, f"Invalid boolean for parameter {name}: {value!r}")

    def int(self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError as exc:
            raise TwilioError(400, 20001, f"Invalid integer for parameter {name}: {value!r}") from exc
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise TwilioError(400, 20001, f"Parameter {name} out of range: {number}")
        return number

    def json_object(self, name: str, default: dict[str, Any] | None = None) -> dict[str, Any] | None:
        value = self.get(name)
        if value is None:
            return default
        return parse_json_object(name, value)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.items:
            if k in out:
                out[k] = [*out[k], v] if isinstance(out[k], list) else [out[k], v]
            else:
                out[k] = v
        return out


def parse_json_object(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise TwilioError(400, 20001, f"Parameter {name} is not valid JSON: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise TwilioError(400, 20001, f"Parameter {name} must be a JSON object")
    return parsed


def check_query(request: Request) -> None:
    spec = operation_params(request)
    if spec is None:
        return
    allowed = set(spec["query"])
    for name in request.query_params:
        if name not in allowed:
            raise TwilioError(400, 20001, f"Unknown query parameter {name!r} for {request.method} {request.url.path}")


async def read_form(
    request: Request,
    *,
    required_codes: dict[str, int] | None = None,
    conditional_codes: dict[str, int] | None = None,
) -> Form:
    """Parse the form body (keeping blank values) and apply the strict checks."""
    check_query(request)
    raw = await request.body()
    ctype = request.headers.get("content-type", "")
    if raw and "application/x-www-form-urlencoded" not in ctype:
        raise TwilioError(400, 20001, f"Expected application/x-www-form-urlencoded, got {ctype or 'nothing'}")
    try:
        items = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise TwilioError(400, 20001, "Request body is not UTF-8") from exc
    form = Form(items)
    spec = operation_params(request)
    if spec is not None:
        allowed = set(spec["body"])
        unknown = sorted({k for k, _ in items if k not in allowed})
        if unknown:
            raise TwilioError(
                400,
                20001,
                f"Unknown parameter(s) {', '.join(unknown)} for {request.method} {request.url.path}",
            )
        for name in spec["required"]:
            if not form.has(name) or form.get(name) == "":
                code = (required_codes or {}).get(name, 20001)
                raise TwilioError(400, code, f"Missing required parameter {name} in the post body")
        # Twilio's either/or groups (`x-twilio.conditional`): at least one of each group.
        for group in spec.get("conditional", []):
            if not any(form.get(name) for name in group):
                code = (conditional_codes or {}).get(group[0], 20001)
                raise TwilioError(400, code, f"One of {', '.join(group)} is required")
    request.state.form = form.as_dict()
    return form


async def read_json(request: Request) -> dict[str, Any]:
    """A JSON object body (the Content, Flex transfer, bulk statistics and v3 messaging operations). Keys whose
    value is null count as absent: the official client sends every field of its request model, null when unset."""
    check_query(request)
    ctype = request.headers.get("content-type", "")
    if "application/json" not in ctype:
        raise TwilioError(400, 20001, f"Expected application/json, got {ctype or 'nothing'}")
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TwilioError(400, 20001, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise TwilioError(400, 20001, "The request body must be a JSON object")
    present = {k: v for k, v in body.items() if v is not None}
    spec = operation_params(request)
    if spec is not None and spec["body"]:
        unknown = sorted(set(present) - set(spec["body"]))
        if unknown:
            where = f"{request.method} {request.url.path}"
            raise TwilioError(400, 20001, f"Unknown field(s) {', '.join(unknown)} for {where}")
        missing = [name for name in spec["required"] if name not in present]
        if missing:
            raise TwilioError(400, 20001, f"Missing required field(s) {', '.join(missing)} in the JSON body")
    request.state.form = present
    return present
