"""End to end on the real stack (dev server + sandbox + worker + API), judged only by what the sandbox saw:
what reached the contact's WhatsApp, what is in the Flex conversation, what TaskRouter holds."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cli.connect import client_for
from cli.sandbox_setup import SANDBOX_ORG
from contracts.ids import conversation_key, workflow_id_for_key
from tests.e2e.conftest import ADMIN_TOKEN, Stack
from tests.e2e.steps import rep_accepts
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

SIX = {"handedOff", "handoffReason", "handoffSummary", "handoffSentiment", "handoffLanguage", "handoffTimestamp"}


class Conversation:
    """One contact of the sandbox, and the workflow the service keeps for them."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.contact = f"+3460{random.randrange(10**7):07d}"
        key = conversation_key(SANDBOX_ORG, stack.business, self.contact)
        self.workflow_id = workflow_id_for_key(SANDBOX_ORG, key)

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.stack.http.get(f"{self.stack.sandbox_url}{path}", params=params)
        response.raise_for_status()
        return response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.stack.http.post(f"{self.stack.sandbox_url}{path}", json=body or {})
        assert response.status_code < 300, response.text
        return response.json()

    async def says(self, body: str, media: list[dict[str, Any]] | None = None, name: str = "Ana") -> None:
        sent = await self.post(
            f"/_sandbox/contacts/{self.contact}/messages",
            {"to": self.stack.business, "body": body, "profile_name": name, "media": media or []},
        )
        assert sent["webhook_status"] == 200, sent

    async def inbox(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (await self.get(f"/_sandbox/contacts/{self.contact}/inbox"))["messages"]
        return messages

    async def delivered(self) -> list[dict[str, Any]]:
        return [m for m in await self.inbox() if m["status"] in ("sent", "delivered", "read")]

    async def wait_delivered(self, count: int) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            got = await self.delivered()
            return got if len(got) >= count else None

        return await eventually(f"{count} messages delivered to {self.contact}", probe)

    async def state(self) -> dict[str, Any]:
        response = await self.stack.http.get(
            f"{self.stack.api_url}/conversations/{self.workflow_id}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        if response.status_code != 200:
            return {}
        body: dict[str, Any] = response.json()
        return body

    async def wait_state(self, wanted: str) -> dict[str, Any]:
        """The state, once its session (if any) is open: a first reply reaches the contact before Flex has it."""

        async def probe() -> dict[str, Any] | None:
            detail = await self.state()
            s = detail.get("state", {})
            opened = s.get("session_id") is None or s.get("task_sid") is not None
            return detail if s.get("state") == wanted and opened else None

        return await eventually(f"state {wanted}", probe)

    async def flex(self, conversation_sid: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (await self.get(f"/_sandbox/conversations/{conversation_sid}/messages"))[
            "messages"
        ]
        return messages

    async def task(self, task_sid: str) -> dict[str, Any]:
        def fetch() -> dict[str, Any]:
            org = self.stack.orgs.get(SANDBOX_ORG)
            assert org is not None
            task = client_for(org).taskrouter.v1.workspaces(org.config.workspace_sid).tasks(task_sid).fetch()
            return {
                "attributes": json.loads(task.attributes),
                "queue": task.task_queue_sid,
                "status": task.assignment_status,
            }

        return await asyncio.to_thread(fetch)


async def test_question_handoff_rep_window_template(stack: Stack) -> None:
    conv = Conversation(stack)

    # 1. The AI answers a question, on WhatsApp and in Flex.
    await conv.says("Hi! What are your opening hours?")
    [answer] = await conv.wait_delivered(1)
    assert "9:00" in answer["body"], answer
    detail = await conv.wait_state("ai")
    conversation_sid = detail["state"]["conversation_sid"]
    ai_task_sid = detail["state"]["task_sid"]
    flex = await conv.flex(conversation_sid)
    assert [m["body"] for m in flex[:2]] == ["Hi! What are your opening hours?", answer["body"]]
    assert flex[0]["author"] == f"whatsapp:{conv.contact}"
    assert flex[1]["author"] == "AI Support Agent"

    # 2. Contact media: a photo reaches Flex as an attachment; an over-limit video does not, and is not silent.
    await conv.says(
        "Here is the damage",
        media=[
            {"content_type": "image/jpeg", "size": 200_000, "filename": "damage.jpg"},
            {"content_type": "video/mp4", "size": 20 * 1024 * 1024, "filename": "big.mp4"},
        ],
    )

    async def media_in_flex() -> list[dict[str, Any]] | None:
        with_media = [m for m in await conv.flex(conversation_sid) if m["media"]]
        return with_media or None

    [photo] = await media_in_flex_wait(media_in_flex)
    assert photo["media"][0]["content_type"] == "image/jpeg"
    assert photo["author"] == f"whatsapp:{conv.contact}"

    async def video_refused() -> list[str] | None:
        texts = [m["body"] or "" for m in await conv.inbox()] + [
            m["body"] or "" for m in await conv.flex(conversation_sid) if m["author"] != f"whatsapp:{conv.contact}"
        ]
        hits = [t for t in texts if "limit" in t and "video" in t]
        return hits or None

    await eventually("a notice that the video is over WhatsApp's limit", video_refused)

    # 3. Asking for a human hands off: six attributes on the human task, note in Flex only, AI lets go.
    # On WhatsApp by now: the first answer, the AI's reply to the media message, the refusal of the video.
    before = len(await conv.wait_delivered(3))
    await conv.says("I want to talk to a human agent, please.")
    detail = await conv.wait_state("queued")
    state = detail["state"]
    assert state["handoff_path"] == "transferred"
    human_task_sid = state["human_task_sid"]
    assert human_task_sid and human_task_sid != ai_task_sid
    human_task = await conv.task(human_task_sid)
    attributes = human_task["attributes"]
    assert SIX <= set(attributes), attributes
    assert attributes["handedOff"] is True
    assert attributes["handoffSentiment"] in ("positive", "neutral", "negative")
    assert attributes["handoffLanguage"] == "en"
    assert attributes["from"] == f"whatsapp:{conv.contact}"
    assert attributes["name"] == "Ana"
    assert human_task["queue"] == stack.seed.human_queue_sid
    ai_task = await eventually("the AI task to end", lambda: _ended(conv, ai_task_sid))
    assert ai_task["status"] in ("completed", "wrapping")
    summary = attributes["handoffSummary"]
    flex = await conv.flex(conversation_sid)
    assert any(summary in (m["body"] or "") for m in flex), "handoff note not in Flex"
    assert not any(summary in (m["body"] or "") for m in await conv.inbox()), "handoff note reached WhatsApp"
    assert len(await conv.delivered()) == before + 1  # the AI's "connecting you" line, once

    # 4. A rep accepts and replies; the contact gets it exactly once.
    rep_name = await rep_accepts(conv, human_task_sid)  # TaskRouter picks the rep
    await conv.post(
        f"/_sandbox/reps/{rep_name}/messages",
        {"conversation_sid": conversation_sid, "body": "Hi Ana, this is the support team."},
    )
    delivered = await conv.wait_delivered(before + 2)
    assert [m["body"] for m in delivered].count("Hi Ana, this is the support team.") == 1

    # 5. Past 24 h a free-form reply reaches nobody and gives exactly one notice in Flex; a template goes out.
    await conv.post("/_sandbox/clock/advance", {"seconds": 25 * 3600})
    await conv.post(
        f"/_sandbox/reps/{rep_name}/messages",
        {"conversation_sid": conversation_sid, "body": "Are you still there?"},
    )

    async def window_notice() -> list[dict[str, Any]] | None:
        notes = [m for m in await conv.flex(conversation_sid) if "24-hour" in (m["body"] or "")]
        return notes or None

    notes = await eventually("the window notice in Flex", window_notice)
    assert len(notes) == 1, [n["body"] for n in notes]
    assert "Are you still there?" not in [m["body"] for m in await conv.delivered()]

    await conv.post(
        f"/_sandbox/reps/{rep_name}/messages",
        {"conversation_sid": conversation_sid, "body": "/template order_update Ana 42"},
    )

    async def template_received() -> list[dict[str, Any]] | None:
        got = [m for m in await conv.delivered() if m.get("content_sid")]
        return got or None

    [template] = await eventually("the template on WhatsApp", template_received)
    assert template["content_sid"] == stack.seed.templates["order_update"]
    assert "42" in (template.get("rendered_body") or template["body"] or "")

    # 6. The rep closes the task: the session ends and the AI answers the next message in a new session.
    await conv.post(f"/_sandbox/reps/{rep_name}/tasks/{human_task_sid}/complete")
    await conv.wait_state("ai")
    await conv.says("What are your opening hours again?", name="Ana María")

    async def new_session() -> dict[str, Any] | None:
        detail = await conv.state()
        s = detail.get("state", {})
        return s if s.get("session_number", 0) >= 2 and s.get("task_sid") not in (None, ai_task_sid) else None

    second = await eventually("a second session with a new task", new_session)
    new_task = await conv.task(second["task_sid"])
    assert new_task["attributes"]["name"] == "Ana María"  # a new task takes the new profile name
    assert (await conv.task(human_task_sid))["attributes"]["name"] == "Ana"  # the old one keeps its name

    # Nothing the service posted for the rep only (note, notices) ever reached WhatsApp.
    flex_only = [
        m["body"]
        for m in await conv.flex(second["conversation_sid"]) + await conv.flex(conversation_sid)
        if m["author"] == "system"
    ]
    bodies = {m["body"] for m in await conv.inbox()}
    assert flex_only and not bodies & set(flex_only)


async def _ended(conv: Conversation, task_sid: str) -> dict[str, Any] | None:
    task = await conv.task(task_sid)
    return task if task["status"] in ("completed", "wrapping", "canceled") else None


async def media_in_flex_wait(
    probe: Callable[[], Awaitable[list[dict[str, Any]] | None]],
) -> list[dict[str, Any]]:
    return await eventually("the photo in Flex", probe)


async def test_duplicated_webhooks_change_nothing(stack: Stack) -> None:
    """Every webhook delivered twice (Twilio's at-least-once): still one reply per message, one task."""
    conv = Conversation(stack)
    await conv.post("/_sandbox/faults", {"webhook_duplicate_rate": 1.0, "seed": 7})
    try:
        await conv.says("How long does shipping take?")
        await conv.wait_delivered(1)
        await conv.says("And what is your returns policy?")
        await conv.wait_delivered(2)
        # `says` returns once the sandbox delivered the webhook and its duplicate; once the workflow is idle it
        # has dealt with both, so a duplicate that (wrongly) produced a reply would be in the inbox now.

        async def settled() -> dict[str, Any] | None:
            detail = await conv.state()
            view = detail.get("state", {})
            return detail if view.get("state") == "ai" and view.get("idle") else None

        detail = await eventually("the workflow idle after the duplicated webhooks", settled)
    finally:
        await stack.http.delete(f"{stack.sandbox_url}/_sandbox/faults")
    assert len(await conv.delivered()) == 2
    assert detail["state"]["duplicates_ignored"] >= 1
    flex = await conv.flex(detail["state"]["conversation_sid"])
    assert len([m for m in flex if m["author"] == "AI Support Agent"]) == 2
