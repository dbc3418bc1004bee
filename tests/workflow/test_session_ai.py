"""Issue 3 points 1 (sessions) and 2 (AI turns)."""

from __future__ import annotations

import asyncio

from contracts.ai import AiTurnInput
from tests.workflow.fakes import client_error
from tests.workflow.harness import BUSINESS, ORG, Conv


async def test_first_message_opens_a_session_and_the_ai_answers(conv: Conv) -> None:
    await conv.begin("SM1", "hello there")
    sess = conv.session_id("SM1")
    view = await conv.until(lambda v: v.task_sid == "WT1", "task created")
    assert view.state == "ai" and view.session_number == 1 and view.window_open
    fake = conv.fake
    assert fake.names() == ["open_flex_conversation", "post_to_flex", "create_interaction"]
    opened = fake.of("open_flex_conversation")[0]
    assert opened.unique_name == sess == f"{conv.key}-SM1"
    assert opened.contact_identity == f"whatsapp:{conv.contact}"
    assert opened.contact_friendly_name == "Ana"
    assert opened.webhook_url == f"https://svc.example.com/webhooks/{ORG}/conversations/{conv.key}"
    posted = fake.of("post_to_flex")[0]
    assert posted.author == f"whatsapp:{conv.contact}" and posted.body == "hello there"
    assert posted.idempotency_id == "contact:SM1"
    created = fake.of("create_interaction")[0]
    assert created.session_id == sess and created.conversation_sid == view.conversation_sid
    assert created.task_attributes == {
        "name": "Ana",
        "customerName": "Ana",
        "from": f"whatsapp:{conv.contact}",
        "channelType": "whatsapp",
        "waHandoff": {"workflowId": conv.workflow_id, "org": ORG, "sessionId": sess},
    }
    # Nothing is answered before TaskRouter offers the task to the AI worker.
    await conv.settle()
    assert fake.of("ai_turn") == []

    await conv.ai_offer(sess, attributes={"order_id": "A-42", "customer": {"tier": "gold"}})
    sends = await conv.until_calls("send_whatsapp", 1)
    accept = fake.of("accept_ai_reservation")[0]
    assert (accept.task_sid, accept.reservation_sid, accept.worker_sid) == ("WT1", "WR1", "WKai")
    assert (accept.interaction_sid, accept.channel_sid) == ("KD1", "UO1")
    turn: AiTurnInput = fake.of("ai_turn")[0]
    assert turn.new_message_count == 1 and turn.transcript[-1].text == "hello there"
    assert turn.flex_context == {"flex_order_id": "A-42", "flex_customer_tier": "gold"}
    ai_post = fake.of("post_to_flex")[-1]
    assert ai_post.author == "AI Support Agent" and ai_post.body == "AI: hello there"
    send = sends[0]
    assert (send.from_number, send.to_number, send.body) == (BUSINESS, conv.contact, "AI: hello there")
    assert send.status_callback_url == f"https://svc.example.com/webhooks/{ORG}/whatsapp/status/{conv.key}"
    assert send.idempotency_id == "ai:SM1"
    # The AI reply is in Flex before it goes to WhatsApp.
    names = fake.names()
    assert names.index("post_to_flex", names.index("ai_turn")) < names.index("send_whatsapp")
    transcript = await conv.handle.query("transcript")
    assert [line["speaker"] for line in transcript] == ["contact", "ai"]


