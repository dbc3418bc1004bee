"""Schemathesis against the admin API's OpenAPI document (a fake Temporal behind it: this checks the HTTP
layer — validation, documented statuses, response schemas — not the workflow)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import schemathesis
from pydantic import SecretStr
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from temporalio.client import WorkflowExecutionStatus

from api.app import create_app
from config.settings import Settings
from contracts.signals import CommandOutcome
from tests.api.twilio_signing import ADMIN_TOKEN, make_orgs


class _Page:
    current_page: ClassVar[list[Any]] = []
    next_page_token: bytes | None = None

    async def fetch_next_page(self, **_: Any) -> None:
        return None

    def __aiter__(self) -> _Page:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


class _Update:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id

    async def result(self, **_: Any) -> CommandOutcome:
        return CommandOutcome(request_id=self.request_id, outcome="handed_off", state="queued")


class _Handle:
    async def describe(self, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(status=WorkflowExecutionStatus.RUNNING)

    async def query(self, name: str, **_: Any) -> Any:
        return {"state": "ai"} if name == "state" else [{"text": "hi"}]

    async def start_update(self, *_: Any, id: str, **__: Any) -> _Update:
        return _Update(id)

    def get_update_handle(self, id: str, **_: Any) -> _Update:
        return _Update(id)


class _FakeTemporal:
    def list_workflows(self, *_: Any, **__: Any) -> _Page:
        return _Page()

    def get_workflow_handle(self, *_: Any, **__: Any) -> _Handle:
        return _Handle()


_settings = Settings(_env_file=None, admin_token=SecretStr(ADMIN_TOKEN))
app = create_app(_settings, make_orgs(), _FakeTemporal())  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(tag="admin")


@schema.parametrize()
def test_admin_api_conforms_to_its_schema(case: Any) -> None:
    # A schema-valid page token or template name can still be unknown: those 422s are right, not a rejection
    # of valid data; every other check (no 5xx, documented statuses, response schemas) applies in full.
    opaque = "page_token" in (case.query or {}) or case.path.endswith("/templates")
    # A case whose headers are deliberately wrong keeps them: adding the token would make it a valid request.
    wrong_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    case.call_and_validate(
        headers={} if wrong_headers else {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        excluded_checks=[positive_data_acceptance] if opaque else [],
    )
