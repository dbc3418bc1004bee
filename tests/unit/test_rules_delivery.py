import pytest

from rules import delivery


@pytest.mark.parametrize("status", ["queued", "sent", "delivered", "read", "accepted"])
def test_non_failures(status):
    assert delivery.classify(status, None).failed is False


def test_63016_closes_window():
    out = delivery.classify("failed", 63016)
    assert out.failed and out.closes_window and "window" in (out.explanation or "")


@pytest.mark.parametrize("code", [63018, 63019, 63021, 63034, 11751])
def test_known_codes_explained_but_window_unchanged(code):
    out = delivery.classify("undelivered", code)
    assert out.failed and not out.closes_window and out.error_code == code
    assert out.explanation == delivery.EXPLANATIONS[code]


def test_unknown_code_and_missing_code():
    assert "99999" in (delivery.classify("failed", 99999, "odd").explanation or "")
    assert delivery.classify("failed", None).explanation == "no reason was given"


@pytest.mark.parametrize(("code", "limit"), [(63034, "5 MB"), (11751, "16 MB")])
def test_oversized_media_codes_name_the_limit_and_the_way_out(code, limit):
    out = delivery.classify("failed", code, "Media exceeds size limit")
    assert out.failed and not out.closes_window
    assert limit in (out.explanation or "") and "smaller" in (out.explanation or "")


def test_download_failure_is_not_explained_as_a_size_problem():
    text = delivery.classify("failed", 63019).explanation or ""
    assert "download" in text and "large" not in text
