"""The service's WhatsApp media table (what it lets a rep send) and the sandbox's (what the simulated WhatsApp
accepts) are two readings of the same WhatsApp rules: they must name the same types, kinds and limits."""

from __future__ import annotations

from rules.media import WHATSAPP_LIMITS, WHATSAPP_TYPES
from twilio_sandbox.whatsapp_rules import MEDIA_RULES


def test_both_tables_name_the_same_types_with_the_same_kind_and_limit() -> None:
    service = {t: (kind, WHATSAPP_LIMITS[kind]) for t, kind in WHATSAPP_TYPES.items()}
    sandbox = {t: (kind, limit) for t, (kind, limit, _) in MEDIA_RULES.items()}
    assert service == sandbox


def test_mp4_audio_goes_through_both() -> None:
    assert WHATSAPP_TYPES["audio/mp4"] == "audio" and MEDIA_RULES["audio/mp4"][0] == "audio"
