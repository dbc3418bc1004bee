"""Fault injection (`/_sandbox/faults`): REST 5xx/429, latency, webhook drop/duplicate/reorder — seeded."""

from __future__ import annotations

import random

from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    model_config = {"extra": "forbid"}

    rest_5xx_rate: float = Field(default=0.0, ge=0, le=1)
    rest_429_rate: float = Field(default=0.0, ge=0, le=1)
    # 5xx returned after the request took effect (the response is "lost"): exercises client idempotency.
    rest_5xx_after_effect_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after_seconds: int = Field(default=1, ge=0, le=3600)
    latency_max_ms: int = Field(default=0, ge=0, le=60000)
    webhook_drop_rate: float = Field(default=0.0, ge=0, le=1)
    webhook_duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    webhook_reorder: bool = False
    # Restrict REST faults to paths starting with one of these (e.g. "/taskrouter/"); empty = every
    # product path.
    paths: list[str] = Field(default_factory=list)
    seed: int = 1


class Faults:
    def __init__(self) -> None:
        self.config = FaultConfig()
        self.rng = random.Random(self.config.seed)

    def set(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)

    def clear(self) -> None:
        self.set(FaultConfig())

    def applies(self, path: str) -> bool:
        return not self.config.paths or any(path.startswith(p) for p in self.config.paths)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def latency_seconds(self) -> float:
        if self.config.latency_max_ms <= 0:
            return 0.0
        return self.rng.uniform(0, self.config.latency_max_ms) / 1000.0
