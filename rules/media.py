"""WhatsApp and Flex media rules (docs/DESIGN.md §6.2), decided before anything is sent.

Limits are binary megabytes (MiB/KiB), as WhatsApp's and Flex's own documentation sizes are enforced. A media
whose size is unknown is judged on its type only (the copying activity re-checks the size on the bytes).
Stickers: WhatsApp allows 100 KB static / 500 KB animated WebP; whether a WebP is animated cannot be told from
its type, so an unknown one gets the animated limit and WhatsApp's own 63019 callback (a notice)
covers the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

KIB = 1024
MIB = 1024 * 1024

MediaKind = Literal["image", "audio", "video", "document", "sticker"]

# WhatsApp-supported MIME types by kind (parameters such as `; codecs=opus` are ignored).
WHATSAPP_TYPES: dict[str, MediaKind] = {
    "image/jpeg": "image",
    "image/jpg": "image",
    "image/png": "image",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp3": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "audio/opus": "audio",
    "video/mp4": "video",
    "video/3gpp": "video",
    "application/pdf": "document",
    "application/msword": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.ms-excel": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "text/plain": "document",
    "image/webp": "sticker",
}

WHATSAPP_LIMITS: dict[MediaKind, int] = {
    "image": 5 * MIB,
    "audio": 16 * MIB,
    "video": 16 * MIB,
    "document": 16 * MIB,
    "sticker": 500 * KIB,
}
STATIC_STICKER_LIMIT = 100 * KIB
# WhatsApp shows a text sent with these kinds of media as the media's caption (audio and stickers take none).
CAPTIONED_KINDS: frozenset[MediaKind] = frozenset({"image", "video", "document"})
# Flex conversation attachments: one file per message, 16 MiB.
FLEX_ATTACHMENT_LIMIT = 16 * MIB

_KIND_TEXT: dict[MediaKind, str] = {
    "image": "images (JPEG, PNG)",
    "audio": "audio (AAC, AMR, MP3, MP4 audio, OGG/opus)",
    "video": "video (MP4, 3GPP)",
    "document": "documents (PDF, DOC(X), XLS(X), PPT(X), TXT)",
    "sticker": "stickers (WebP)",
}


class MediaDecision(BaseModel):
    allowed: bool
    kind: MediaKind | None = None
    reason: str | None = None  # human-readable, for the notice to whoever sent it


def normalize_content_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def human_size(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.1f} MB"
    if size >= KIB:
        return f"{size / KIB:.0f} KB"
    return f"{size} bytes"


def supported_types_text() -> str:
    return ", ".join(_KIND_TEXT.values())


def whatsapp_decision(content_type: str, size: int | None, animated: bool | None = None) -> MediaDecision:
    """May this media be sent to WhatsApp? (rep attachments, before relaying)."""
    ctype = normalize_content_type(content_type)
    kind = WHATSAPP_TYPES.get(ctype)
    if kind is None:
        return MediaDecision(
            allowed=False,
            reason=f"WhatsApp does not accept {ctype or 'this type'}; supported: {supported_types_text()}",
        )
    if size is not None and size < 0:
        return MediaDecision(allowed=False, kind=kind, reason=f"invalid size {size}")
    limit = STATIC_STICKER_LIMIT if (kind == "sticker" and animated is False) else WHATSAPP_LIMITS[kind]
    if size is not None and size > limit:
        return MediaDecision(
            allowed=False,
            kind=kind,
            reason=f"{kind} of {human_size(size)} is over WhatsApp's {human_size(limit)} limit for {kind}s",
        )
    return MediaDecision(allowed=True, kind=kind)


def flex_decision(content_type: str, size: int | None) -> MediaDecision:
    """May this contact media be copied into the Flex conversation as an attachment?"""
    ctype = normalize_content_type(content_type)
    kind = WHATSAPP_TYPES.get(ctype)
    if kind is None:
        return MediaDecision(
            allowed=False,
            reason=f"{ctype or 'this file type'} is not supported; we accept {supported_types_text()}",
        )
    if size is not None and size > FLEX_ATTACHMENT_LIMIT:
        return MediaDecision(
            allowed=False,
            kind=kind,
            reason=f"the file is {human_size(size)}, over the {human_size(FLEX_ATTACHMENT_LIMIT)} limit",
        )
    return MediaDecision(allowed=True, kind=kind)


def mcs_media_url(conversations_service_sid: str, media_sid: str) -> str:
    """The canonical Media Content Service URL of a Conversations media (ME…): what `send_whatsapp` gets as
    `media_url` for a rep attachment. The activity resolves it (with the org's credentials) to the short-lived
    `links.content_direct_temporary` URL that WhatsApp can download; no bytes pass through the workflow."""
    return f"https://mcs.us1.twilio.com/v1/Services/{conversations_service_sid}/Media/{media_sid}"


def takes_caption(content_type: str) -> bool:
    """A rep's text can travel as this attachment's caption: one WhatsApp message instead of two."""
    kind = WHATSAPP_TYPES.get(normalize_content_type(content_type))
    return kind in CAPTIONED_KINDS
