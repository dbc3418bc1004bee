"""The reps' part handed back to the AI: the rules backend does not ask again what a rep settled (it quotes the
rep's answer, it uses the order number the contact gave the rep), and the openai backend has it in its prompt."""

from __future__ import annotations

from datetime import timedelta

from activities.ai.handback import settled_by_reps
from activities.ai.intents import default_rules
from activities.ai.openai_backend import build_messages
from activities.ai.rules_backend import RulesBackend
from contracts.ai import AiTurnInput, HumanPart, Speaker
from rules.handback import human_part
from tests.ai.conftest import T0, turn_input

RULES = default_rules()
ASKS_FOR_THE_NUMBER = "You can follow your order with the tracking link in your confirmation email. If you share"

# Before the handoff (seconds 0–2), then the rep's part (from second 3), then the contact's new question.
BEFORE: list[tuple[Speaker, str]] = [
    ("contact", "Where is my order?"),
    ("ai", "You can follow your order with the tracking link in your confirmation email."),
    ("contact", "I want to talk to a human agent"),
]
HANDED_OFF_AT = T0 + timedelta(seconds=3)


def back_to_the_ai(*rep_part: tuple[Speaker, str], question: str = "Where is my order?") -> AiTurnInput:
    """The AI's turn after the rep's session: the handback as the workflow builds it (at the session's end)."""
    inp = turn_input(*BEFORE, *rep_part, ("contact", question))
    handback = human_part(inp.transcript[: len(BEFORE) + len(rep_part)], HANDED_OFF_AT)
    return inp.model_copy(update={"handback": handback})


def test_without_a_handback_the_order_question_asks_for_the_number(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(turn_input(("contact", "Where is my order?")))
    assert result.reply is not None and result.reply.startswith(ASKS_FOR_THE_NUMBER)


def test_a_status_the_rep_gave_is_quoted_not_asked_for_again(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(
        back_to_the_ai(
            ("rep", "Hi, I'm Bob."),
            ("rep", "Your order A-42 ships tomorrow by courier."),
            ("contact", "great, thanks"),
        )
    )
    assert result.reply == "As our colleague told you: “Your order A-42 ships tomorrow by courier.”"
    assert result.answered and not result.escalate
    assert "Order on file: A-42." in result.summary


def test_an_order_number_the_rep_asked_for_and_got_is_used(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(
        back_to_the_ai(
            ("rep", "Could you share your order number, please?"),
            ("contact", "Sure, it's 100234"),
            ("rep", "Thanks, a colleague will check the courier."),
        )
    )
    assert result.reply is not None and not result.reply.startswith(ASKS_FOR_THE_NUMBER)
    assert result.reply.startswith("I can see your order 100234.")


def test_in_spanish_too(rules_backend: RulesBackend) -> None:
    result = rules_backend.decide(
        back_to_the_ai(
            ("rep", "Hola, ¿me das tu número de pedido?"),
            ("contact", "Es el #55821"),
            question="¿Dónde está mi pedido?",
        )
    )
    assert result.language == "es" and result.reply is not None
    assert result.reply.startswith("Veo tu pedido 55821.")


def test_a_number_given_without_being_asked_and_other_topics_change_nothing(rules_backend: RulesBackend) -> None:
    part: list[tuple[Speaker, str]] = [("contact", "my invoice 4411 is wrong"), ("rep", "Our returns take 30 days.")]
    settled = settled_by_reps(RULES, HumanPart(since=HANDED_OFF_AT), turn_input(*BEFORE, *part).transcript)
    assert settled.order_id is None and settled.answered == {}
    result = rules_backend.decide(back_to_the_ai(*part))
    assert result.reply is not None and result.reply.startswith(ASKS_FOR_THE_NUMBER)


def test_an_order_id_the_platform_knows_wins_over_the_one_given_to_the_rep(rules_backend: RulesBackend) -> None:
    inp = back_to_the_ai(("rep", "What is your order number?"), ("contact", "A-9"))
    inp = inp.model_copy(update={"flex_context": {"flex_order_id": "B-1"}})
    result = rules_backend.decide(inp)
    assert result.reply is not None and result.reply.startswith("I can see your order B-1.")


def test_the_openai_prompt_carries_the_reps_part_only_when_there_is_one() -> None:
    inp = back_to_the_ai(("rep", "Your order A-42 ships tomorrow by courier."))
    system = [m["content"] for m in build_messages(inp) if m["role"] == "system"]
    [handback] = [s for s in system if "human agent held this conversation" in s]
    assert "“Your order A-42 ships tomorrow by courier.”" in handback
    assert "do not ask again" in handback
    plain = build_messages(turn_input(("contact", "Where is my order?")))
    assert not any("human agent held" in m["content"] for m in plain)
