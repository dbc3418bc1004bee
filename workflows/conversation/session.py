"""Contact messages and the session they belong to: the window, the backlog, opening the Flex session.

- A session's id is `{key}-{opening message sid}`: unique across workflow runs (the workflow may have closed idle
  and started again) and stable across retries (it is the Flex conversation's unique name and the interaction's
  idempotency key).
- Contact messages go into Flex in order, before any AI turn or handoff note that follows them. A Flex message
  carries one attachment: each media of a contact message becomes its own message.
- A contact message for the rep first reads the rep's task: one that ended unseen (its `task.completed` lost)
  sends the message to a new session, never into a finished task.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from contracts.activities import (
    COPY_CONTACT_MEDIA_TO_FLEX,
    CREATE_INTERACTION,
    OPEN_FLEX_CONVERSATION,
    CopyContactMediaInput,
    CreateInteractionInput,
    OpenFlexConversationInput,
)
from contracts.ids import is_bsuid, workflow_id_for_key
from contracts.signals import ContactMessage
from rules import media as media_rules
from rules import notices, session_events
from rules import window as window_rules
from rules.backoff import backoff
from rules.handoff_attributes import build_task_attributes
from workflows.conversation import csat, lifecycle, metrics, taskrouter
from workflows.conversation.context import AI_AUTHOR, Conversation
from workflows.conversation.effects import STEPS_HEARTBEAT, activity_input, call, error_text, post_input
from workflows.conversation.flex_posts import notice, post
from workflows.conversation.whatsapp_sends import send_whatsapp
from workflows.state import InboxItem, SessionState

OPEN_RETRY_FIRST = timedelta(seconds=30)


def on_contact(c: Conversation, msg: ContactMessage) -> None:
    if msg.business_number != c.business_number or not c.is_this_contact(msg.contact_address, msg.contact_bsuid):
        c.skip(f"contact message {msg.message_sid} for another conversation")
        return
    _learn_identity(c, msg)
    now = workflow.now()
    c.s.window_expires_at = window_rules.extend(c.s.window_expires_at, msg.received_at, now)
    c.timers.set("window", c.s.window_expires_at)
    if msg.profile_name and msg.profile_name.strip():
        c.s.profile_name = msg.profile_name.strip()
    text = msg.body
    if msg.media:
        text = (text + " " if text else "") + " ".join(f"[{m.content_type}]" for m in msg.media)
    c.add_transcript("contact", text or "(empty message)", now)
    if csat.takes_rating(c, msg):
        return
    into_session(c, msg, now)


def _learn_identity(c: Conversation, msg: ContactMessage) -> None:
    """Keep what the message says of the contact: their BSUID (published as `ContactRef`, so a later message
    without the number finds this conversation), their number while they show it, their username."""
    if msg.contact_bsuid:
        c.s.contact_bsuid = msg.contact_bsuid
    if not is_bsuid(msg.contact_address):
        c.s.contact_phone = msg.contact_address
    if msg.contact_username:
        c.s.contact_username = msg.contact_username


def into_session(c: Conversation, msg: ContactMessage, now: datetime) -> None:
    """Queue a contact message in the current session, opening a new one when there is none."""
    sess = c.s.session
    if sess is None:
        c.s.session_number += 1
        sess = SessionState(
            session_id=f"{c.key}-{msg.message_sid}",
            number=c.s.session_number,
            opened_at=now,
            profile_name_at_creation=c.s.profile_name,
        )
        c.s.session = sess
        c.timers.set("quiet", None)
        metrics.conversation_opened(c)
    sess.backlog.append(msg)
    sess.ai_quiet_from = now
    if lifecycle.opening_gave_up(sess):
        sess.open_attempts = 0  # opening had given up: a new message is a reason to try again
    if lifecycle.ai_answering(c, sess):
        sess.ai_pending_sids.append(msg.message_sid)


def rep_task_check_due(c: Conversation, sess: SessionState) -> bool:
    return session_events.rep_task_check_due(
        with_rep=c.s.state == "with_rep",
        awaiting_rep_task_end=sess.awaiting == "rep_task_end",
        conversation_known=sess.conversation_sid is not None,
        newest_waiting_message=sess.backlog[-1].message_sid if sess.backlog else None,
        checked_for=sess.rep_task_checked_for,
    )


async def check_rep_task(c: Conversation, sess: SessionState) -> None:
    """The periodic read of the rep's task, now; a task found ended moves the waiting messages to a new session
    (new conversation and task, the AI answering), as its event would have. A failed read leaves them to the
    rep."""
    sess.rep_task_checked_for = sess.backlog[-1].message_sid
    await taskrouter.read_back(c, sess)
    if c.s.session is sess:
        return
    now = workflow.now()
    for msg in sess.backlog:
        into_session(c, msg, now)
    sess.backlog.clear()


def needs_opening(sess: SessionState) -> bool:
    """The Flex session still needs opening, or contact messages still need posting (before anything else)."""
    return sess.task_sid is None or bool(sess.backlog)


def opening_blocked(sess: SessionState) -> bool:
    """Opening failed and waits for its retry time, or gave up until the contact writes again."""
    waiting = sess.open_retry_at is not None and sess.open_retry_at > workflow.now()
    return waiting or lifecycle.opening_gave_up(sess)


async def open_and_flush(c: Conversation, sess: SessionState) -> bool:
    """Open the Flex conversation, post the contact messages in order, create the interaction (the task).
    False when a step failed (retried later with backoff; given up after a few rounds, flagged stuck)."""
    pol = c.policy
    try:
        if sess.conversation_sid is None:
            conversation = activity_input(
                c,
                OpenFlexConversationInput,
                unique_name=sess.session_id,
                contact_identity=c.contact_identity,
                contact_friendly_name=sess.profile_name_at_creation or c.contact_address,
                webhook_url=f"{pol.public_base_url}/webhooks/{c.org}/conversations/{c.key}",
            )
            opened = await call(c, OPEN_FLEX_CONVERSATION, conversation, "open Flex conversation")
            sess.conversation_sid = opened.conversation_sid
            sess.contact_participant_sid = opened.contact_participant_sid
        while sess.backlog:
            msg = sess.backlog[0]
            await _post_contact_message(c, sess, msg)
            sess.backlog.pop(0)
            await _post_waiting(c, sess, msg.message_sid)
        await _post_waiting(c, sess, None)
        if sess.task_sid is None:
            attributes = build_task_attributes(
                profile_name=sess.profile_name_at_creation,
                username=c.s.contact_username,
                phone=c.s.contact_phone,
                contact_address=c.contact_address,
                workflow_id=workflow_id_for_key(c.org, c.key),
                org=c.org,
                session_id=sess.session_id,
            )
            interaction = activity_input(c, CreateInteractionInput, sess, task_attributes=attributes)
            created = await call(c, CREATE_INTERACTION, interaction, "create Flex interaction (task)")
            sess.interaction_sid = created.interaction_sid
            sess.channel_sid = created.channel_sid
            sess.task_sid = created.task_sid
            sess.task_attributes = attributes
            lifecycle.wait_for(c, sess, "ai_reservation")
            if sess.deferred_events:
                c.s.inbox[:0] = [InboxItem.of(e) for e in sess.deferred_events]
                sess.deferred_events.clear()
    except ActivityError as err:
        sess.open_attempts += 1
        c.s.last_error = f"opening the Flex session failed: {error_text(err)[0]}"
        if sess.open_attempts >= lifecycle.MAX_OPEN_ROUNDS:
            c.s.stuck = True
            sess.open_retry_at = None
        else:
            sess.open_retry_at = workflow.now() + backoff(OPEN_RETRY_FIRST, sess.open_attempts)
            c.timers.set("retry", sess.open_retry_at)
        return False
    sess.open_attempts = 0
    sess.open_retry_at = None
    return True


async def _post_waiting(c: Conversation, sess: SessionState, after: str | None) -> None:
    """The posts made before the session opened that follow this contact message (None: all those left)."""
    while True:
        due = [w for w in sess.posts_waiting if after is None or w.after == after]
        if not due:
            return
        w = due[0]
        try:
            await post(
                c, post_input(c, sess.conversation_sid, w.author, w.body, w.idempotency_id, attributes=w.attributes)
            )
        except ActivityError as err:
            detail, refused = error_text(err)
            if not refused:
                raise
            # As in a turn: Flex refusing the reply (or a notice) is noted; the contact has it already.
            c.s.last_error = f"posting the AI reply to Flex failed: {detail}" if w.author == AI_AUTHOR else detail
        sess.posts_waiting.remove(w)


async def _post_contact_message(c: Conversation, sess: SessionState, msg: ContactMessage) -> None:
    if msg.body or not msg.media:
        await post(
            c,
            post_input(
                c,
                sess.conversation_sid,
                c.contact_identity,
                msg.body or "(empty message)",
                f"contact:{msg.message_sid}",
            ),
        )
    for i, m in enumerate(msg.media):
        await _copy_contact_media(c, sess, msg, i, m.url, m.content_type)


async def _copy_contact_media(
    c: Conversation, sess: SessionState, msg: ContactMessage, i: int, url: str, content_type: str
) -> None:
    """One attachment into Flex; what cannot be copied is told to the rep (Flex) and the contact (WhatsApp)."""
    item_id = f"contact:{msg.message_sid}:media:{i}"
    decision = media_rules.flex_decision(content_type, None)
    refused = decision.reason if not decision.allowed else None
    if refused is None:
        try:
            copied = await call(
                c,
                COPY_CONTACT_MEDIA_TO_FLEX,
                activity_input(c, CopyContactMediaInput, media_url=url, content_type=content_type),
                "copy contact media to Flex",
                limit=timedelta(minutes=2),
                heartbeat=STEPS_HEARTBEAT,  # a killed worker's copy is retried after 20 s, not 2 min
            )
        except ActivityError as err:
            detail, is_4xx = error_text(err)
            if not is_4xx:
                raise
            refused = "it could not be downloaded"
            c.s.last_error = f"contact media copy failed: {detail}"
        else:
            if copied.media_sid:
                await post(
                    c,
                    post_input(c, sess.conversation_sid, c.contact_identity, None, item_id, media_sid=copied.media_sid),
                )
                return
            refused = copied.refused_reason or "it could not be copied"
    note = notices.contact_media_refused_note(content_type, refused)
    await notice(c, "contact_media_refused", note, f"{item_id}:refused")
    await send_whatsapp(c, "media refusal", f"{item_id}:refused", body=notices.contact_media_refused_whatsapp(refused))
