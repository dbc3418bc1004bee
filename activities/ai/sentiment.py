"""Sentiment from VADER's compound score, mapped to the three labels of the `handoffSentiment` attribute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from activities.ai.text import fold

Label = Literal["positive", "neutral", "negative"]

# Words of asking, not of feeling: VADER scores them positive, which would label every polite request for a human
# ("I want to talk to someone, please") as positive sentiment in the handoff.
REQUEST_WORDS = ("please", "pls", "plz", "kindly", "help", "helps", "want", "wants", "like", "would")


class SentimentScorer:
    """One analyzer per rules data set (VADER's lexicon load is ~10 ms; do it once, not per turn).

    VADER's lexicon is English; `extra_lexicon` adds words of other languages (accent-folded) without ever
    overriding an English entry.
    """

    def __init__(self, extra_lexicon: Mapping[str, float] | None = None) -> None:
        self._analyzer = SentimentIntensityAnalyzer()
        for word in REQUEST_WORDS:
            self._analyzer.lexicon[word] = 0.0
        for word, valence in (extra_lexicon or {}).items():
            self._analyzer.lexicon.setdefault(fold(word), float(valence))

    def compound(self, text: str) -> float:
        if not text.strip():
            return 0.0
        # Folded so "PÉSIMO" finds "pesimo"; VADER's caps emphasis is lost, which matters little next
        # to missing non-English words entirely.
        return float(self._analyzer.polarity_scores(fold(text))["compound"])


def label(compound: float, *, positive: float = 0.05, negative: float = -0.05) -> Label:
    """VADER's standard cut-offs: ≥ 0.05 positive, ≤ -0.05 negative, otherwise neutral."""
    if compound >= positive:
        return "positive"
    if compound <= negative:
        return "negative"
    return "neutral"


def is_strongly_negative(compound: float, threshold: float = -0.6) -> bool:
    return compound <= threshold
