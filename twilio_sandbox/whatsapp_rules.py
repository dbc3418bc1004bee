"""WhatsApp's rules as the simulated contact's phone applies them: the 24 h window, media types and limits,
template rendering. Pure functions (no I/O) so they are unit-tested directly."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
MB = 1024 * 1024
KB = 1024

# content type -> (kind, max bytes, extensions)
MEDIA_RULES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "image/jpeg": ("image", 5 * MB, ("jpg", "jpeg")),
    "image/jpg": ("image", 5 * MB, ("jpg",)),
    "image/png": ("image", 5 * MB, ("png",)),
    "image/webp": ("sticker", 500 * KB, ("webp",)),
    "audio/aac": ("audio", 16 * MB, ("aac",)),
    "audio/amr": ("audio", 16 * MB, ("amr",)),
    "audio/mpeg": ("audio", 16 * MB, ("mp3",)),
    "audio/mp3": ("audio", 16 * MB, ("mp3",)),
    "audio/mp4": ("audio", 16 * MB, ("m4a",)),
    "audio/ogg": ("audio", 16 * MB, ("ogg", "opus")),
    "audio/opus": ("audio", 16 * MB, ("opus",)),
    "video/mp4": ("video", 16 * MB, ("mp4",)),
    "video/3gpp": ("video", 16 * MB, ("3gp", "3gpp")),
    "application/pdf": ("document", 16 * MB, ("pdf",)),
    "application/msword": ("document", 16 * MB, ("doc",)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "document",
        16 * MB,
        ("docx",),
    ),
    "application/vnd.ms-excel": ("document", 16 * MB, ("xls",)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 16 * MB, ("xlsx",)),
    "application/vnd.ms-powerpoint": ("document", 16 * MB, ("ppt",)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "document",
        16 * MB,
        ("pptx",),
    ),
    "text/plain": ("document", 16 * MB, ("txt",)),
}

ERR_WINDOW = 63016
# Twilio's error catalogue (docs/api/errors/NNNNN): 63019 "Media failed to download" ("Twilio failed to download
# the media from the sender. Attempt to retrieve the media returned 0 bytes."); 63034 "Media exceeds size limit"
# ("You may re-attempt with media of size 5 MB or less": the per-type limit under the channel's); 11751 "Media
# Message - Media exceeds messaging provider size limit" ("For a WhatsApp message, the size limit is 16MB. The
# total size of the media message request exceeds the maximum size limit for the channel").
ERR_MEDIA = 63019
ERR_MEDIA_TOO_LARGE = 63034
ERR_MESSAGE_TOO_LARGE = 11751
ERR_CONTENT = 63021
ERR_RECIPIENT = 63024
WHATSAPP_MESSAGE_LIMIT = 16 * MB
ERROR_MESSAGES = {
    ERR_WINDOW: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
    ERR_MEDIA: "Media failed to download",
    ERR_MEDIA_TOO_LARGE: "Media exceeds size limit",
    ERR_MESSAGE_TOO_LARGE: "Media Message - Media exceeds messaging provider size limit",
    ERR_CONTENT: "Channel invalid content error",
    ERR_RECIPIENT: "Invalid message recipient",
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    error_code: int | None = None
    detail: str = ""


OK = Verdict(True)


def window_open(last_inbound: datetime | None, now: datetime) -> bool:
    return last_inbound is not None and now - last_inbound <= WINDOW


def check_window(last_inbound: datetime | None, now: datetime, is_template: bool) -> Verdict:
    if is_template or window_open(last_inbound, now):
        return OK
    if last_inbound is None:
        return Verdict(False, ERR_WINDOW, "the contact never wrote to this sender")
    return Verdict(False, ERR_WINDOW, f"last inbound message at {last_inbound.isoformat()}, more than 24 h ago")


IN_SESSION_BUTTONS = 3


def check_interactive(content_type: str | None, choices: int, approved: bool) -> Verdict:
    """Quick replies sent without an approved template (in a session) show at most 3 buttons (Twilio's
    quick-reply docs); more fail as invalid content (63021, the code Twilio gives content the channel rejects)."""
    if content_type == "twilio/quick-reply" and not approved and choices > IN_SESSION_BUTTONS:
        return Verdict(
            False, ERR_CONTENT, f"{choices} quick-reply buttons; a message without an approved template allows 3"
        )
    return OK


def check_media(content_type: str, size: int, filename_or_url: str | None = None) -> Verdict:
    """One media item against WhatsApp's types and its kind's limit (images 5 MB, stickers 500 KB)."""
    ctype = content_type.split(";")[0].strip().lower()
    rule = MEDIA_RULES.get(ctype)
    if rule is None:
        return Verdict(False, ERR_CONTENT, f"unsupported media type {ctype}")
    kind, limit, exts = rule
    if size <= 0:
        return Verdict(False, ERR_MEDIA, "empty media (0 bytes)")
    if size > WHATSAPP_MESSAGE_LIMIT:
        detail = f"{size} bytes exceed WhatsApp's {WHATSAPP_MESSAGE_LIMIT} byte message limit"
        return Verdict(False, ERR_MESSAGE_TOO_LARGE, detail)
    if size > limit:
        return Verdict(False, ERR_MEDIA_TOO_LARGE, f"{kind} of {size} bytes exceeds the {limit} byte limit for {ctype}")
    if filename_or_url:
        name = filename_or_url.split("?")[0].rsplit("/", 1)[-1]
        if "." in name:
            ext = name.rsplit(".", 1)[1].lower()
            known = {e for _, _, es in MEDIA_RULES.values() for e in es}
            if ext in known and ext not in exts:
                return Verdict(False, ERR_MEDIA, f"Content-Type {ctype} disagrees with the file extension .{ext}")
    return OK


def check_message_media(items: list[tuple[str, int, str | None]]) -> Verdict:
    """All media of one message: each item (`check_media`), then their total against the 16 MB channel limit."""
    for content_type, size, name in items:
        verdict = check_media(content_type, size, name)
        if not verdict.ok:
            return verdict
    total = sum(size for _, size, _ in items)
    if total > WHATSAPP_MESSAGE_LIMIT:
        return Verdict(
            False, ERR_MESSAGE_TOO_LARGE, f"media of {total} bytes in one message exceed {WHATSAPP_MESSAGE_LIMIT} bytes"
        )
    return OK


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def render_template(body: str, variables: dict[str, str], defaults: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), defaults.get(m.group(1), m.group(0)))), body)


_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "application/pdf": b"%PDF-1.4\n",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42",
    "audio/ogg": b"OggS",
    "audio/mpeg": b"ID3",
}


def generate_media(content_type: str, size: int, salt: str) -> bytes:
    """Deterministic bytes of exactly `size`, starting with the type's magic number where known."""
    head = _MAGIC.get(content_type.split(";")[0].strip().lower(), b"")
    block = hashlib.sha256(salt.encode()).digest()
    body = (block * (size // len(block) + 1))[: max(size - len(head), 0)]
    return (head + body)[:size]
