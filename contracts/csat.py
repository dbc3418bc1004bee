"""The contacts' ratings as the admin API lists and exports them (`GET /csat`, `GET /csat/export`).

A conversation's latest rating is in visibility (`CsatScore`, `CsatAt`); every rating it holds, with the session
and how it was given, is in its `state` query. No phone number leaves the API: the contact is masked as in the
logs (`contracts.contacts.mask_address`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

CsatFormat = Literal["csv", "json"]
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# The export's columns, in order (CSV header and JSON keys alike).
CSV_COLUMNS = ("org", "workflow_id", "contact", "session_number", "score", "via", "at")


class CsatRating(BaseModel):
    org: str
    workflow_id: str
    contact: str | None = Field(
        default=None, description="The contact's address, masked (+*********86); null when unknown"
    )
    session_number: int | None = Field(default=None, description="The rated session (null: state not readable)")
    score: int = Field(ge=1, le=5)
    via: Literal["button", "typed"] | None = Field(default=None, description="A tapped button or a typed digit")
    at: datetime


class CsatPage(BaseModel):
    ratings: list[CsatRating]
    next_page_token: str | None = Field(default=None, description="Pass as page_token for the next page")


class CsatFilter(BaseModel):
    """Which ratings: one org's (or all), given at or after `since` and before `until`."""

    model_config = {"extra": "forbid"}

    org: str | None = Field(default=None, max_length=63, description="Only this org's ratings")
    since: datetime | None = Field(default=None, description="Ratings given at or after (ISO 8601; UTC without offset)")
    until: datetime | None = Field(default=None, description="Ratings given before (ISO 8601; UTC without offset)")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        # Pydantic would also take a Unix timestamp ("0.5"); the API documents ISO 8601 date-times only.
        if isinstance(value, str) and not _ISO_DATETIME.match(value):
            raise ValueError("not an ISO 8601 date-time (e.g. 2026-12-01T00:00:00Z)")
        return value

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Without an offset a time is UTC (Twilio's and Temporal's own times are).
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    def takes(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


class CsatListQuery(CsatFilter):
    """Query parameters of `GET /csat`: paginated by conversation (a conversation's ratings share a page)."""

    page_size: int = Field(default=50, ge=1, le=100, description="Conversations per page")
    page_token: str | None = Field(default=None, max_length=4096, pattern=r"^[A-Za-z0-9_=-]+$")


class CsatExportQuery(CsatFilter):
    """Query parameters of `GET /csat/export`."""

    format: CsatFormat = "csv"
