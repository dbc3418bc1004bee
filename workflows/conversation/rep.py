"""What a rep writes in Flex: replies and attachments relayed to WhatsApp inside the 24-hour window, refused with
a notice outside it; `/template <name> …` commands send an approved template at any time.

Rep attachments go to WhatsApp as their MCS URL (`rules.media.mcs_media_url`); the send activity resolves it to
the short-lived public URL. The media limits are checked here first, with a notice for what cannot go.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from contracts.signals import ConversationEvent
from rules import media as media_rules
from rules import notices
from rules import templates as template_rules
from rules import window as window_rules
from rules.echo import is_own_echo
from rules.handoff_attributes import iso_utc
from workflows.conversation import metrics
from workflows.conversation.context import Conversation
from workflows.conversation.flex_posts import notice
from workflows.conversation.whatsapp_sends import send_whatsapp


async def on_conversation_event(c: Conversation, ev: ConversationEvent) -> None:
    sess = c.s.session
    if ev.event_type != "onMessageAdded":
        return
    if sess is None or ev.conversation_sid != sess.conversation_sid:
        c.skip(f"message {ev.message_sid} on a conversation that is not this session's")
        return
    if is_own_echo(ev.author, ev.attributes, c.own_authors):
        return
    cause = ev.message_sid or ev.dedup_id
    now = workflow.now()
    c.add_transcript("rep", ev.body or " ".join(f"[{m.content_type}]" for m in ev.media) or "", now)
    try:
        command = template_rules.parse_template_command(ev.body)
    except template_rules.TemplateCommandError as exc:
        await notice(c, "template_error", notices.template_error(str(exc)), f"rep:{cause}:template")
        return
    if command is not None:
        await send_template(c, command.name, command.variables, cause=f"rep:{cause}")
        return
    if not window_rules.is_open(c.s.window_expires_at, now):
        metrics.rep_reply_refused(c)
        await notice(
            c,
            "reply_refused",
            notices.window_closed_reply_refused(c.s.window_expires_at, c.policy.templates),
            f"rep:{cause}:refused",
        )
        return
    text = ev.body if ev.body and ev.body.strip() else None
    decisions = [media_rules.whatsapp_decision(m.content_type, m.size) for m in ev.media]
    # Text with an image, a video or a document goes as its caption: one WhatsApp message, not two.
    captioned = (
        next(
            (
                i
                for i, (m, d) in enumerate(zip(ev.media, decisions, strict=True))
                if d.allowed and media_rules.takes_caption(m.content_type)
            ),
            None,
        )
        if text
        else None
    )
    if text and captioned is None:
        await send_whatsapp(c, "rep reply", f"rep:{cause}", body=text)
    for i, (m, decision) in enumerate(zip(ev.media, decisions, strict=True)):
        if not decision.allowed:
            await notice(
                c,
                "rep_media_refused",
                notices.rep_media_refused(m.filename, decision.reason or "not allowed"),
                f"rep:{cause}:media:{i}:refused",
            )
            continue
        await send_whatsapp(
            c,
            "rep attachment" if i != captioned else "rep reply with attachment",
            f"rep:{cause}:media:{i}",
            body=text if i == captioned else None,
            media_url=media_rules.mcs_media_url(c.policy.conversations_service_sid, m.sid),
        )


async def send_template(c: Conversation, name: str, variables: list[str], *, cause: str) -> tuple[str | None, str]:
    """(the sent message's SID or None, what happened): an unknown name or a refused send is told to the rep."""
    try:
        content_sid = template_rules.resolve(name, c.policy.templates)
    except template_rules.TemplateCommandError as exc:
        await notice(c, "template_error", notices.template_error(str(exc)), f"{cause}:template-error")
        return None, str(exc)
    sent = await send_whatsapp(
        c,
        "template",
        f"{cause}:template",
        content_sid=content_sid,
        content_variables=template_rules.content_variables(variables),
    )
    if sent is None:
        return None, c.s.last_error or "not sent"
    c.add_transcript("rep", f"[template {name}] {' '.join(variables)}".strip(), workflow.now())
    return sent, f"template {name!r} sent"


def window_warning_at(c: Conversation) -> datetime | None:
    """When the rep holding the conversation is warned the window closes (once per deadline)."""
    deadline = c.s.window_expires_at
    sess = c.s.session
    if c.s.state != "with_rep" or sess is None or deadline is None or sess.window_warned_for == deadline:
        return None
    return window_rules.warning_at(deadline, c.policy.window_warning_minutes)


def window_warning_due(c: Conversation) -> bool:
    at = window_warning_at(c)
    return at is not None and at <= workflow.now() and window_rules.is_open(c.s.window_expires_at, workflow.now())


async def warn_window_closing(c: Conversation) -> None:
    sess = c.s.session
    deadline = c.s.window_expires_at
    assert sess is not None and deadline is not None
    sess.window_warned_for = deadline
    left = max(1, round((deadline - workflow.now()).total_seconds() / 60))
    await notice(
        c,
        "window_closing",
        notices.window_closing(deadline, left, c.policy.templates),
        f"window-closing:{iso_utc(deadline)}:{sess.session_id}",
    )


def arm_window_warning(c: Conversation) -> None:
    at = window_warning_at(c)
    c.timers.set("window_warning", at if at is not None and at > workflow.now() else None)


async def window_closed(c: Conversation) -> None:
    """The 24-hour window's timer fired: a rep holding the conversation is told once per window."""
    deadline = c.s.window_expires_at
    sess = c.s.session
    if deadline is None or window_rules.is_open(deadline, workflow.now()) or c.s.window_notified_for == deadline:
        return
    c.s.window_notified_for = deadline
    if c.s.state == "with_rep" and sess is not None:
        await notice(
            c,
            "window_closed",
            notices.window_closed_while_rep(deadline, c.policy.templates),
            f"window-closed:{iso_utc(deadline)}:{sess.session_id}",
        )
