from __future__ import annotations

from activities.ai.summary import SummaryFacts, build_summary, join_words, quote


def test_join_words() -> None:
    assert join_words([]) == ""
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"]) == "a, b and c"


def test_quote_flattens_and_truncates() -> None:
    assert quote("a\n  b") == "“a b”"
    long = quote("x" * 500, limit=20)
    assert len(long) == 22 and long.endswith("…”")


def test_summary_carries_every_fact_and_only_those() -> None:
    text = build_summary(
        SummaryFacts(
            who="Ana",
            language="es",
            contact_messages=3,
            asked_topics=["opening hours", "a refund"],
            answered_topics=["opening hours"],
            unmatched_messages=1,
            latest_message="Quiero un reembolso",
            order_id="A-42",
            sentiment="negative",
            escalation_reason="customer requests a refund",
        )
    )
    assert text.startswith("Ana sent 3 WhatsApp messages, in Spanish (es).")
    assert "asked about opening hours and a refund" in text
    assert "answered about opening hours." in text
    assert "could not answer 1 message." in text
    assert "Order on file: A-42." in text
    assert "“Quiero un reembolso”" in text
    assert text.endswith("Handed off because: customer requests a refund.")
    assert "\n" not in text  # one paragraph


def test_summary_without_optional_facts_mentions_none_of_them() -> None:
    text = build_summary(SummaryFacts(language="xx", contact_messages=1, latest_message="hi"))
    assert text.startswith("The contact sent 1 WhatsApp message, in xx (xx).")
    for absent in ("Order", "asked about", "answered", "Handed off", "could not"):
        assert absent not in text
