"""Request and response models of the admin API (the webhooks take Twilio's form fields, see api/parse.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.signals import CommandOutcomeName
from contracts.views import StateName as ConversationStateName


class ErrorBody(BaseModel):
    """Every refusal: the reason, and the parameter or form field at fault when there is one."""

    detail: str
    field: str | None = None


class ListQuery(BaseModel):
    """Query parameters of `GET /conversations`; unknown ones are refused (a typo must not widen the list)."""

    model_config = {"extra": "forbid"}

    org: str | None = Field(default=None, max_length=63, description="Only this org's conversations")
    state: ConversationStateName | None = None
    stuck: bool | None = Field(default=None, description="Only stuck (true) or only not stuck (false)")
    page_token: str | None = Field(default=None, max_length=4096, pattern=r"^[A-Za-z0-9_=-]+$")
    page_size: int = Field(default=50, ge=1, le=100)


class ConversationSummary(BaseModel):
    workflow_id: str
    org: str
    key: str
    status: str = Field(description="Temporal execution status: RUNNING, COMPLETED, …")
    state: str | None = Field(default=None, description="ConversationState search attribute")
    stuck: bool = False
    handoff_requested_at: datetime | None = None
    window_expires_at: datetime | None = None
    flex_task_sid: str | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None


class ConversationPage(BaseModel):
    conversations: list[ConversationSummary]
    next_page_token: str | None = Field(default=None, description="Pass as page_token for the next page")


class ConversationDetail(BaseModel):
    workflow_id: str
    org: str
    key: str
    status: str
    state: dict[str, Any] = Field(description="The workflow's `state` query (ConversationView)")
    transcript: list[dict[str, Any]] = Field(description="The workflow's `transcript` query")


class HandoffBody(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str = Field(default="handoff requested by an operator", min_length=1, max_length=500)
    summary: str | None = Field(default=None, max_length=4000)


class TemplateBody(BaseModel):
    model_config = {"extra": "forbid"}

    template_name: str = Field(min_length=1, max_length=100)
    variables: list[str] = Field(default_factory=list, max_length=20)


class CommandResult(BaseModel):
    """What an operator command did."""

    workflow_id: str
    request_id: str
    outcome: CommandOutcomeName
    detail: str = ""
    state: str = Field(description="The conversation's state afterwards")
    task_sid: str | None = None
    message_sid: str | None = None


class CommandAccepted(BaseModel):
    """The conversation accepted the command and is still carrying it out."""

    workflow_id: str
    request_id: str
    status: Literal["running"] = "running"
    poll: str = Field(description="GET this path for the outcome")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    temporal: bool
    orgs: int
    detail: str | None = None
