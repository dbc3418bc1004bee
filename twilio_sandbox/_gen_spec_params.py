"""Regenerate `spec_params.json` (allowed request parameter names per operation) from ../shared/twilio-oai.

Run: `python -m twilio_sandbox._gen_spec_params [OAI_DIR]`. The sandbox uses the table for its strict check
(unknown parameter names → 400), which a generic OpenAPI validator does not do (schemas allow extra
properties).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Sandbox path prefix → the documents of that Twilio host (messaging.twilio.com has a v2 and a v3 document).
SPEC_FILES: dict[str, tuple[str, ...]] = {
    "api": ("twilio_api_v2010.json",),
    "conversations": ("twilio_conversations_v1.json",),
    "taskrouter": ("twilio_taskrouter_v1.json",),
    "flex-api": ("twilio_flex_v1.json",),
    "content": ("twilio_content_v1.json",),
    "messaging": ("twilio_messaging_v2.json", "twilio_messaging_v3.json"),
}


def _snake(name: str) -> str:
    """`MessagingServiceSid` → `messaging_service_sid` (the spelling of `x-twilio.conditional`)."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def default_oai_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "twilio-oai"


def _paths(oai_dir: Path, names: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        spec: dict[str, Any] = json.loads((oai_dir / name).read_text())
        out.extend(spec["paths"].items())
    return out


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A local `$ref` (`#/components/schemas/X`) replaced by what it names."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return _resolve(components.get(ref.rsplit("/", 1)[1], {}), components)
    return schema


def _body_fields(schema: dict[str, Any], components: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Property names and required names of a body schema; a `oneOf` gives the union of its alternatives'
    properties and no required ones (each alternative requires its own)."""
    schema = _resolve(schema, components)
    if "oneOf" in schema:
        names = [n for alt in schema["oneOf"] for n in _body_fields(alt, components)[0]]
        return names, []
    return list(schema.get("properties", {}).keys()), list(schema.get("required", []))


def build_table(oai_dir: Path) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for product, names in SPEC_FILES.items():
        paths: dict[str, dict[str, Any]] = {}
        components: dict[str, Any] = {}
        for name in names:
            components.update(json.loads((oai_dir / name).read_text()).get("components", {}).get("schemas", {}))
        for path, ops in _paths(oai_dir, names):
            for method, op in ops.items():
                if method not in ("get", "post", "put", "delete"):
                    continue
                query = sorted(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
                headers = sorted(p["name"] for p in op.get("parameters", []) if p.get("in") == "header")
                body: list[str] = []
                required: list[str] = []
                content = op.get("requestBody", {}).get("content", {})
                for media in content.values():
                    props, needed = _body_fields(media.get("schema", {}), components)
                    body.extend(props)
                    required.extend(needed)
                by_snake = {_snake(name): name for name in body}
                conditional = [
                    [by_snake.get(name, name) for name in group]
                    for group in op.get("x-twilio", {}).get("conditional", [])
                ]
                entry: dict[str, Any] = {
                    "query": query,
                    "body": sorted(set(body)),
                    "required": sorted(set(required)),
                    "headers": headers,
                }
                if conditional:
                    entry["conditional"] = conditional
                paths.setdefault(path, {})[method] = entry
        table[product] = paths
    return table


def main() -> None:
    oai_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_oai_dir()
    out = Path(__file__).with_name("spec_params.json")
    out.write_text(json.dumps(build_table(oai_dir), indent=0, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
