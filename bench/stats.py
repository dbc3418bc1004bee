"""Percentiles, medians and the result rows every figure returns."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


class Row(BaseModel):
    """One line of the table: a figure, its value, the anchor it is compared with, and the verdict."""

    figure: str
    metric: str
    value: str
    anchor: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "pass", "short", or "" for figures reported without a target
    raw: dict[str, Any] = Field(default_factory=dict)  # the numbers behind the row, for latest.json


def verdict(ok: bool | None) -> str:
    if ok is None:
        return ""
    return "pass" if ok else "short"


def fmt_ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def fmt_rate(rate: float, unit: str = "/s") -> str:
    return "n/a" if math.isnan(rate) else f"{rate:.1f}{unit}"
