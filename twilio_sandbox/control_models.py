"""Request bodies shared by the `/_sandbox` controls."""

from __future__ import annotations

from pydantic import BaseModel, Field

from twilio_sandbox.whatsapp_rules import MB


class MediaIn(BaseModel):
    """A media file the simulated contact or rep sends: the sandbox makes its bytes (`generate_media`)."""

    model_config = {"extra": "forbid"}

    content_type: str = Field(min_length=3, max_length=200)
    size: int = Field(gt=0, le=100 * MB)
    filename: str | None = Field(default=None, max_length=255)
