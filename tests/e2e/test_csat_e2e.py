"""End to end (dev server, sandbox, worker, API), judged from the sandbox's record: when a rep's task ends the
contact is asked for a rating — quick-reply buttons (a Content API `twilio/quick-reply`) while the 24-hour window
is open, an approved template once it has closed. The answer, a tapped button or a typed digit, is recorded
once: in the conversation's state, as a note in the rated session's Flex conversation, with one thank-you; the
answer's webhook delivered twice changes nothing. The admin API lists it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from cli.sandbox_setup import OrgSetting, fetch_seed
from contracts.contacts import mask_address
from contracts.search_attributes import CSAT_SCORE
from tests.e2e.conftest import ADMIN_TOKEN, Stack, running_stack
from tests.e2e.steps import flex_notices, record, rep_accepts, rep_says, says, says_late, sent_to, to_the_humans
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

THANKS = "Thank you for your rating!"
BUTTONS = [{"type": "QUICK_REPLY", "title": t, "id": f"csat_{n}"} for t, n in (("Bad", 1), ("OK", 3), ("Great", 5))]
QUICK_REPLY = {
    "friendly_name": "csat_buttons",
    "language": "en",
    "types": {"twilio/quick-reply": {"body": "How did we do? Tap a rating.", "actions": BUTTONS}},
}
TEMPLATE = {
    "friendly_name": "csat_question",
    "language": "en",
    "types": {
        "twilio/text": {"body": "How would you rate your conversation with us? Reply with a number from 1 to 5."}
    },
}


async def content(http: httpx.AsyncClient, sandbox_url: str, body: dict[str, Any], approve: bool) -> str:
    """A content created through the Content API (and approved by WhatsApp's review, as the sandbox plays it)."""
    seed = fetch_seed(sandbox_url)
    auth = (seed.account_sid, seed.auth_token)
    created = await http.post(f"{sandbox_url}/content/v1/Content", json=body, auth=auth)
    assert created.status_code == 201, created.text
    sid = str(created.json()["sid"])
    if approve:
        submitted = await http.post(
            f"{sandbox_url}/content/v1/Content/{sid}/ApprovalRequests/whatsapp",
            json={"name": body["friendly_name"], "category": "UTILITY"},
            auth=auth,
        )
        assert submitted.status_code == 201, submitted.text
        decided = await http.post(f"{sandbox_url}/_sandbox/content/{sid}/approval", json={"status": "approved"})
        assert decided.json()["status"] == "approved", decided.text
    return sid


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rated(
    local_env: WorkflowEnvironment, sandbox_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Stack, str, str]]:
    async with httpx.AsyncClient(timeout=30) as http:
        buttons = await content(http, sandbox_url, QUICK_REPLY, approve=False)
        template = await content(http, sandbox_url, TEMPLATE, approve=True)
    settings: dict[str, OrgSetting] = {
        "csat": {"enabled": True, "quick_reply_content_sid": buttons, "template_content_sid": template},
        "window_warning_minutes": 0,
    }
    async with running_stack(local_env, sandbox_url, tmp_path_factory.mktemp("e2e-csat"), settings) as stack:
        yield stack, buttons, template


async def state(conv: Conversation) -> dict[str, Any]:
    return dict((await conv.state()).get("state") or {})


async def rep_session(conv: Conversation, first_words: str) -> tuple[str, str, str]:
    """The contact's question, the AI's answer, then to a rep: (rep, human task, Flex conversation)."""
    await says(conv, first_words)
    await conv.wait_delivered(1)
    queued = await to_the_humans(conv)
    rep = await rep_accepts(conv, queued["human_task_sid"])
    return rep, queued["human_task_sid"], queued["conversation_sid"]


