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


def build_table(oai_dir: Path) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for product, names in SPEC_FILES.items():
        paths: dict[str, dict[str, Any]] = {}
        for path, ops in _paths(oai_dir, names):
            for method, op in ops.items():
                if method not in ("get", "post", "put", "delete"):
                    continue
                query = sorted(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
                headers = sorted(p["name"] for p in op.get("parameters", []) if p.get("in") == "header")
                body: list[str] = []
                content = op.get("requestBody", {}).get("content", {})
                for media in content.values():
                    body.extend(media.get("schema", {}).get("properties", {}).keys())
                required: list[str] = []
                for media in content.values():
                    required.extend(media.get("schema", {}).get("required", []))
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
