"""The media limits rule used before any upload."""

from __future__ import annotations

import pytest

from activities.media_limits import KIB, MIB, check_media, max_bytes_for


@pytest.mark.parametrize(
    ("content_type", "limit"),
    [
        ("image/jpeg", 5 * MIB),
        ("IMAGE/PNG", 5 * MIB),
        ("audio/ogg; codecs=opus", 16 * MIB),
        ("video/mp4", 16 * MIB),
        ("application/pdf", 16 * MIB),
        ("image/webp", 500 * KIB),
    ],
)
def test_limit_boundary(content_type: str, limit: int) -> None:
    assert max_bytes_for(content_type) == limit
    assert check_media(content_type, limit).allowed
    over = check_media(content_type, limit + 1)
    assert not over.allowed
    assert over.reason is not None and "limit" in over.reason


@pytest.mark.parametrize("content_type", ["image/gif", "application/zip", "", "text/html"])
def test_unsupported_types_refused_with_reason(content_type: str) -> None:
    verdict = check_media(content_type, 10)
    assert not verdict.allowed
    assert verdict.reason is not None and "not supported" in verdict.reason
    assert max_bytes_for(content_type) is None


def test_type_only_check() -> None:
    assert check_media("image/jpeg", None).allowed
    assert check_media("image/jpeg", None).max_bytes == 5 * MIB