async def test_buttons_inside_the_window_answer_recorded_once_despite_a_duplicate_webhook(
    rated: tuple[Stack, str, str],
) -> None:
    stack, buttons, _ = rated
    conv = Conversation(stack)
    rep, task, csid = await rep_session(conv, "Hi! Where is my order?")
    await rep_says(conv, rep, csid, "Your order ships tomorrow.")
    await eventually("the rep's reply", conv.delivered, lambda got: "Your order ships tomorrow." in _bodies(got))
    await conv.post(f"/_sandbox/reps/{rep}/tasks/{task}/complete")

    async def question() -> list[dict[str, Any]]:
        return [m for m in await conv.delivered() if m.get("content_sid") == buttons]

    [asked] = await eventually("the rating buttons on WhatsApp", question)
    assert [a["id"] for a in asked["actions"]] == ["csat_1", "csat_3", "csat_5"]

    before = len(await record(conv))
    await conv.post("/_sandbox/faults", {"webhook_duplicate_rate": 1.0, "seed": 3})
    try:
        tapped = await conv.post(f"/_sandbox/contacts/{conv.contact}/tap", {"button": 2})
    finally:
        await stack.http.delete(f"{stack.sandbox_url}/_sandbox/faults")
    assert tapped["button"]["id"] == "csat_3" and tapped["webhook_status"] == 200
    # The run was hostile: the answer's webhook went to the service twice.
    duplicated = [e for e in (await record(conv))[before:] if e["kind"] == "webhook.duplicated"]
    assert any(e["webhook"] == "messaging.inbound" for e in duplicated), duplicated

    rated_state = await eventually("the rating", lambda: state(conv), lambda s: bool(s.get("ratings")))
    await eventually("the thank-you", conv.delivered, lambda got: THANKS in _bodies(got))
    notes = await eventually("the rating note in Flex", lambda: flex_notices(conv, csid, "csat"), lambda n: len(n) >= 1)
    settled = await eventually(
        "every webhook dealt with",
        lambda: state(conv),
        lambda s: bool(s.get("idle") and s.get("duplicates_ignored", 0) >= 1),
    )
    assert [(r["session_number"], r["score"], r["via"]) for r in settled["ratings"]] == [(1, 3, "button")]
    assert rated_state["ratings"] == settled["ratings"]
    assert [str(n["body"]) for n in notes] == ["[notice] The contact rated this conversation 3/5."]
    assert _bodies(await conv.delivered()).count(THANKS) == 1
    assert settled["session_number"] == 1  # the tap opened no new session for the AI
    attributes = (await stack.client.get_workflow_handle(conv.workflow_id).describe()).typed_search_attributes
    assert attributes.get(CSAT_SCORE) == 3

    async def listed() -> list[dict[str, Any]]:
        response = await stack.http.get(
            f"{stack.api_url}/csat", params={"org": "demo"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert response.status_code == 200, response.text
        return [r for r in response.json()["ratings"] if r["workflow_id"] == conv.workflow_id]

    [row] = await eventually("the rating in the admin API", listed)
    assert (row["score"], row["via"], row["session_number"], row["contact"]) == (
        3,
        "button",
        1,
        mask_address(conv.contact),
    )


async def test_a_template_once_the_window_has_closed_and_a_typed_answer(rated: tuple[Stack, str, str]) -> None:
    """The dev server runs in real time, so the contact's 24-hour window is made to close 45 s from now honestly:
    their message reaches the service stamped 24 h − 45 s ago (as a late webhook would; WhatsApp measures the
    window from the sending, and `rules/window.py` takes a past timestamp as it is). The rep's task ends after the
    close: the question goes out as the approved template."""
    stack, buttons, template = rated
    conv = Conversation(stack)
    closes = datetime.now(UTC) + timedelta(seconds=45)
    await says_late(conv, "Hi, I want to talk to a human agent, please.", closes - timedelta(hours=24))
    queued = (await conv.wait_state("queued"))["state"]
    rep = await rep_accepts(conv, queued["human_task_sid"])
    csid = queued["conversation_sid"]
    await rep_says(conv, rep, csid, "Hi Ana, how can I help?")
    await eventually("the rep's reply", conv.delivered, lambda got: "Hi Ana, how can I help?" in _bodies(got))
    await eventually(
        "the window to close (the rep's notice)", lambda: flex_notices(conv, csid, "window_closed"), within=120
    )
    await conv.post(f"/_sandbox/reps/{rep}/tasks/{queued['human_task_sid']}/complete")

    async def questions() -> list[str | None]:
        return [e.get("content_sid") for e in await sent_to(conv) if e.get("content_sid") in (buttons, template)]

    assert await eventually("the rating question", questions) == [template]

    await says(conv, "4")
    rating = await eventually("the typed rating", lambda: state(conv), lambda s: bool(s.get("ratings")))
    assert [(r["session_number"], r["score"], r["via"]) for r in rating["ratings"]] == [(1, 4, "typed")]
    # Their message reopened the window: the thank-you goes out; the note is in the rated session's Flex thread.
    await eventually("the thank-you", conv.delivered, lambda got: THANKS in _bodies(got))
    [note] = await eventually("the rating note", lambda: flex_notices(conv, csid, "csat"))
    assert str(note["body"]).endswith("rated this conversation 4/5.")
    assert rating["session_number"] == 1  # the digit was the answer, not a question for the AI


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("body")) for m in messages]
