"""Sessions and AI turns."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from contracts.ai import AiTurnInput
from tests.workflow.fakes import client_error
from tests.workflow.harness import BUSINESS, ORG, Conv
from workflows.conversation.ai_turn import MAX_TURN_ROUNDS, TURN_RETRY


async def test_first_message_opens_a_session_and_the_ai_answers(conv: Conv) -> None:
    await conv.begin("SM1", "hello there")
    sess = conv.session_id("SM1")
    view = await conv.until(lambda v: v.task_sid == "WT1", "task created")
    assert view.state == "ai" and view.session_number == 1 and view.window_open
    fake = conv.fake
    # The first message is answered at once, while the Flex session opens: the contact waits for nothing of Flex
    # or TaskRouter. Then Flex gets the message and the reply, in that order, and the task is created.
    names = fake.names()
    assert names[: names.index("send_whatsapp") + 1] == ["answer_contact", "show_typing", "ai_turn", "send_whatsapp"]
    assert names[names.index("send_whatsapp") + 1 :] == [
        "open_flex_conversation",
        "post_to_flex",
        "post_to_flex",
        "create_interaction",
    ]
    first = fake.of("answer_contact")[0]
    assert first.contact_posts == [] and first.reply_post is None
    assert fake.of("ai_turn")[0].flex_context == {}  # no task yet
    send = fake.of("send_whatsapp")[0]
    assert (send.from_number, send.to_number, send.body) == (BUSINESS, conv.contact, "AI: hello there")
    assert send.status_callback_url == f"https://svc.example.com/webhooks/{ORG}/whatsapp/status/{conv.key}"
    assert send.idempotency_id == "ai:SM1"
    flex = [(p.author, p.body, p.idempotency_id) for p in fake.of("post_to_flex")]
    assert flex == [
        (f"whatsapp:{conv.contact}", "hello there", "contact:SM1"),
        ("AI Support Agent", "AI: hello there", "ai:SM1"),
    ]
    opened = fake.of("open_flex_conversation")[0]
    assert opened.unique_name == sess == f"{conv.key}-SM1"
    assert opened.contact_identity == f"whatsapp:{conv.contact}"
    assert opened.contact_friendly_name == "Ana"
    assert opened.webhook_url == f"https://svc.example.com/webhooks/{ORG}/conversations/{conv.key}"
    created = fake.of("create_interaction")[0]
    assert created.session_id == sess and created.conversation_sid == view.conversation_sid
    assert created.task_attributes == {
        "name": "Ana",
        "customerName": "Ana",
        "customerAddress": f"whatsapp:{conv.contact}",
        "customers": {"name": "Ana", "phone": conv.contact},
        "from": f"whatsapp:{conv.contact}",
        "channelType": "whatsapp",
        "waHandoff": {"workflowId": conv.workflow_id, "org": ORG, "sessionId": sess},
    }
    # Later messages wait for TaskRouter to offer the task to the AI worker.
    await conv.contact_msg("SM2", "where is my order?")
    await conv.quiet()
    assert len(fake.of("ai_turn")) == 1

    await conv.ai_offer(sess, attributes={"order_id": "A-42", "customer": {"tier": "gold"}})
    await conv.until_calls("send_whatsapp", 2)
    accept = fake.of("accept_ai_reservation")[0]
    assert (accept.task_sid, accept.reservation_sid, accept.worker_sid) == ("WT1", "WR1", "WKai")
    assert (accept.interaction_sid, accept.channel_sid) == ("KD1", "UO1")
    turn: AiTurnInput = fake.of("ai_turn")[1]
    assert turn.new_message_count == 1 and turn.transcript[-1].text == "where is my order?"
    assert turn.flex_context == {"flex_order_id": "A-42", "flex_customer_tier": "gold"}
    ai_post = fake.of("post_to_flex")[-1]
    assert ai_post.author == "AI Support Agent" and ai_post.body == "AI: where is my order?"
    # A steady turn's reply is in Flex before it goes to WhatsApp.
    names = fake.names()
    second = names.index("ai_turn", names.index("accept_ai_reservation"))
    assert names.index("post_to_flex", second) < names.index("send_whatsapp", second)
    transcript = await conv.handle.query("transcript")
    assert [line["speaker"] for line in transcript] == ["contact", "ai", "contact", "ai"]


async def test_burst_during_an_ai_turn_is_answered_once_together(conv: Conv) -> None:
    conv.fake.ai_gate = asyncio.Event()
    await conv.begin("SM1", "first")
    sess = conv.session_id("SM1")
    await conv.until_calls("ai_turn", 1)
    for i in range(3):
        await conv.contact_msg(f"SM1-{i}", f"more {i}")
    # The server holds the three signals before the first turn completes: they form one batch.
    conv.fake.ai_gate.set()
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(sess)
    await conv.until_calls("send_whatsapp", 2)
    await conv.quiet()
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
    await conv.until_calls("ai_turn", 1)
    await conv.contact_msg("SM2", "second")
    await conv.contact_msg("SM3", "third")
    conv.fake.ai_gate.set()
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.until_calls("send_whatsapp", 2)
    await conv.quiet()
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
    await conv.until_calls("accept_ai_reservation", 1)
    await conv.contact_msg("SM2", "and?")
    await conv.until_calls("send_whatsapp", 2)
    await conv.quiet()
    assert len(conv.fake.of("accept_ai_reservation")) == 1


async def test_a_contact_message_flex_refuses_is_still_answered_and_the_rep_told(conv: Conv) -> None:
    """Flex refusing one contact post (a 4xx) does not stop the turn: the AI answers it, the rep gets a notice."""
    await conv.to_first_ai_reply("SM1", "hello")
    conv.fake.fail["post_to_flex"] = [client_error("Conversation busy", 50400)]  # the next post: SM2's
    await conv.contact_msg("SM2", "second")
    await conv.until_calls("send_whatsapp", 2)
    view = await conv.quiet()
    fake = conv.fake
    assert len(fake.of("answer_contact")) == 2 and len(fake.of("ai_turn")) == 2
    assert [s.body for s in fake.of("send_whatsapp")] == ["AI: hello", "AI: second"]
    notices = [
        p for p in fake.of("post_to_flex") if p.attributes.get("waHandoffNotice") == "contact_message_not_in_flex"
    ]
    assert len(notices) == 1 and "Conversation busy" in (notices[0].body or "")
    assert "posting a contact message to Flex failed" in (view.last_error or "")
    assert view.state == "ai" and not view.stuck


async def test_a_failed_turn_is_tried_again_and_its_send_looks_for_the_earlier_one(conv: Conv) -> None:
    """Every attempt of a turn's activity fails (Twilio down for a while): the turn is tried again in a later
    round, whose send first looks for one an earlier round may have made; the reply goes out once."""
    outage = ApplicationError("Twilio 503", type="TwilioServerError")
    conv.fake.fail["answer_contact"] = [outage] * TURN_RETRY.maximum_attempts
    await conv.begin("SM1", "hello")
    await conv.until_calls("answer_contact", 1)
    await conv.skip(timedelta(seconds=20))  # the activity's own retries
    view = await conv.until(lambda v: "trying again" in (v.last_error or ""), "the round failed")
    assert conv.fake.of("send_whatsapp") == []
    # Meanwhile the session opens; the next round is a steady turn, once the AI holds the task.
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    await conv.skip(timedelta(seconds=31))  # the next round
    [send] = await conv.until_calls("send_whatsapp", 1)
    assert send.idempotency_id == "ai:SM1" and send.may_have_sent_since is not None
    assert len(conv.fake.of("answer_contact")) == TURN_RETRY.maximum_attempts + 1
    await conv.contact_msg("SM2", "and again")
    sends = await conv.until_calls("send_whatsapp", 2)
    assert sends[1].may_have_sent_since is None  # a new turn: nothing earlier to look for
    view = await conv.quiet()
    assert view.state == "ai" and view.handoff_count == 0


async def test_a_turn_that_keeps_failing_goes_to_a_rep(conv: Conv) -> None:
    outage = ApplicationError("Twilio 503", type="TwilioServerError")
    conv.fake.fail["answer_contact"] = [outage] * (TURN_RETRY.maximum_attempts * MAX_TURN_ROUNDS)
    await conv.begin("SM1", "my order is late")
    await conv.until(lambda v: v.task_sid is not None, "task")
    await conv.ai_offer(conv.session_id("SM1"))
    for _ in range(MAX_TURN_ROUNDS):
        await conv.skip(timedelta(minutes=3))
    view = await conv.until(lambda v: v.state == "queued", "handed to the humans")
    assert view.handoff_reason == "AI unavailable" and "rounds failed" in (view.last_error or "")
    assert len(conv.fake.of("answer_contact")) == TURN_RETRY.maximum_attempts * MAX_TURN_ROUNDS
    assert [s.idempotency_id for s in conv.fake.of("send_whatsapp") if s.idempotency_id.startswith("ai:")] == []


async def test_the_ai_reads_the_newest_lines_within_the_orgs_context_budget(conv: Conv) -> None:
    long_ago = "an early question about something else entirely"
    await conv.begin("SM1", long_ago, ai_context_chars=60)
    sess = conv.session_id("SM1")
    await conv.ai_offer(sess)
    await conv.contact_msg("SM2", "where is my order?")
    await conv.until_calls("ai_turn", 2)
    turn: AiTurnInput = conv.fake.of("ai_turn")[1]
    # The question (18 characters) fits in 60, the AI's earlier reply (52 more) does not.
    assert [line.text for line in turn.transcript] == ["where is my order?"]
    transcript = await conv.handle.query("transcript")
    assert transcript[0]["text"] == long_ago  # the workflow keeps it; only the AI's input is the window
