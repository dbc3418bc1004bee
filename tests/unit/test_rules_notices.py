from datetime import UTC, datetime

from rules import notices

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TPL = {"welcome_back": "HX1", "order_update": "HX2"}


def test_reply_refused_says_when_and_how():
    text = notices.window_closed_reply_refused(AT, TPL)
    assert "2026-03-02T09:30:00Z" in text and "/template" in text
    assert "order_update, welcome_back" in text
    assert "none are configured" in notices.window_closed_reply_refused(None, {})


def test_window_closed_while_rep():
    text = notices.window_closed_while_rep(AT, TPL)
    assert "2026-03-02T09:30:00Z" in text and "/template" in text


def test_delivery_failed_for_an_oversized_image_tells_the_rep_what_to_do():
    from rules import delivery

    text = notices.delivery_failed(63034, delivery.EXPLANATIONS[63034])
    assert text.startswith(notices.NOTICE_PREFIX) and "63034" in text and "5 MB" in text and "smaller" in text


def test_delivery_failed_names_code():
    assert "63016" in notices.delivery_failed(63016, "window closed")
    assert "error" not in notices.delivery_failed(None, "x").split(":")[0].lower()


def test_handoff_note_carries_summary_sentiment_reason():
    note = notices.handoff_note(summary="Wants refund", sentiment="negative", reason="refund", language="es")
    assert "Wants refund" in note and "negative" in note and "refund" in note and "es" in note


def test_contact_facing_text_has_no_notice_prefix():
    assert not notices.contact_media_refused_whatsapp("too big").startswith(notices.NOTICE_PREFIX)
    assert notices.rep_media_refused("a.zip", "bad type").startswith(notices.NOTICE_PREFIX)
