from __future__ import annotations

import pytest

from activities.ai.intents import default_rules
from activities.ai.language import detect, detect_conversation
from activities.ai.sentiment import SentimentScorer, is_strongly_negative, label


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hola, quiero saber dónde está mi pedido", "es"),
        ("Where is my order? It has been a week", "en"),
        ("Quero saber onde está o meu pedido", "pt"),
        ("Je voudrais savoir où est ma commande", "fr"),
        ("Ich möchte wissen, wo meine Bestellung ist", "de"),
        ("أريد أن أعرف أين طلبي", "ar"),
    ],
)
def test_detect_bcp47(text: str, code: str) -> None:
    assert detect(text) == code


def test_detect_gives_up_on_non_text() -> None:
    assert detect("123 !!!") is None
    assert detect("") is None


def test_short_message_takes_the_language_of_the_conversation() -> None:
    earlier = ["Buenos días, tengo una pregunta sobre mi pedido de la semana pasada"]
    assert detect_conversation(["ok"], earlier, None, "en") == "es"


def test_hint_then_default_when_nothing_tells() -> None:
    assert detect_conversation(["ok"], [], "pt", "en") == "pt"
    assert detect_conversation(["ok"], [], None, "en") == "en"


def test_label_thresholds() -> None:
    assert label(0.05) == "positive"
    assert label(0.0499) == "neutral"
    assert label(-0.0499) == "neutral"
    assert label(-0.05) == "negative"
    assert is_strongly_negative(-0.6) and not is_strongly_negative(-0.59)


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer(default_rules().lexicon)


@pytest.mark.parametrize(
    "text",
    [
        "This is terrible, I am furious, worst service ever",
        "Esto es PÉSIMO, estoy furioso",
        "Serviço péssimo, que raiva",
        "C'est une arnaque, je suis furieux",
        "Das ist schrecklich, ich bin wütend",
    ],
)
def test_strongly_negative_in_several_languages(scorer: SentimentScorer, text: str) -> None:
    assert is_strongly_negative(scorer.compound(text))


def test_positive_and_neutral(scorer: SentimentScorer) -> None:
    assert label(scorer.compound("Great, thank you so much!")) == "positive"
    assert label(scorer.compound("What time do you open on Saturday?")) == "neutral"
    assert scorer.compound("   ") == 0.0


def test_extra_lexicon_never_overrides_english() -> None:
    plain = SentimentScorer().compound("great")
    assert SentimentScorer({"great": -4.0}).compound("great") == plain > 0


@pytest.mark.parametrize(
    "text", ["I want to talk to a human agent, please.", "Can you help me please", "I would like to speak to someone"]
)
def test_a_polite_request_is_neutral_not_positive(scorer: SentimentScorer, text: str) -> None:
    assert label(scorer.compound(text)) == "neutral"
