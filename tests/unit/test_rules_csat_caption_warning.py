"""Ratings as contacts give them; which attachments carry a caption; when a rep is warned of the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.csat import rating_of
from rules.media import takes_caption
from rules.window import warning_at


@pytest.mark.parametrize(
    ("body", "payload", "rating"),
    [
        ("Great", "csat_5", 5),
        ("", "csat_1", 1),
        ("", "csat_6", None),
        ("", "other_button", None),
        ("4", None, 4),
        (" 3/5 ", None, 3),
        ("2.", None, 2),
        ("⭐⭐⭐⭐", None, 4),
        ("0", None, None),
        ("6", None, None),
        ("45", None, None),
        ("4 but slow", None, None),
        ("where is my order?", None, None),
        (None, None, None),
    ],
)
def test_a_rating_is_a_tapped_button_or_a_rating_typed_alone(
    body: str | None, payload: str | None, rating: int | None
) -> None:
    assert rating_of(body, payload) == rating


def test_images_videos_and_documents_take_a_caption_audio_and_stickers_do_not() -> None:
    assert takes_caption("image/jpeg") and takes_caption("video/mp4") and takes_caption("application/pdf")
    assert not takes_caption("audio/ogg; codecs=opus") and not takes_caption("image/webp")
    assert not takes_caption("application/zip")


def test_the_warning_comes_the_given_minutes_before_the_close() -> None:
    deadline = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert warning_at(deadline, 60) == deadline - timedelta(hours=1)
    assert warning_at(deadline, 0) is None and warning_at(None, 60) is None
