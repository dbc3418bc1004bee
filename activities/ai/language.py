"""Language detection with lingua, restricted to the languages the service answers in, built once per
process."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Restricting the set keeps detection fast and avoids exotic guesses on short chat messages
# ("ok" is not Dutch).
SUPPORTED: tuple[Language, ...] = (
    Language.ENGLISH,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.FRENCH,
    Language.GERMAN,
    Language.ITALIAN,
    Language.ARABIC,
)
# Below this lingua returns None instead of a coin toss between close languages; the caller then
# widens the text.
MIN_RELATIVE_DISTANCE = 0.1


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    """The process-wide detector. Models are preloaded (≈1.3 s, ≈220 MB once) so no turn pays a lazy load."""
    return (
        LanguageDetectorBuilder.from_languages(*SUPPORTED)
        .with_preloaded_language_models()
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .build()
    )


def bcp47(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def detect(text: str) -> str | None:
    """BCP-47 primary language subtag of `text`, or None when it is too short or ambiguous to tell."""
    if not any(ch.isalpha() for ch in text):
        return None
    found = detector().detect_language_of(text)
    return bcp47(found) if found is not None else None


def detect_conversation(recent: Iterable[str], earlier: Iterable[str], hint: str | None, default: str) -> str:
    """Language of the conversation: the newest contact messages if they tell, else all the contact's
    messages, else the language of the intent pattern that matched (`hint`, e.g. "hola" → es), else
    `default`."""
    recent_text = "\n".join(recent)
    found = detect(recent_text)
    if found is None:
        everything = "\n".join([*earlier, recent_text])
        if everything != recent_text:
            found = detect(everything)
    return found or hint or default
