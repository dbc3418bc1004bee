"""Media limits (DESIGN §4), as a pure rule: may this media go out, and if not, why.

Stop-gap for activities until the workflow's own rule (`workflows/rules/media.py`) exists; `media.py` prefers
that one when it can be imported. Sizes are binary (MiB/KiB): "5 MB" on WhatsApp's side is read as 5 MiB,
which errs on the generous side by under 5 %; Twilio rejects, not truncates, anything over.

The same per-type limits apply to contact media copied into Flex: Flex accepts up to 16 MiB per attachment, so
the WhatsApp limit is the binding one, and a type WhatsApp does not carry is not one Flex should get either.
"""

from __future__ import annotations

from pydantic import BaseModel

KIB = 1024
MIB = 1024 * 1024
FLEX_MAX_BYTES = 16 * MIB

# content type -> (kind, max bytes). Parameters such as "; codecs=opus" are ignored when matching.
MEDIA_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("image", 5 * MIB),
    "image/jpg": ("image", 5 * MIB),
    "image/png": ("image", 5 * MIB),
    # Stickers: 100 KiB static, 500 KiB animated; an animated WebP cannot be told apart without parsing it.
    "image/webp": ("sticker", 500 * KIB),
    "audio/aac": ("audio", 16 * MIB),
    "audio/amr": ("audio", 16 * MIB),
    "audio/mpeg": ("audio", 16 * MIB),
    "audio/mp3": ("audio", 16 * MIB),
    "audio/mp4": ("audio", 16 * MIB),
    "audio/ogg": ("audio", 16 * MIB),
    "video/mp4": ("video", 16 * MIB),
    "video/3gpp": ("video", 16 * MIB),
    "application/pdf": ("document", 16 * MIB),
    "application/msword": ("document", 16 * MIB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("document", 16 * MIB),
    "application/vnd.ms-excel": ("document", 16 * MIB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 16 * MIB),
    "application/vnd.ms-powerpoint": ("document", 16 * MIB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("document", 16 * MIB),
    "text/plain": ("document", 16 * MIB),
}


class MediaVerdict(BaseModel):
    allowed: bool
    kind: str | None = None
    max_bytes: int = 0
    reason: str | None = None


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _human(n: int) -> str:
    return f"{n // MIB} MB" if n >= MIB else f"{n // KIB} KB"


def max_bytes_for(content_type: str) -> int | None:
    """The largest allowed size for a content type, or None when the type is not supported at all."""
    found = MEDIA_TYPES.get(_base_type(content_type))
    return min(found[1], FLEX_MAX_BYTES) if found else None


def check_media(content_type: str, size: int | None) -> MediaVerdict:
    """Verdict for one media item; `size=None` checks the type only (before the bytes are known)."""
    base = _base_type(content_type)
    found = MEDIA_TYPES.get(base)
    if found is None:
        return MediaVerdict(
            allowed=False, reason=f"media type {base or '(none)'} is not supported on WhatsApp"
        )
    kind, limit = found
    limit = min(limit, FLEX_MAX_BYTES)
    if size is not None and size > limit:
        return MediaVerdict(
            allowed=False,
            kind=kind,
            max_bytes=limit,
            reason=f"{kind} of {size} bytes is over the {_human(limit)} limit for {base}",
        )
    return MediaVerdict(allowed=True, kind=kind, max_bytes=limit)