async def test_burst_during_an_ai_turn_is_answered_once_together(conv: Conv) -> None:
    conv.fake.ai_gate = asyncio.Event()
    await conv.begin("SM1", "first")
    sess = conv.session_id("SM1")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(sess)
    await conv.until_calls("ai_turn", 1)
    for i in range(3):
        await conv.contact_msg(f"SM1-{i}", f"more {i}")
    # The server holds the three signals before the first turn completes: they form one batch.
    conv.fake.ai_gate.set()
    await conv.until_calls("send_whatsapp", 2)
    await conv.settle()
    turns = conv.fake.of("ai_turn")
    assert [t.new_message_count for t in turns] == [1, 3]
    sends = conv.fake.of("send_whatsapp")
    assert len(sends) == 2
    assert sends[1].body == "AI: more 0 / more 1 / more 2" and sends[1].idempotency_id == "ai:SM1-2"
    contact_posts = [p.body for p in conv.fake.of("post_to_flex") if p.author.startswith("whatsapp:")]
    assert contact_posts == ["first", "more 0", "more 1", "more 2"]


async def test_flex_shows_each_reply_right_after_the_messages_it_answers(conv: Conv) -> None:
    """A lean turn (one `answer_contact` activity) posts its reply as soon as the AI gives it: messages that came
    in meanwhile follow it in Flex, before the reply that answers them (the rep reads question, answer,
    question, answer). They are answered together by the next turn, once."""
    conv.fake.ai_gate = asyncio.Event()
    await conv.begin("SM1", "first")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("ai_turn", 1)
    await conv.contact_msg("SM2", "second")
    await conv.contact_msg("SM3", "third")
    conv.fake.ai_gate.set()
    await conv.until_calls("send_whatsapp", 2)
    await conv.settle()
    flex = [(p.author, p.body) for p in conv.fake.of("post_to_flex")]
    who = f"whatsapp:{conv.contact}"
    assert flex == [
        (who, "first"),
        ("AI Support Agent", "AI: first"),
        (who, "second"),
        (who, "third"),
        ("AI Support Agent", "AI: second / third"),
    ]
    assert len(conv.fake.of("answer_contact")) == 2
    assert [t.new_message_count for t in conv.fake.of("ai_turn")] == [1, 2]
    assert [s.idempotency_id for s in conv.fake.of("send_whatsapp")] == ["ai:SM1", "ai:SM3"]


async def test_reservation_offered_before_the_task_is_known_is_not_lost(conv: Conv) -> None:
    """A reordered webhook: the offer arrives while the interaction is still being created."""
    sess = conv.session_id("SM1")
    await conv.begin("SM1", "hello")
    await conv.ai_offer(sess)  # may be processed before create_interaction returns
    await conv.until_calls("send_whatsapp", 1)
    assert len(conv.fake.of("accept_ai_reservation")) == 1


async def test_a_failed_lean_turn_is_done_step_by_step_and_the_reply_goes_out_once(conv: Conv) -> None:
    """`answer_contact` fails (its contact post refused once): the workflow does the same turn step by step, and
    that send first looks for one the lean turn may have made; the next turn is lean again."""
    await conv.begin("SM1", "hello")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 1)
    assert [p.body for p in conv.fake.of("post_to_flex")] == ["hello", "AI: hello"]
    conv.fake.fail["post_to_flex"] = [client_error("Conversation busy", 50400)]  # the next: SM2, in the lean turn
    await conv.contact_msg("SM2", "second")
    await conv.until_calls("send_whatsapp", 2)
    await conv.contact_msg("SM3", "third")
    await conv.until_calls("send_whatsapp", 3)
    await conv.settle()
    fake = conv.fake
    assert len(fake.of("answer_contact")) == 3  # SM1, SM2 (failed), SM3
    assert len(fake.of("ai_turn")) == 3  # the failed lean turn never reached its AI
    sends = fake.of("send_whatsapp")
    assert [s.idempotency_id for s in sends] == ["ai:SM1", "ai:SM2", "ai:SM3"]
    assert [s.may_have_sent_since is not None for s in sends] == [False, True, False]
    contact_posts = [p.body for p in fake.of("post_to_flex") if p.author.startswith("whatsapp:")]
    assert contact_posts == ["hello", "second", "second", "third"]  # refused once, then posted by the step path
    view = await conv.view()
    assert view.state == "ai" and not view.stuck
