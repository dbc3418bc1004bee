"""Delivery status callbacks of messages we sent to WhatsApp → what failed and what it means."""

from __future__ import annotations

from pydantic import BaseModel

FAILED_STATUSES = frozenset({"failed", "undelivered"})
# No later status callback is expected after these (a "sent" message can still become "undelivered").
FINAL_STATUSES = FAILED_STATUSES | {"delivered", "read", "canceled"}
WINDOW_CLOSED_CODE = 63016

# WhatsApp/Twilio error codes seen on WhatsApp sends, explained for a rep: what happened and what to do. The
# media codes follow Twilio's error catalogue: 63019 "Media failed to download" (nothing could be fetched, or
# 0 bytes), 63034 "Media exceeds size limit" (a type's own limit, images 5 MB), 11751 "Media exceeds messaging
# provider size limit" (WhatsApp's 16 MB per message).
EXPLANATIONS: dict[int, str] = {
    63016: "the 24-hour WhatsApp window is closed; only an approved template can reach the contact now",
    63018: "WhatsApp's rate limit for this sender was reached; the message was not delivered",
    63019: "WhatsApp could not download the attachment (its link failed or returned no data); attach it again",
    63034: (
        "the attachment is larger than WhatsApp allows for its type (images 5 MB, stickers 100 KB static or "
        "500 KB animated); send a smaller or compressed file, or a document instead of an image"
    ),
    11751: "the attachment is larger than WhatsApp's 16 MB limit for one message; send a smaller file or a link",
    63021: "WhatsApp rejected the content as invalid (for an attachment: a type WhatsApp does not support)",
    63024: "the recipient is not a valid WhatsApp user",
    63003: "WhatsApp could not find the recipient's address",
    63030: "WhatsApp does not support this parameter for this message",
    63032: "WhatsApp did not deliver the message to this user (Meta's per-user marketing limit)",
}


class DeliveryOutcome(BaseModel):
    failed: bool
    closes_window: bool = False
    error_code: int | None = None
    explanation: str | None = None


def classify(status: str, error_code: int | None, error_message: str | None = None) -> DeliveryOutcome:
    if status not in FAILED_STATUSES:
        return DeliveryOutcome(failed=False)
    if error_code is not None and error_code in EXPLANATIONS:
        explanation = EXPLANATIONS[error_code]
    elif error_code is not None:
        explanation = f"Twilio error {error_code}" + (f": {error_message}" if error_message else "")
    else:
        explanation = error_message or "no reason was given"
    return DeliveryOutcome(
        failed=True,
        closes_window=error_code == WINDOW_CLOSED_CODE,
        error_code=error_code,
        explanation=explanation,
    )


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES
