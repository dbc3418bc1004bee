from __future__ import annotations

from pathlib import Path

import pytest

from activities.ai.backend import AiBackend, AiBackendError
from activities.ai.intents import DEFAULT_RULES_PATH, default_rules
from activities.ai.rules_backend import NEGATIVE_REASON, RulesBackend, unanswered_reason
from tests.ai.conftest import contact, turn_input

RULES = default_rules()


def test_is_an_ai_backend(rules_backend: RulesBackend) -> None:
    assert isinstance(rules_backend, AiBackend)


def test_spanish_question_gets_a_spanish_faq_answer(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("Hola, ¿cuál es su horario de atención?"))
    hours = next(e for e in RULES.faq if e.id == "hours").variants[0].answers
    assert result.language == "es"
    assert result.reply == hours["es"]
    assert not result.escalate and result.reason is None and result.answered


def test_faq_hit_answers_without_escalating(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("How long does shipping take?"))
    assert result.reply is not None and "business days" in result.reply
    assert (result.escalate, result.answered, result.language) == (False, True, "en")
    assert "asked about shipping" in result.summary


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want to talk to a human", "en"),
        ("Quiero hablar con una persona, por favor", "es"),
        ("Quero falar com um atendente humano", "pt"),
        ("Je voudrais parler à un conseiller", "fr"),
        ("Ich möchte bitte mit einem Mitarbeiter sprechen", "de"),
        ("أريد التحدث مع موظف خدمة العملاء", "ar"),
    ],
)
def test_human_request_escalates_with_reason_in_the_contacts_language(
    rules_backend: RulesBackend, text: str, lang: str
) -> None:
    result = rules_backend.decide(contact(text))
    assert result.escalate
    assert result.reason == "customer asked for a human agent"
    assert result.language == lang
    # The contact is told, in their language when we have one, that a person takes over.
    assert result.reply == RULES.reply("handoff", lang)
    assert "Handed off because: customer asked for a human agent." in result.summary


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I want to cancel my subscription", "customer wants to cancel"),
        ("Quiero un reembolso de mi compra", "customer requests a refund"),
        ("I want to make a complaint about the courier", "customer has a complaint"),
    ],
)
def test_cancel_refund_complaint_escalate(rules_backend: RulesBackend, text: str, reason: str) -> None:
    result = rules_backend.decide(contact(text))
    assert result.escalate and result.reason == reason


def test_clearly_negative_sentiment_escalates(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("This is the worst service ever, I am furious and disgusted"))
    assert result.escalate and result.reason == NEGATIVE_REASON
    assert result.sentiment == "negative"


def test_negative_sentiment_beats_an_faq_hit(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("Where is my order?? This is horrible, awful, I hate you all"))
    assert result.escalate and result.reason == NEGATIVE_REASON


def test_mildly_negative_faq_question_is_answered(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("Shipping is a bit slow, how long does delivery take?"))
    assert not result.escalate and result.reply is not None


