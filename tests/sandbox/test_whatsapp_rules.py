"""WhatsApp's media limits as the simulated phone applies them, at their boundaries, with the error code Twilio
reports for each: 63034 over a kind's own limit, 11751 over the 16 MB message limit, 63019 nothing to download,
63021 an unsupported type."""

from __future__ import annotations

import pytest

from twilio_sandbox import whatsapp_rules as rules

KB, MB = rules.KB, rules.MB


@pytest.mark.parametrize(
    ("ctype", "size", "code"),
    [
        ("image/jpeg", 5 * MB, None),
        ("image/jpeg", 5 * MB + 1, rules.ERR_MEDIA_TOO_LARGE),
        ("image/png", 16 * MB, rules.ERR_MEDIA_TOO_LARGE),
        ("image/png", 16 * MB + 1, rules.ERR_MESSAGE_TOO_LARGE),
        ("image/webp", 500 * KB, None),
        ("image/webp", 500 * KB + 1, rules.ERR_MEDIA_TOO_LARGE),
        ("application/pdf", 16 * MB, None),
        ("application/pdf", 16 * MB + 1, rules.ERR_MESSAGE_TOO_LARGE),
        ("audio/ogg; codecs=opus", 16 * MB + 1, rules.ERR_MESSAGE_TOO_LARGE),
        ("video/mp4", 16 * MB, None),
        ("application/pdf", 0, rules.ERR_MEDIA),
        ("application/x-msdownload", 10, rules.ERR_CONTENT),
    ],
)
def test_one_media_item(ctype: str, size: int, code: int | None) -> None:
    verdict = rules.check_media(ctype, size)
    assert verdict.error_code == code and verdict.ok is (code is None)
    if code is not None:
        assert verdict.detail and code in rules.ERROR_MESSAGES


def test_the_message_total_is_held_to_16_mb() -> None:
    half = 8 * MB
    assert rules.check_message_media([("application/pdf", half, None), ("video/mp4", half, None)]).ok
    over = rules.check_message_media([("application/pdf", half, None), ("video/mp4", half + 1, None)])
    assert over.error_code == rules.ERR_MESSAGE_TOO_LARGE and str(16 * MB + 1) in over.detail
    # The first failing item decides before the total does.
    first = rules.check_message_media([("image/jpeg", 6 * MB, None), ("application/zip", 1, None)])
    assert first.error_code == rules.ERR_MEDIA_TOO_LARGE


def test_error_texts_are_twilios_titles() -> None:
    assert rules.ERROR_MESSAGES[63034] == "Media exceeds size limit"
    assert rules.ERROR_MESSAGES[11751] == "Media Message - Media exceeds messaging provider size limit"
    assert rules.ERROR_MESSAGES[63019] == "Media failed to download"
