"""Median/p95 time of a rules-backend turn on varied conversations: `python -m activities.ai.latency [n]`.

Messages get a per-turn suffix so no turn is served from the classification cache the way a repeated benchmark
message would be; transcripts grow to ten contact messages like real conversations.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from activities.ai.rules_backend import RulesBackend
from contracts.ai import AiTurnInput, TranscriptLine

MESSAGES = [
    "Hola, ¿cuál es su horario de atención?",
    "Where is my order? I ordered it last week",
    "How long does shipping take to Lisbon?",
    "Quero falar com um atendente",
    "Je voudrais retourner un article",
    "This is the worst service ever, I am furious",
    "the blue one with the stripes, size M",
    "Ich möchte meine Bestellung stornieren",
    "أريد التحدث مع موظف",
    "thanks!",
]


class LatencyReport(BaseModel):
    turns: int
    median_ms: float
    p95_ms: float
    turns_per_s: float


def measure(turns: int = 1000, backend: RulesBackend | None = None) -> LatencyReport:
    backend = backend or RulesBackend()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    transcript: list[TranscriptLine] = []
    samples: list[float] = []
    for i in range(turns):
        if i % 10 == 0:
            transcript = []
        text = f"{MESSAGES[i % len(MESSAGES)]} #{i}"
        transcript.append(TranscriptLine(speaker="contact", text=text, at=t0 + timedelta(seconds=i)))
        inp = AiTurnInput(org="bench", transcript=list(transcript), flex_context={"flex_order_id": f"A-{i}"})
        start = time.perf_counter()
        result = backend.decide(inp)
        samples.append((time.perf_counter() - start) * 1000)
        transcript.append(TranscriptLine(speaker="ai", text=result.reply or "", at=t0 + timedelta(seconds=i)))
    samples.sort()
    return LatencyReport(
        turns=turns,
        median_ms=round(statistics.median(samples), 3),
        p95_ms=round(samples[int(len(samples) * 0.95) - 1], 3),
        turns_per_s=round(1000 * turns / sum(samples), 1),
    )


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1000).model_dump_json())