def test_unanswered_below_the_limit_gets_the_fallback(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(turn_input(("contact", "the blue one with stripes"), unanswered_turns=1))
    assert not result.escalate
    assert result.answered is False
    assert result.reply == RULES.reply("fallback", "en")


def test_third_unanswered_turn_escalates(rules_backend: RulesBackend) -> None:
    inp = turn_input(
        ("contact", "the blue one with stripes"),
        ("ai", RULES.reply("fallback", "en")),
        ("contact", "the one from the catalogue"),
        ("ai", RULES.reply("fallback", "en")),
        ("contact", "page 12, second row"),
        unanswered_turns=2,
    )
    result = rules_backend.decide(inp)
    assert result.escalate and result.answered is False
    assert result.reason == unanswered_reason(3)
    assert "could not answer 3 messages" in result.summary


def test_unanswered_limit_is_configurable(rules_backend: RulesBackend) -> None:
    inp = turn_input(("contact", "zzz qqq"), unanswered_turns=2, max_unanswered_turns=5)
    assert not rules_backend.decide(inp).escalate
    inp = turn_input(("contact", "zzz qqq"), unanswered_turns=0, max_unanswered_turns=1)
    assert rules_backend.decide(inp).escalate


def test_answer_after_unanswered_turns_does_not_escalate(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(turn_input(("contact", "What are your opening hours?"), unanswered_turns=5))
    assert not result.escalate and result.answered


def test_burst_is_answered_once_with_each_answer_once(rules_backend: RulesBackend) -> None:
    inp = turn_input(
        ("contact", "earlier question about returns"),
        ("ai", "earlier answer"),
        ("contact", "hi"),
        ("contact", "what are your opening hours"),
        ("contact", "what are your hours?"),
        ("contact", "and how long does shipping take"),
        new_message_count=4,
    )
    result = rules_backend.decide(inp)
    assert result.reply is not None
    hours = next(e for e in RULES.faq if e.id == "hours").variants[0].answers["en"]
    shipping = next(e for e in RULES.faq if e.id == "shipping").variants[0].answers["en"]
    greeting = next(e for e in RULES.faq if e.id == "greeting").variants[0].answers["en"]
    assert result.reply.count(hours) == 1 and result.reply.count(shipping) == 1
    assert greeting not in result.reply  # small talk dropped when a real question is answered
    returns = next(e for e in RULES.faq if e.id == "returns").variants[0].answers["en"]
    assert returns not in result.reply  # the earlier, already answered message is not answered again


def test_burst_with_a_human_request_escalates(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("what are your hours", "actually, let me talk to a person"))
    assert result.escalate and result.reason == "customer asked for a human agent"


def test_greeting_alone_is_answered(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("hola"))
    assert result.answered and not result.escalate
    greeting_es = next(e for e in RULES.faq if e.id == "greeting").variants[0].answers["es"]
    assert result.reply == greeting_es and result.language == "es"


def test_order_status_uses_flex_context(rules_backend: RulesBackend) -> None:
    with_status = turn_input(
        ("contact", "where is my order?"),
        flex_context={"flex_order_id": "A-1042", "flex_order_status": "out for delivery"},
    )
    result = rules_backend.decide(with_status)
    assert result.reply == "Your order A-1042 is currently: out for delivery."
    assert "Order on file: A-1042." in result.summary

    only_id = rules_backend.decide(
        turn_input(("contact", "¿dónde está mi pedido?"), flex_context={"flex_order_id": "B-7"})
    )
    assert only_id.reply is not None and "B-7" in only_id.reply and only_id.language == "es"

    none = rules_backend.decide(contact("where is my order?"))
    assert none.reply is not None and "order number" in none.reply  # asks instead of inventing an order


def test_summary_names_the_contact_and_earlier_topics(rules_backend: RulesBackend) -> None:
    inp = turn_input(
        ("contact", "How do I return an item?"),
        ("ai", "You can return..."),
        ("contact", "I want a refund"),
        contact_name="Ana",
    )
    result = rules_backend.decide(inp)
    assert result.summary.startswith("Ana sent 2 WhatsApp messages, in English (en).")
    assert "asked about returns and a refund" in result.summary
    assert "answered about returns." in result.summary
    assert "“I want a refund”" in result.summary


def test_no_contact_message_is_a_clear_error(rules_backend: RulesBackend) -> None:
    with pytest.raises(AiBackendError, match="no contact message"):
        rules_backend.decide(turn_input(("ai", "hello")))
    with pytest.raises(AiBackendError, match="new_message_count"):
        rules_backend.decide(turn_input(("contact", "hi"), new_message_count=0))


def test_deterministic(rules_backend: RulesBackend) -> None:
    inp = contact("Quiero cancelar", "es urgente")
    assert rules_backend.decide(inp) == rules_backend.decide(inp)


async def test_async_turn_matches_decide(rules_backend: RulesBackend) -> None:
    inp = contact("What are your opening hours?")
    assert await rules_backend.turn(inp) == rules_backend.decide(inp)


def test_org_specific_rules_file(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "Our support team is available Monday to Friday", "Acme support is open every day"
    )
    path = tmp_path / "acme.toml"
    path.write_text(text, encoding="utf-8")
    backend = RulesBackend(org_rules={"acme": path})
    question = "What are your opening hours?"
    acme = backend.decide(turn_input(("contact", question)))  # turn_input uses org "acme"
    other = backend.decide(turn_input(("contact", question), org="globex"))
    assert acme.reply is not None and acme.reply.startswith("Acme support is open every day")
    assert other.reply is not None and other.reply.startswith("Our support team is available")


def test_attachment_only_message_gets_the_attachment_reply(rules_backend: RulesBackend) -> None:
    inp = turn_input(
        ("contact", "Hola, tengo un problema con mi pedido"),
        ("ai", "..."),
        ("contact", "[image/jpeg] [application/pdf]"),
    )
    result = rules_backend.decide(inp)
    assert result.reply == RULES.reply("attachment", "es")  # language from the earlier words
    assert result.answered is False and not result.escalate
    assert "could not answer 1 message" in result.summary


def test_attachment_with_words_is_classified_on_the_words(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(contact("I want a refund [image/jpeg]"))
    assert result.escalate and result.reason == "customer requests a refund"
    empty = rules_backend.decide(contact("(empty message)"))
    assert empty.reply == RULES.reply("fallback", "en") and not empty.answered
