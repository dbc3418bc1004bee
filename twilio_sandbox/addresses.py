"""WhatsApp addresses as Twilio writes them: `whatsapp:<address>`, the address being a phone number (+E164)."""

from __future__ import annotations

PREFIX = "whatsapp:"


def wa(address: str) -> str:
    return address if address.startswith(PREFIX) else f"{PREFIX}{address}"


def bare(address: str) -> str:
    return address[len(PREFIX) :] if address.startswith(PREFIX) else address
