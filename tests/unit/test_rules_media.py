import pytest

from rules import media
from rules.media import KIB, MIB


@pytest.mark.parametrize(
    ("ctype", "size", "allowed", "kind"),
    [
        ("image/jpeg", 5 * MIB, True, "image"),
        ("image/jpeg", 5 * MIB + 1, False, "image"),
        ("IMAGE/PNG", 100, True, "image"),
        ("audio/ogg; codecs=opus", 16 * MIB, True, "audio"),
        ("audio/mpeg", 16 * MIB + 1, False, "audio"),
        ("video/mp4", 10 * MIB, True, "video"),
        ("video/3gpp", 17 * MIB, False, "video"),
        ("application/pdf", 16 * MIB, True, "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", 1, True, "document"),
        ("text/plain", 10, True, "document"),
        ("image/webp", 400 * KIB, True, "sticker"),
        ("image/webp", 501 * KIB, False, "sticker"),
        ("image/gif", 10, False, None),
        ("application/zip", 10, False, None),
        ("", 10, False, None),
    ],
)
def test_whatsapp_limits(ctype, size, allowed, kind):
    d = media.whatsapp_decision(ctype, size)
    assert d.allowed is allowed
    assert d.kind == kind
    if not allowed:
        assert d.reason


def test_static_sticker_limit_when_known():
    assert media.whatsapp_decision("image/webp", 101 * KIB, animated=False).allowed is False
    assert media.whatsapp_decision("image/webp", 101 * KIB, animated=True).allowed is True


def test_unknown_size_is_judged_on_type_only():
    assert media.whatsapp_decision("image/png", None).allowed
    assert not media.whatsapp_decision("application/x-msdownload", None).allowed


def test_reason_names_the_limit_and_size():
    d = media.whatsapp_decision("image/jpeg", 6 * MIB)
    assert "6.0 MB" in (d.reason or "") and "5.0 MB" in (d.reason or "")
    bad = media.whatsapp_decision("application/zip", 1)
    assert "application/zip" in (bad.reason or "") and "PDF" in (bad.reason or "")


def test_negative_size_is_refused():
    assert not media.whatsapp_decision("image/png", -1).allowed


def test_flex_side_limit_is_16_mib():
    assert media.flex_decision("video/mp4", 16 * MIB).allowed
    assert not media.flex_decision("video/mp4", 16 * MIB + 1).allowed
    assert not media.flex_decision("application/zip", None).allowed


def test_mcs_url():
    assert media.mcs_media_url("IS1", "ME2") == "https://mcs.us1.twilio.com/v1/Services/IS1/Media/ME2"
