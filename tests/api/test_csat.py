"""Admin API: the contacts' ratings (`GET /csat`, `GET /csat/export`) from the real conversation workflow on the
dev server (its Twilio steps faked as in the workflow tests): visibility finds the rated conversations, the state
query gives every rating with its session, channel and the masked contact."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import Settings
from contracts.contacts import mask_address
from contracts.ids import conversation_key, workflow_id_for_key
from contracts.policy import Csat
from contracts.search_attributes import ORG_ID
from contracts.signals import SIGNAL_CONTACT_MESSAGE, WORKFLOW_NAME, ContactMessage
from tests.api.conftest import TASK_QUEUE
from tests.api.twilio_signing import ADMIN_TOKEN, BUSINESS, make_orgs, new_contact
from tests.polling import eventually
from tests.workflow.fakes import FakeTwilio
from tests.workflow.harness import Conv, make_worker, pydantic_client

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CSAT = Csat(enabled=True, quick_reply_content_sid="HX" + "c" * 32, template_content_sid="HX" + "d" * 32)


class Rated:
    """The API, and conversations of the real workflow, each with its own worker and fake Twilio steps (the
    fakes name tasks by count: one fake per conversation keeps their names as the harness expects)."""

    def __init__(self, env: WorkflowEnvironment, temporal: Client, stack: AsyncExitStack) -> None:
        self.env = env
        self.client = pydantic_client(env)
        self.stack = stack
        app = create_app(Settings(_env_file=None, admin_token=SecretStr(ADMIN_TOKEN)), make_orgs(), temporal)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    async def conversation(self) -> Conv:
        queue = f"api-csat-{uuid.uuid4().hex[:8]}"
        fake = FakeTwilio()
        await self.stack.enter_async_context(make_worker(self.client, fake, queue))
        return Conv(self.env, self.client, fake, queue)


@pytest_asyncio.fixture
async def rated(local_env: WorkflowEnvironment, temporal: Client) -> AsyncIterator[Rated]:
    async with AsyncExitStack() as stack:
        r = Rated(local_env, temporal, stack)
        stack.push_async_callback(r.http.aclose)
        yield r


async def _rep_session_ends(conv: Conv, opening: str, session_number: int) -> None:
    """From the contact's `opening` message to the rep's task completing (the rating question follows)."""
    sess = conv.session_id(opening)
    if session_number == 1:
        await conv.to_with_rep(opening, csat=CSAT)
    else:
        await conv.contact_msg(opening, "where is my parcel?")
        task = f"WT{session_number}"
        await conv.until(lambda v: v.task_sid == task, "a new session's task")
        await conv.ai_offer(sess, task=task, reservation=f"WR{session_number}")
        await conv.until(lambda v: v.state == "ai" and v.idle, "the AI answered")
        await conv.contact_msg(opening + "b", "I want a human please")
        await conv.until(lambda v: v.state == "queued", "queued again")
        await conv.rep_accepts(sess, "WThuman", reservation=f"WRrep{session_number}")
        await conv.until(lambda v: v.state == "with_rep", "with a rep again")
    await conv.tr("task.completed", "WThuman", session=sess)
    await conv.until(lambda v: v.sessions_ended == session_number, "the rep's session ends")
    asked = f"csat:{conv.key}:{session_number}"
    await conv.until_calls("send_whatsapp", 1)
    await eventually(
        "the rating question",
        lambda: _async([s for s in conv.fake.of("send_whatsapp") if s.idempotency_id == asked]),
    )


async def _async(value: Any) -> Any:
    return value


async def _tap(conv: Conv, sid: str, score: int) -> None:
    msg = ContactMessage(
        message_sid=sid,
        account_sid="AC1",
        business_number="+14155238886",
        contact_address=conv.contact,
        profile_name="Ana",
        body=f"{score} stars",
        button_payload=f"csat_{score}",
        received_at=await conv.now(),
    )
    await conv.signal(SIGNAL_CONTACT_MESSAGE, msg)


async def _listing(http: httpx.AsyncClient, wanted: set[str], **params: Any) -> list[dict[str, Any]]:
    """Ratings of `wanted` conversations once visibility shows all of them (it is eventually consistent)."""

    async def page() -> list[dict[str, Any]]:
        response = await http.get("/csat", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return [r for r in response.json()["ratings"] if r["workflow_id"] in wanted]

    return await eventually(
        "the rated conversations in the listing", page, lambda got: {r["workflow_id"] for r in got} == wanted
    )


async def test_ratings_listed_and_exported_with_session_channel_and_masked_contact(
    rated: Rated, temporal: Client
) -> None:
    http, first = rated.http, await rated.conversation()
    started = datetime.now(UTC) - timedelta(seconds=1)
    await _rep_session_ends(first, "SM1", 1)
    await _tap(first, "SMtap1", 4)
    await first.until(lambda v: len(v.ratings) == 1, "the first rating")
    await _rep_session_ends(first, "SM2", 2)
    await _tap(first, "SMtap2", 2)
    await first.until(lambda v: len(v.ratings) == 2, "the second rating")

    second = await rated.conversation()
    await _rep_session_ends(second, "SM1", 1)
    await second.contact_msg("SMdigit", "5")
    await second.until(lambda v: len(v.ratings) == 1, "the typed rating")

    wanted = {first.workflow_id, second.workflow_id}

    async def both_latest_in_visibility() -> list[str]:
        query = f"CsatScore IS NOT NULL AND OrgId = 'acme' AND CsatAt >= '{started.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        return [w.id async for w in temporal.list_workflows(query) if w.id in wanted]

    await eventually(
        "both conversations' latest rating in visibility", both_latest_in_visibility, lambda ids: set(ids) == wanted
    )
    listed = await _listing(http, wanted, org="acme", since=started.isoformat())
    rows = sorted((r["workflow_id"], r["session_number"], r["score"], r["via"], r["contact"]) for r in listed)
    assert rows == sorted(
        [
            (first.workflow_id, 1, 4, "button", mask_address(first.contact)),
            (first.workflow_id, 2, 2, "button", mask_address(first.contact)),
            (second.workflow_id, 1, 5, "typed", mask_address(second.contact)),
        ]
    )
    assert all(r["org"] == "acme" and r["contact"].startswith("+*") for r in listed)
    assert not any(first.contact[-6:] in r["contact"] for r in listed)  # the number never leaves unmasked

    # Until a moment between the first conversation's two ratings: only the first one of it.
    [one] = [r for r in listed if r["workflow_id"] == first.workflow_id and r["session_number"] == 1]
    until = datetime.fromisoformat(one["at"]) + timedelta(milliseconds=1)
    early = await http.get(
        "/csat", params={"org": "acme", "since": started.isoformat(), "until": until.isoformat()}, headers=AUTH
    )
    mine = [r for r in early.json()["ratings"] if r["workflow_id"] in wanted]
    assert [(r["workflow_id"], r["session_number"]) for r in mine] == [(first.workflow_id, 1)]

    exported = await http.get("/csat/export", params={"org": "acme", "since": started.isoformat()}, headers=AUTH)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert 'filename="csat-acme.csv"' in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["org", "workflow_id", "contact", "session_number", "score", "via", "at"]
    csv_rows = [row for row in table[1:] if row[1] in wanted]
    assert len(csv_rows) == 3
    # A masked number starts with "+": a spreadsheet would read it as a formula, so the cell is quoted as text.
    assert {row[2] for row in csv_rows} == {f"'{mask_address(first.contact)}", f"'{mask_address(second.contact)}"}
    assert [row[6] for row in csv_rows] == sorted(row[6] for row in csv_rows)  # oldest first

    as_json = await http.get(
        "/csat/export", params={"org": "acme", "since": started.isoformat(), "format": "json"}, headers=AUTH
    )
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    json_rows = [r for r in as_json.json() if r["workflow_id"] in wanted]
    assert [(r["workflow_id"], r["session_number"], r["score"], r["via"]) for r in json_rows] == [
        (row[1], int(row[3]), int(row[4]), row[5]) for row in csv_rows
    ]
    assert [r["contact"] for r in json_rows] == [row[2][1:] for row in csv_rows]


async def test_csat_parameters_are_checked(rated: Rated) -> None:
    http = rated.http
    assert (await http.get("/csat")).status_code == 401
    assert (await http.get("/csat", params={"org": "nobody"}, headers=AUTH)).status_code == 404
    unix = await http.get("/csat", params={"since": "1764633600"}, headers=AUTH)
    assert unix.status_code == 422 and "ISO 8601" in unix.json()["detail"]
    backwards = await http.get(
        "/csat", params={"since": "2026-12-02T00:00:00", "until": "2026-12-01T00:00:00Z"}, headers=AUTH
    )
    assert backwards.status_code == 200 and backwards.json()["ratings"] == []
    assert (await http.get("/csat/export", params={"format": "xml"}, headers=AUTH)).status_code == 422
    typo = await http.get("/csat", params={"orgg": "acme"}, headers=AUTH)
    assert typo.status_code == 422 and typo.json()["field"] == "orgg"
    bad = await http.get("/csat", params={"page_token": "garbage"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["field"] == "page_token"
    spec = (await http.get("/openapi.json")).json()
    assert {"/csat", "/csat/export"} <= set(spec["paths"])


async def test_a_conversation_whose_state_cannot_be_read_shows_its_latest_rating(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    """The stand-in workflow: its latest rating is in visibility, its state query fails."""
    key = conversation_key("beta", BUSINESS, new_contact())
    wid = workflow_id_for_key("beta", key)
    handle = await temporal.start_workflow(
        WORKFLOW_NAME,
        {"org": "beta", "key": key},
        id=wid,
        task_queue=TASK_QUEUE,
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORG_ID, "beta")]),
    )
    at = datetime.now(UTC).replace(microsecond=0)
    await handle.signal("test_set_csat", {"score": 3, "at": at.isoformat()})
    [rating] = await _listing(http, {wid}, org="beta")
    assert rating == {
        "org": "beta",
        "workflow_id": wid,
        "contact": None,
        "session_number": None,
        "score": 3,
        "via": None,
        "at": at.isoformat().replace("+00:00", "Z"),
    }
    await handle.signal("test_finish")
