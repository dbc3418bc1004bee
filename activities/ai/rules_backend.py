"""`rules`: the embedded, offline, deterministic AI backend.

One turn answers the contact's newest messages (a burst is answered once, with one reply):
1. an escalation intent in any new message (asks for a human, cancel, refund, complaint) → hand off;
2. clearly negative sentiment (VADER compound ≤ `strong_negative_compound` over the new messages) → hand off;
3. FAQ hits → one reply with each distinct answer (greetings/thanks dropped when a real question is answered);
   after a rep held the conversation (`handback`), a topic the rep already answered gets the rep's own words
   back, and an order number the contact gave the rep is used rather than asked for again;
4. nothing matched → a fallback reply (`answered=False`), or a handoff once the contact has gone
   `max_unanswered_turns` turns without an answer (this one included).
Escalating turns still carry a short reply telling the contact a person will take over, in their language.
Everything heavy (lingua models, VADER lexicon, compiled patterns) is built once, at construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from activities.ai.backend import AiBackendError
from activities.ai.handback import Settled, settled_by_reps
from activities.ai.intents import (
    DEFAULT_RULES_PATH,
    FaqEntry,
    Match,
    RulesData,
    classify,
    default_rules,
    load_rules,
)
from activities.ai.language import detect_conversation, detector
from activities.ai.sentiment import SentimentScorer, is_strongly_negative, label
from activities.ai.summary import SummaryFacts, build_summary, quote
from activities.ai.text import words_only
from contracts.ai import AiTurnInput, AiTurnResult, TranscriptLine

NEGATIVE_REASON = "customer is very upset"


def unanswered_reason(turns: int) -> str:
    return f"AI could not answer {turns} messages in a row"


class RuleSet:
    """One rules data set with what is derived from it once: FAQ index, sentiment scorer with its lexicon."""

    def __init__(self, rules: RulesData) -> None:
        self.rules = rules
        self.faq: dict[str, FaqEntry] = {entry.id: entry for entry in rules.faq}
        self.scorer = SentimentScorer(rules.lexicon)


class RulesBackend:
    """`rules_path` replaces the packaged rules for every org; `org_rules` gives some orgs their own file."""

    def __init__(self, rules_path: Path | str | None = None, org_rules: Mapping[str, Path | str] | None = None) -> None:
        if rules_path is None or Path(rules_path) == DEFAULT_RULES_PATH:
            self.default = RuleSet(default_rules())
        else:
            self.default = RuleSet(load_rules(rules_path))
        self.by_org = {org: RuleSet(load_rules(path)) for org, path in (org_rules or {}).items()}
        detector()  # preload the language models now, not on the first customer's turn

    @property
    def rules(self) -> RulesData:
        return self.default.rules

    def ruleset(self, org: str) -> RuleSet:
        return self.by_org.get(org, self.default)

    async def turn(self, inp: AiTurnInput) -> AiTurnResult:
        # Pure CPU work well under a millisecond: no thread hop needed.
        return self.decide(inp)

    def decide(self, inp: AiTurnInput) -> AiTurnResult:
        rs = self.ruleset(inp.org)
        settings = rs.rules.settings
        contact = [line for line in inp.transcript if line.speaker == "contact"]
        if not contact:
            raise AiBackendError("transcript has no contact message to answer")
        if inp.new_message_count < 1:
            raise AiBackendError(f"new_message_count must be at least 1, got {inp.new_message_count}")
        settled = settled_by_reps(rs.rules, inp.handback, inp.transcript) if inp.handback else Settled()
        if settled.order_id and not inp.flex_context.get("flex_order_id"):
            inp = inp.model_copy(update={"flex_context": {**inp.flex_context, "flex_order_id": settled.order_id}})
        split = max(len(contact) - inp.new_message_count, 0)
        new_lines, earlier_lines = contact[split:], contact[:split]
        cleaned = [words_only(line.text) for line in new_lines]
        new_texts = [words for words, _ in cleaned if words]
        attachments_only = not new_texts and any(media for _, media in cleaned)
        matches = [classify(rs.rules, text) for text in new_texts]

        hint = next((m.language for m in reversed(matches) if m.language), None)
        language = detect_conversation(
            new_texts, (words_only(line.text)[0] for line in earlier_lines), hint, settings.default_language
        )
        compound = rs.scorer.compound("\n".join(new_texts))
        sentiment = label(compound, positive=settings.positive_compound, negative=settings.negative_compound)

        reason: str | None = None
        reply: str | None = None
        answered = True
        answered_now: list[str] = []
        escalation = next((m for m in matches if m.kind == "escalation"), None)
        if escalation is not None:
            reason = self._reason(rs, escalation)
        elif is_strongly_negative(compound, settings.strong_negative_compound):
            reason = NEGATIVE_REASON
        else:
            reply, answered_now = self._answers(rs, matches, language, inp.flex_context, settled)
            if reply is None:
                answered = False
                if inp.unanswered_turns + 1 >= inp.max_unanswered_turns:
                    reason = unanswered_reason(inp.unanswered_turns + 1)
                elif attachments_only and "attachment" in rs.rules.replies:
                    reply = rs.rules.reply("attachment", language)  # it cannot look at media: say so
                else:
                    reply = rs.rules.reply("fallback", language)
        if reason is not None:
            reply = rs.rules.reply("handoff", language)

        summary = build_summary(
            self._facts(rs, inp, contact, new_lines, matches, answered_now, answered, language, sentiment, reason)
        )
        return AiTurnResult(
            reply=reply,
            escalate=reason is not None,
            reason=reason,
            summary=summary,
            sentiment=sentiment,
            language=language,
            answered=answered,
        )

    def _reason(self, rs: RuleSet, match: Match) -> str:
        intent = next(i for i in rs.rules.escalation if i.id == match.id)
        return intent.reason

    def _answers(
        self, rs: RuleSet, matches: list[Match], language: str, flex_context: dict[str, str], settled: Settled
    ) -> tuple[str | None, list[str]]:
        """One reply for the whole burst: each distinct FAQ answer once, in the order asked; a topic a rep
        already answered gets the rep's words."""
        default = rs.rules.settings.default_language
        chosen: list[FaqEntry] = []
        for match in matches:
            entry = rs.faq.get(match.id or "") if match.kind == "faq" else None
            if entry is not None and entry not in chosen:
                chosen.append(entry)
        if any(not entry.smalltalk for entry in chosen):
            chosen = [entry for entry in chosen if not entry.smalltalk]
        texts, topics = [], []
        for entry in chosen:
            rep_said = settled.answered.get(entry.id)
            if rep_said is not None and "rep_answered" in rs.rules.replies:
                text: str | None = rs.rules.reply("rep_answered", language).replace("{rep_said}", quote(rep_said))
            else:
                text = entry.answer(language, default, flex_context)
            if text is not None:
                texts.append(text)
                topics.append(entry.topic)
        return ("\n\n".join(texts) if texts else None), topics

    def _facts(
        self,
        rs: RuleSet,
        inp: AiTurnInput,
        contact: list[TranscriptLine],
        new_lines: list[TranscriptLine],
        new_matches: list[Match],
        answered_now: list[str],
        answered_turn: bool,
        language: str,
        sentiment: str,
        reason: str | None,
    ) -> SummaryFacts:
        asked: list[str] = []
        answered: list[str] = []
        unmatched = 0
        new_ids = {id(line) for line in new_lines}
        seen_ai_after = False
        # Walk backwards so "an AI line came after this contact line" is known in one pass.
        for line in reversed(inp.transcript):
            if line.speaker == "ai":
                seen_ai_after = True
                continue
            if line.speaker != "contact" or id(line) in new_ids:
                continue
            match = classify(rs.rules, words_only(line.text)[0])
            entry = rs.faq.get(match.id or "") if match.kind == "faq" else None
            if match.kind == "none":
                unmatched += 1
            elif entry is None or not entry.smalltalk:
                asked.append(match.topic or "")
                if entry is not None and seen_ai_after:
                    answered.append(entry.topic)
        asked.reverse()
        answered.reverse()
        for match in new_matches:
            entry = rs.faq.get(match.id or "") if match.kind == "faq" else None
            if match.kind == "none":
                # Escalating on sentiment answers nothing but is not a failure to understand.
                unmatched += 0 if answered_turn else 1
            elif entry is None or not entry.smalltalk:
                asked.append(match.topic or "")
        if not answered_turn:
            unmatched += len(new_lines) - len(new_matches)  # attachment-only messages
        answered.extend(answered_now)
        return SummaryFacts(
            who=inp.contact_name or inp.flex_context.get("flex_customer_name") or None,
            language=language,
            contact_messages=len(contact),
            asked_topics=list(dict.fromkeys(asked)),
            answered_topics=list(dict.fromkeys(answered)),
            unmatched_messages=unmatched,
            latest_message=new_lines[-1].text,
            order_id=inp.flex_context.get("flex_order_id") or None,
            sentiment=sentiment,
            escalation_reason=reason,
        )
