"""Structured one-line logs. Never log tokens, message bodies or phone numbers (PII): mask numbers."""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger("wa_flex_handoff.api")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One JSON object per line; `fields` must already be free of PII and secrets (callers mask numbers)."""
    record = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
    logger.log(level, json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":")))


def configure_logging(level: str = "INFO") -> None:
    """Plain message format: each line already is a JSON object (used by `api.main`, not by `create_app`)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
