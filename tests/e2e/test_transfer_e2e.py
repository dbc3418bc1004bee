"""End to end (dev server, sandbox, worker, API), judged from the sandbox's record: a rep transfers the
conversation in Flex mid-conversation — to another rep, then that rep to the queue — as Flex does it (an invite
creating a new task on the same channel, the transferring rep's participant closed). The service follows each new
holder: every rep's reply reaches the contact exactly once, the contact's messages reach Flex once, and whoever
takes over gets a note with the handoff and everything since, the earlier reps' words included."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.search_attributes import FLEX_TASK_SID, FLEX_WORKER_SID
from tests.e2e.conftest import Stack
from tests.e2e.steps import offered, record, rep_accepts, rep_says, says, to_the_humans
from tests.e2e.test_whole_path import Conversation
from tests.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def transfer(conv: Conversation, rep: str, task_sid: str, **to: str) -> dict[str, Any]:
    done: dict[str, Any] = await conv.post(f"/_sandbox/reps/{rep}/transfers", {"task_sid": task_sid, **to})
    assert done["status"] == "active" and done["new_task_sid"] != task_sid, done
    return done


async def followed(conv: Conversation, task_sid: str, transfers: int) -> dict[str, Any]:
    async def state() -> dict[str, Any]:
        return dict((await conv.state()).get("state") or {})

    return await eventually(
        f"the conversation following task {task_sid}",
        state,
        lambda s: s.get("human_task_sid") == task_sid and s.get("transfers") == transfers,
    )


async def accept_offer(conv: Conversation, task_sid: str) -> str:
    name, reservation = await offered(conv, task_sid)
    await conv.post(f"/_sandbox/reps/{name}/reservations/{reservation['reservation_sid']}/accept")

    async def with_them() -> dict[str, Any]:
        return dict((await conv.state()).get("state") or {})

    worker = next(r.worker_sid for r in conv.stack.seed.reps if r.name == name)
    await eventually(
        f"{name} holding the conversation",
        with_them,
        lambda s: s.get("state") == "with_rep" and s.get("rep_worker_sid") == worker,
    )
    return name


def notes(flex: list[dict[str, Any]]) -> list[str]:
    return [
        str(m["body"])
        for m in flex
        if m["author"] == "system" and isinstance(m["attributes"], dict) and m["attributes"].get("waHandoffNote")
    ]


async def test_a_transfer_to_a_rep_and_then_to_the_queue_keeps_replies_once_and_context(stack: Stack) -> None:
    conv = Conversation(stack)
    await says(conv, "Hi! Where is my order?")
    await conv.wait_delivered(1)
    queued = await to_the_humans(conv)
    csid, first_task = queued["conversation_sid"], queued["human_task_sid"]
    first = await rep_accepts(conv, first_task)
    other = next(r.name for r in stack.seed.reps if r.name != first)
    replies = [f"Hi Ana, this is {first}. Your order ships tomorrow."]
    await rep_says(conv, first, csid, replies[0])
    await eventually("the first rep's reply on WhatsApp", conv.delivered, lambda got: replies[0] in _bodies(got))

    # To the other rep.
    moved = await transfer(conv, first, first_task, to_worker=other)
    second_task = moved["new_task_sid"]
    await followed(conv, second_task, 1)
    assert await accept_offer(conv, second_task) == other
    await says(conv, "Thanks! Can you confirm the delivery address?")
    replies.append(f"{other} here, taking over: the address is the one on your order.")
    await rep_says(conv, other, csid, replies[1])
    await eventually("the second rep's reply on WhatsApp", conv.delivered, lambda got: replies[1] in _bodies(got))

    # Then to the queue: anyone but the rep who transferred it.
    to_queue = await transfer(conv, other, second_task, to_queue=stack.seed.human_queue_sid)
    third_task = to_queue["new_task_sid"]
    await followed(conv, third_task, 2)
    assert await accept_offer(conv, third_task) == first
    replies.append("Back with me again: anything else?")
    await rep_says(conv, first, csid, replies[2])
    await eventually("the third reply on WhatsApp", conv.delivered, lambda got: replies[2] in _bodies(got))

    # Each reply reached the contact exactly once; the contact's messages are in Flex exactly once.
    delivered = _bodies(await conv.delivered())
    assert [delivered.count(r) for r in replies] == [1, 1, 1], delivered
    flex = await conv.flex(csid)
    contact_posts = [m["body"] for m in flex if m["author"] == f"whatsapp:{conv.contact}"]
    assert contact_posts.count("Thanks! Can you confirm the delivery address?") == 1
    # The handoff note, then a note for each transfer: the handoff plus everything since, earlier reps included.
    handoff_note, to_other, to_queue_note = notes(flex)
    assert handoff_note.startswith("Handoff from the AI agent")
    for note, said in ((to_other, replies[:1]), (to_queue_note, replies[:2])):
        assert note.startswith("Handoff from the AI agent") and "Since the handoff" in note
        assert all(line in note for line in said), note
    assert "Can you confirm the delivery address?" in to_queue_note
    assert not set(notes(flex)) & set(delivered)  # notes stay in Flex

    # Flex did it as documented (the sandbox's record), and Temporal's view names the holder.
    transfers = [e for e in await record(conv, "flex.transfer") if e["conversation_sid"] == csid]
    assert [(e["to_type"], e["new_task_sid"]) for e in transfers] == [("worker", second_task), ("queue", third_task)]
    assert (await conv.task(first_task))["status"] == "completed"
    assert (await conv.task(second_task))["status"] == "completed"
    attributes = (await stack.client.get_workflow_handle(conv.workflow_id).describe()).typed_search_attributes
    first_sid = next(r.worker_sid for r in stack.seed.reps if r.name == first)
    assert (attributes.get(FLEX_TASK_SID), attributes.get(FLEX_WORKER_SID)) == (third_task, first_sid)
    state = (await conv.state())["state"]
    assert (state["state"], state["transfers"], state["sessions_ended"]) == ("with_rep", 2, 0)


def _bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("body")) for m in messages]
