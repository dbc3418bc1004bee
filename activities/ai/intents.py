"""Rules data (FAQ, escalation intents, canned replies, lexicon supplement) and pure intent matching.

The data lives in `rules_data.toml` next to this module; `load_rules(path)` validates another file with the
same shape (a bad file fails at load with the offending entry named, never at the first customer message).
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from activities.ai.text import fold

DEFAULT_RULES_PATH = Path(__file__).with_name("rules_data.toml")
_PLACEHOLDER = re.compile(r"\{(flex_[A-Za-z0-9_]+)\}")


class RulesDataError(ValueError):
    """The rules data file is missing or malformed."""


def _compile(patterns: dict[str, list[str]], where: str) -> list[tuple[str, re.Pattern[str]]]:
    compiled = []
    for lang, items in patterns.items():
        for raw in items:
            try:
                compiled.append((lang, re.compile(raw, re.IGNORECASE)))
            except re.error as exc:
                raise ValueError(f"{where}: bad pattern {raw!r} ({lang}): {exc}") from exc
    return compiled


def _patterns_compile(value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
    _compile(value, info.field_name or "patterns")
    return value


# Regular expressions by language code; a file with one that does not compile fails at load.
Patterns = Annotated[dict[str, list[str]], AfterValidator(_patterns_compile)]


class _Matcher(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    topic: str
    patterns: Patterns = Field(min_length=1)

    @cached_property
    def compiled(self) -> list[tuple[str, re.Pattern[str]]]:
        return _compile(self.patterns, self.id)

    def match(self, folded: str) -> str | None:
        """The language of the first pattern matching the folded text, or None."""
        for lang, pattern in self.compiled:
            if pattern.search(folded):
                return lang
        return None


class EscalationIntent(_Matcher):
    reason: str = Field(min_length=1)


class FaqVariant(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # extra keys are answers by language code

    requires: list[str] = Field(default_factory=list)

    @property
    def answers(self) -> dict[str, str]:
        return {k: v for k, v in (self.model_extra or {}).items() if isinstance(v, str)}

    @model_validator(mode="after")
    def _answers_use_required_placeholders(self) -> FaqVariant:
        if not self.answers:
            raise ValueError("variant has no answers")
        for lang, text in self.answers.items():
            missing = set(_PLACEHOLDER.findall(text)) - set(self.requires)
            if missing:
                raise ValueError(f"answer {lang!r} uses {sorted(missing)} not listed in requires")
        return self

    def applies(self, flex_context: dict[str, str]) -> bool:
        return all(flex_context.get(key) for key in self.requires)

    def render(self, language: str, default_language: str, flex_context: dict[str, str]) -> str:
        template = self.answers.get(language) or self.answers.get(default_language) or next(iter(self.answers.values()))
        return _PLACEHOLDER.sub(lambda m: flex_context[m.group(1)], template)


class FaqEntry(_Matcher):
    smalltalk: bool = False
    variants: list[FaqVariant] = Field(min_length=1)
    # A rep's line that answers this topic (after a handoff): the AI then points back to it, never asks again.
    rep_patterns: Patterns = Field(default_factory=dict)

    @cached_property
    def compiled_rep(self) -> list[tuple[str, re.Pattern[str]]]:
        return _compile(self.rep_patterns, f"{self.id}.rep_patterns")

    def answered_by_rep(self, folded: str) -> bool:
        return any(pattern.search(folded) for _, pattern in self.compiled_rep)

    def answer(self, language: str, default_language: str, flex_context: dict[str, str]) -> str | None:
        for variant in self.variants:
            if variant.applies(flex_context):
                return variant.render(language, default_language, flex_context)
        return None


class RulesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strong_negative_compound: float = Field(-0.6, ge=-1, le=0)
    positive_compound: float = Field(0.05, ge=0, le=1)
    negative_compound: float = Field(-0.05, ge=-1, le=0)
    default_language: str = "en"


class HandbackRules(BaseModel):
    """Reading the reps' part when the conversation comes back to the AI (activities/ai/handback.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A rep asking for the order number, by language (matched on folded text).
    asks_order_number_patterns: Patterns = Field(default_factory=dict)
    # What an order number looks like in the contact's answer (original text, case-insensitive).
    order_number_pattern: str = r"#?\b(?:[A-Z]{1,4}-\d{1,12}|\d{4,12})\b"

    @field_validator("order_number_pattern")
    @classmethod
    def _order_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad order_number_pattern {value!r}: {exc}") from exc
        return value

    @cached_property
    def order_number(self) -> re.Pattern[str]:
        return re.compile(self.order_number_pattern, re.IGNORECASE)

    @cached_property
    def _asks(self) -> list[tuple[str, re.Pattern[str]]]:
        return _compile(self.asks_order_number_patterns, "handback.asks_order_number_patterns")

    def asks_order_number(self, folded: str) -> bool:
        return any(pattern.search(folded) for _, pattern in self._asks)


class RulesData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: RulesSettings = Field(default_factory=RulesSettings)
    handback: HandbackRules = Field(default_factory=HandbackRules)
    escalation: list[EscalationIntent] = Field(min_length=1)
    faq: list[FaqEntry] = Field(min_length=1)
    replies: dict[str, dict[str, str]]
    lexicon: dict[str, float] = Field(default_factory=dict)
    _match_cache: dict[str, Match] = PrivateAttr(default_factory=dict)

    @field_validator("replies")
    @classmethod
    def _required_replies(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name in ("fallback", "handoff"):
            if not value.get(name):
                raise ValueError(f"replies.{name} is required")
        return value

    def reply(self, name: str, language: str) -> str:
        texts = self.replies[name]
        return texts.get(language) or texts.get(self.settings.default_language) or next(iter(texts.values()))


_CACHE_MAX = 8192


class Match(BaseModel):
    """What one contact message is about."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "escalation" | "faq" | "none"
    id: str | None = None
    topic: str | None = None
    language: str | None = None  # language of the pattern that matched


NO_MATCH = Match(kind="none")


def load_rules(path: Path | str = DEFAULT_RULES_PATH) -> RulesData:
    try:
        with open(path, "rb") as fh:
            raw: dict[str, Any] = tomllib.load(fh)
    except OSError as exc:
        raise RulesDataError(f"cannot read AI rules file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesDataError(f"AI rules file {path} is not valid TOML: {exc}") from exc
    try:
        return RulesData.model_validate(raw)
    except ValidationError as exc:
        raise RulesDataError(f"AI rules file {path} is invalid: {exc}") from exc


@lru_cache(maxsize=1)
def default_rules() -> RulesData:
    return load_rules(DEFAULT_RULES_PATH)


def classify(rules: RulesData, text: str) -> Match:
    """What `text` is about. Escalation intents win over the FAQ (a message about returns *and* a refund is a
    refund). Cached per rules object: transcripts are re-sent whole every turn, so re-classifying earlier
    lines for the summary costs a dict lookup."""
    cache = rules._match_cache
    hit = cache.get(text)
    if hit is None:
        if len(cache) >= _CACHE_MAX:
            cache.clear()  # bounded; clearing wholesale is simple and the hit rate recovers at once
        hit = cache[text] = _classify_uncached(rules, text)
    return hit


def _classify_uncached(rules: RulesData, text: str) -> Match:
    folded = fold(text)
    for intent in rules.escalation:
        lang = intent.match(folded)
        if lang is not None:
            return Match(kind="escalation", id=intent.id, topic=intent.topic, language=lang)
    for entry in rules.faq:
        lang = entry.match(folded)
        if lang is not None:
            return Match(kind="faq", id=entry.id, topic=entry.topic, language=lang)
    return NO_MATCH
