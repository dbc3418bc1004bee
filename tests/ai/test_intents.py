from __future__ import annotations

from pathlib import Path

import pytest

from activities.ai.intents import (
    DEFAULT_RULES_PATH,
    RulesDataError,
    classify,
    default_rules,
    load_rules,
)
from activities.ai.text import fold, words_only


def test_fold_strips_accents_case_and_arabic_hamza() -> None:
    assert fold("¿DÓNDE está?") == "¿donde esta?"
    assert fold("KÜNDIGEN") == "kundigen"
    assert fold("أريد") == "اريد"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want to talk to a human", "en"),
        ("can I speak with a real person please", "en"),
        ("agent", "en"),
        ("Quiero hablar con un asesor", "es"),
        ("¿Puedo hablar con una persona?", "es"),
        ("Quero falar com um atendente", "pt"),
        ("Je veux parler à un conseiller", "fr"),
        ("Ich möchte mit einem Mitarbeiter sprechen", "de"),
        ("Vorrei parlare con un operatore", "it"),
        ("أريد التحدث مع موظف", "ar"),
    ],
)
def test_human_requests_in_many_languages(text: str, lang: str) -> None:
    match = classify(default_rules(), text)
    assert (match.kind, match.id, match.language) == ("escalation", "human", lang)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to cancel my subscription", "cancel"),
        ("quiero cancelar mi pedido", "cancel"),
        ("Je veux résilier mon abonnement", "cancel"),
        ("Ich will kündigen", "cancel"),
        ("I want a refund", "refund"),
        ("quiero un reembolso", "refund"),
        ("je veux être remboursé", "refund"),
        ("I want to file a complaint", "complaint"),
        ("quiero poner una queja", "complaint"),
        ("أريد تقديم شكوى", "complaint"),
    ],
)
def test_cancel_refund_complaint_intents(text: str, intent: str) -> None:
    match = classify(default_rules(), text)
    assert (match.kind, match.id) == ("escalation", intent)


@pytest.mark.parametrize(
    ("text", "faq"),
    [
        ("What are your opening hours?", "hours"),
        ("¿Cuál es su horario?", "hours"),
        ("Where is my order?", "order_status"),
        ("¿Dónde está mi pedido?", "order_status"),
        ("How long does shipping take?", "shipping"),
        ("¿Cuánto tarda el envío?", "shipping"),
        ("How do I return an item?", "returns"),
        ("hola", "greeting"),
        ("thanks!", "thanks"),
    ],
)
def test_faq_matches(text: str, faq: str) -> None:
    match = classify(default_rules(), text)
    assert (match.kind, match.id) == ("faq", faq)


def test_escalation_wins_over_faq() -> None:
    # "return" is an FAQ topic, "refund" an escalation: a refund request must not get the returns answer.
    assert classify(default_rules(), "I want to return it and get a refund").id == "refund"


def test_greeting_inside_a_question_is_not_smalltalk() -> None:
    assert classify(default_rules(), "hi, what are your hours?").id == "hours"


def test_unmatched_text() -> None:
    match = classify(default_rules(), "the blue one with the stripes")
    assert match.kind == "none" and match.id is None


def test_default_rules_file_has_en_and_es_answers_everywhere() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    for entry in rules.faq:
        for variant in entry.variants:
            assert {"en", "es"} <= set(variant.answers), entry.id
    assert {"en", "es"} <= set(rules.replies["fallback"]) and {"en", "es"} <= set(rules.replies["handoff"])


GOOD_TAIL = """
[[escalation]]
id = "human"
topic = "a human"
reason = "customer asked for a human agent"
patterns = { en = ['human'] }

[replies.fallback]
en = "?"
[replies.handoff]
en = "..."
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_rules_file_loads(tmp_path: Path) -> None:
    faq = '[[faq]]\nid = "x"\ntopic = "x"\npatterns = { en = [\'foo\'] }\n[[faq.variants]]\nen = "bar"\n'
    rules = load_rules(_write(tmp_path, faq + GOOD_TAIL))
    assert classify(rules, "FOO?").id == "x"


def _faq(pattern: str, answer_lines: str) -> str:
    head = f'[[faq]]\nid = "x"\ntopic = "x"\npatterns = {{ en = [{pattern!r}] }}\n'
    return head + "[[faq.variants]]\n" + answer_lines


@pytest.mark.parametrize(
    ("faq", "expected"),
    [
        (_faq("(", 'en = "a"\n'), "bad pattern"),
        (_faq("a", 'en = "{flex_order_id}"\n'), "flex_order_id"),
        (_faq("a", ""), "no answers"),
    ],
)
def test_bad_rules_file_is_rejected_with_the_reason(tmp_path: Path, faq: str, expected: str) -> None:
    with pytest.raises(RulesDataError, match=expected):
        load_rules(_write(tmp_path, faq + GOOD_TAIL))


def test_unreadable_or_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(RulesDataError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")
    with pytest.raises(RulesDataError, match="not valid TOML"):
        load_rules(_write(tmp_path, "[[faq]\n"))


def test_words_only_strips_attachment_tokens() -> None:
    assert words_only("look [image/jpeg] here [video/mp4]") == ("look here", True)
    assert words_only("[application/vnd.ms-excel]") == ("", True)
    assert words_only("(empty message)") == ("", False)
    assert words_only("plain [not a token]") == ("plain [not a token]", False)
