"""Texts of the notices the workflow posts into Flex (for reps; never relayed) and the few it sends
to contacts.

Kept in one place so wording is reviewed together and tests can assert on the facts each notice must carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rules.handoff_attributes import iso_utc

NOTICE_PREFIX = "[notice] "


def _known_templates(templates: Mapping[str, str]) -> str:
    return ", ".join(sorted(templates)) if templates else "none are configured for this account"


def window_closed_reply_refused(closed_at: datetime | None, templates: Mapping[str, str]) -> str:
    when = f"at {iso_utc(closed_at)}" if closed_at else "(the contact has not written yet)"
    return (
        f"{NOTICE_PREFIX}Not sent: the 24-hour WhatsApp window closed {when}. Only an approved template can "
        f"reach the contact now. Send one by typing /template <name> [variables…]; "
        f"templates: {_known_templates(templates)}."
    )


def window_closed_while_rep(closed_at: datetime, templates: Mapping[str, str]) -> str:
    return (
        f"{NOTICE_PREFIX}The 24-hour WhatsApp window closed at {iso_utc(closed_at)}. Free-form replies will "
        f"not be sent until the contact writes again; use /template <name> [variables…] "
        f"(templates: {_known_templates(templates)})."
    )


def template_error(detail: str) -> str:
    return f"{NOTICE_PREFIX}Template not sent: {detail}"


def template_sent(name: str) -> str:
    return f"{NOTICE_PREFIX}Template {name!r} sent to the contact."


def delivery_failed(code: int | None, explanation: str) -> str:
    code_text = f" (error {code})" if code is not None else ""
    return f"{NOTICE_PREFIX}A message to the contact was not delivered{code_text}: {explanation}."


def rep_media_refused(filename: str | None, reason: str) -> str:
    name = f" {filename!r}" if filename else ""
    return f"{NOTICE_PREFIX}Attachment{name} not sent to WhatsApp: {reason}."


def contact_media_refused_note(content_type: str, reason: str) -> str:
    return (
        f"{NOTICE_PREFIX}The contact sent a {content_type} attachment that could not be copied here: "
        f"{reason}. "
        f"They were told on WhatsApp."
    )


def contact_media_refused_whatsapp(reason: str) -> str:
    """Sent to the contact on WhatsApp (plain language, no internals)."""
    return f"Sorry, we could not receive your attachment: {reason}. Please send it another way or describe it."


def send_failed(what: str, detail: str) -> str:
    return f"{NOTICE_PREFIX}{what} was not sent: {detail}"


def handoff_note(*, summary: str, sentiment: str, reason: str, language: str) -> str:
    return (
        f"Handoff from the AI agent\nReason: {reason}\nSentiment: {sentiment}\nLanguage: {language}\n"
        f"Summary: {summary or '(none)'}"
    )


def handoff_failed(detail: str) -> str:
    return f"{NOTICE_PREFIX}Handing this conversation to a rep failed: {detail}. It is flagged as stuck."


def queue_stuck(since: datetime, sla_seconds: int) -> str:
    return f"{NOTICE_PREFIX}No rep has accepted this conversation since {iso_utc(since)} (SLA {sla_seconds} s)."


def busy_not_sent_window_closed() -> str:
    return f"{NOTICE_PREFIX}The 'all reps are busy' message was not sent: the WhatsApp window is closed."


def contact_message_not_in_flex(detail: str) -> str:
    """Flex refused one of the contact's messages; the AI still saw it (its words are in the transcript)."""
    return (
        f"{NOTICE_PREFIX}A message from the contact could not be shown here ({detail}); the AI answered it. "
        f"See the conversation's transcript in the admin API."
    )


def window_closing(closes_at: datetime, minutes_left: int, templates: Mapping[str, str]) -> str:
    """For the rep holding the conversation, ahead of the window's close (never sent to the contact)."""
    return (
        f"{NOTICE_PREFIX}The 24-hour WhatsApp window closes at {iso_utc(closes_at)} (in {minutes_left} minutes). "
        f"After that only an approved template reaches the contact: /template <name> [variables…] "
        f"(templates: {_known_templates(templates)})."
    )


def transfer_note(handoff_note: str, since_handoff: str) -> str:
    """For the rep who takes a transferred conversation: the handoff note and what happened since."""
    return f"{handoff_note}\nSince the handoff: {since_handoff}"


def rating_received(score: int, scale: int) -> str:
    return f"{NOTICE_PREFIX}The contact rated this conversation {score}/{scale}."
