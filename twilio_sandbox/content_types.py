"""Content API content types the sandbox emulates (`twilio/text`, `twilio/quick-reply`, `twilio/list-picker`):
validation at create, what WhatsApp receives from a content SID (the richest type it supports), rendering with
variables, and the format rules WhatsApp's review rejects. Pure functions.

Sources: the OpenAPI schemas `twilioText`, `twilioQuickReply` (`additionalProperties: false`), `twilioListPicker`;
docs content/twilio-quick-reply (body ≤ 1,024, 1–10 buttons, title ≤ 20 "returned in the inbound Body and
ButtonText fields", id ≤ 200 "returned in the inbound ButtonPayload field"; a body must not start or end with a
variable nor hold two adjacent variables, and samples are required for approval) and content/twiliolist-picker
(WhatsApp only, in session only, never approved; 1–10 items, item ≤ 24, id ≤ 200, description ≤ 72)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from twilio_sandbox.errors import TwilioError

TEXT, QUICK_REPLY, LIST_PICKER = "twilio/text", "twilio/quick-reply", "twilio/list-picker"
EMULATED = (TEXT, QUICK_REPLY, LIST_PICKER)
# What a WhatsApp recipient gets from a content SID holding several types: the richest one.
WHATSAPP_PREFERENCE = (LIST_PICKER, QUICK_REPLY, TEXT)
BODY_MAX = 1024
TEXT_BODY_MAX = 1600
MAX_BUTTONS = 10
TITLE_MAX, ID_MAX = 20, 200
ITEM_MAX, DESCRIPTION_MAX = 24, 72
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _bad(message: str) -> TwilioError:
    return TwilioError(400, 20001, message)


def _string(where: str, value: Any, limit: int, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise _bad(f"{where} must be a non-empty string")
    if len(value) > limit:
        raise _bad(f"{where} is {len(value)} characters long; at most {limit}")


def _only(where: str, obj: Any, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _bad(f"{where} must be an object")
    present = {k: v for k, v in obj.items() if v is not None}
    extra = sorted(set(present) - allowed)
    if extra:
        raise _bad(f"{where} has unknown field(s) {', '.join(extra)}")
    missing = sorted(required - set(present))
    if missing:
        raise _bad(f"{where} needs {', '.join(missing)}")
    return present


def validate_types(types: Any) -> dict[str, dict[str, Any]]:
    """The `types` of a Content create, checked; unset (null) fields dropped."""
    if not isinstance(types, dict) or not types:
        raise _bad("types must be an object with at least one content type")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in types.items():
        if spec is None:
            continue
        if name not in EMULATED:
            raise _bad(f"content type {name!r} is not emulated by this sandbox (it emulates {', '.join(EMULATED)})")
        if name == TEXT:
            spec = _only(name, spec, {"body"}, {"body"})
            _string(f"{name}.body", spec["body"], TEXT_BODY_MAX)
        elif name == QUICK_REPLY:
            spec = _only(name, spec, {"body", "actions"}, {"body", "actions"})
            _string(f"{name}.body", spec["body"], BODY_MAX)
            actions = spec["actions"]
            if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_BUTTONS:
                raise _bad(f"{name}.actions must hold 1 to {MAX_BUTTONS} buttons")
            spec = {**spec, "actions": [_quick_reply_action(f"{name}.actions[{i}]", a) for i, a in enumerate(actions)]}
        else:
            spec = _only(name, spec, {"body", "button", "items"}, {"body", "button", "items"})
            _string(f"{name}.body", spec["body"], BODY_MAX)
            _string(f"{name}.button", spec["button"], BODY_MAX)
            items = spec["items"]
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_BUTTONS:
                raise _bad(f"{name}.items must hold 1 to {MAX_BUTTONS} items")
            spec = {**spec, "items": [_list_item(f"{name}.items[{i}]", it) for i, it in enumerate(items)]}
        out[name] = spec
    if not out:
        raise _bad("types must hold at least one content type")
    return out


def _quick_reply_action(where: str, action: Any) -> dict[str, Any]:
    action = _only(where, action, {"type", "title", "id"}, {"title"})
    if action.get("type", "QUICK_REPLY") != "QUICK_REPLY":
        raise _bad(f"{where}.type must be QUICK_REPLY")
    _string(f"{where}.title", action["title"], TITLE_MAX)
    _string(f"{where}.id", action.get("id"), ID_MAX, required=False)
    return action


def _list_item(where: str, item: Any) -> dict[str, Any]:
    item = _only(where, item, {"id", "item", "description"}, {"id", "item"})
    _string(f"{where}.id", item["id"], ID_MAX)
    _string(f"{where}.item", item["item"], ITEM_MAX)
    _string(f"{where}.description", item.get("description"), DESCRIPTION_MAX, required=False)
    return item


def types_or_text(types: dict[str, dict[str, Any]] | None, body: str) -> dict[str, dict[str, Any]]:
    """A content's types; a seeded plain template is `twilio/text` with its body."""
    return types if types else {TEXT: {"body": body}}


def whatsapp_type(types: dict[str, dict[str, Any]]) -> str:
    for name in WHATSAPP_PREFERENCE:
        if name in types:
            return name
    raise _bad("the content has no type WhatsApp can show")


def fill(text: str, variables: dict[str, str], defaults: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), defaults.get(m.group(1), m.group(0)))), text)


@dataclass(frozen=True)
class Rendered:
    """What the WhatsApp user sees: the type, the text, and the buttons (`id`, `title`) or list items."""

    content_type: str
    body: str
    actions: tuple[dict[str, str], ...] = ()


def render(types: dict[str, dict[str, Any]], variables: dict[str, str], defaults: dict[str, str]) -> Rendered:
    name = whatsapp_type(types)
    spec = types[name]
    body = fill(str(spec["body"]), variables, defaults)
    if name == QUICK_REPLY:
        actions = tuple(
            {"title": fill(a["title"], variables, defaults), "id": fill(a.get("id") or a["title"], variables, defaults)}
            for a in spec["actions"]
        )
        return Rendered(name, body, actions)
    if name == LIST_PICKER:
        items = tuple(
            {"title": fill(i["item"], variables, defaults), "id": fill(i["id"], variables, defaults)}
            for i in spec["items"]
        )
        return Rendered(name, body, items)
    return Rendered(name, body)


def approval_problem(types: dict[str, dict[str, Any]], defaults: dict[str, str]) -> str | None:
    """Why WhatsApp's review would reject this content (None: nothing in its format)."""
    name = whatsapp_type(types)
    if name == LIST_PICKER:
        return "twilio/list-picker content cannot be approved for WhatsApp (it is for 24-hour sessions only)"
    body = str(types[name]["body"]).strip()
    placeholders = PLACEHOLDER.findall(body)
    if PLACEHOLDER.match(body) or re.search(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}$", body):
        return "INVALID_FORMAT: the body starts or ends with a variable"
    if re.search(r"\}\}\s*\{\{", body):
        return "INVALID_FORMAT: the body holds two adjacent variables"
    missing = [p for p in placeholders if p not in defaults]
    if missing:
        return f"INVALID_FORMAT: no sample value for variable(s) {', '.join(missing)}"
    return None
